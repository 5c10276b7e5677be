// Plain C++ reference of the mLSTM kernels (chunkwise forward, backward, fused recurrent step).
// These are the numbers every other backend is checked against, and the CPU fallback. The
// formulas follow docs/method.md#mlstm-cell (xlstm `chunkwise_simple`,
// `recurrent_step_stabilized_simple`) with the key (not the query) scaled by 1/sqrt(Dh).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "dxl/kernels/mlstm.h"

namespace dxl::kernels {
namespace {

// log(sigmoid(x)) without overflow for large |x|.
inline float log_sigmoid(float x) {
    return std::min(x, 0.0f) - std::log1p(std::exp(-std::fabs(x)));
}

// Dot product with eight independent partial sums, so that the compiler can vectorise it without
// -ffast-math (a single running sum would force strict left-to-right order).
inline float dot(const float* __restrict a, const float* __restrict b, int n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int u = 0; u < 8; ++u)
            s[u] += a[i + u] * b[i + u];
    float r = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; ++i)
        r += a[i] * b[i];
    return r;
}

}  // namespace

void mlstm_chunk_forward_cpu(float* h, float* C_chunks, float* n_chunks, float* m_chunks,
                             const float* q, const float* k, const float* v, const float* igate,
                             const float* fgate, const float* C0, const float* n0, const float* m0,
                             int B, int H, int T, int Dh, int L, float eps) {
    const int n_slots = mlstm_chunk_slots(T, L);
    const std::size_t dd = static_cast<std::size_t>(Dh) * Dh;
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(Dh));
    // Working memory, reused for every head and chunk.
    std::vector<float> work(dd + Dh + 3 * static_cast<std::size_t>(L) + Dh +
                            static_cast<std::size_t>(Dh) * L);
    float* C = work.data();  // (Dh, Dh) running state
    float* n = C + dd;       // (Dh)
    float* b = n + Dh;       // (L) cumulative log forget within the chunk
    float* wj = b + L;       // (L) per-key weights of the current row / state update
    float* sj = wj + L;      // (L) scores q_t . k_j of the current row
    float* acc = sj + L;     // (Dh) numerator accumulator
    float* kT = acc + Dh;    // (Dh, L) the chunk's keys, transposed so scores vectorise over j

    for (int bh = 0; bh < B * H; ++bh) {
        const std::size_t off = static_cast<std::size_t>(bh) * T * Dh;
        const float* qh = q + off;  // (T, Dh)
        const float* kh = k + off;
        const float* vh = v + off;
        const float* ig = igate + static_cast<std::size_t>(bh) * T;  // (T)
        const float* fg = fgate + static_cast<std::size_t>(bh) * T;
        float* hh = h + off;
        if (C0)
            std::copy(C0 + bh * dd, C0 + (bh + 1) * dd, C);
        else
            std::fill(C, C + dd, 0.0f);
        if (n0)
            std::copy(n0 + static_cast<std::size_t>(bh) * Dh,
                      n0 + static_cast<std::size_t>(bh + 1) * Dh, n);
        else
            std::fill(n, n + Dh, 0.0f);
        float m = m0 ? m0[bh] : 0.0f;
        auto store_slot = [&](int slot) {
            const std::size_t s = static_cast<std::size_t>(bh) * n_slots + slot;
            if (C_chunks) std::copy(C, C + dd, C_chunks + s * dd);
            if (n_chunks) std::copy(n, n + Dh, n_chunks + s * Dh);
            if (m_chunks) m_chunks[s] = m;
        };
        store_slot(0);

        for (int c = 0, start = 0; start < T; ++c, start += L) {
            const int Lc = std::min(L, T - start);
            float run = 0.0f;
            for (int t = 0; t < Lc; ++t)
                b[t] = (run += log_sigmoid(fg[start + t]));
            const float g = b[Lc - 1];
            for (int j = 0; j < Lc; ++j)
                for (int a = 0; a < Dh; ++a)
                    kT[static_cast<std::size_t>(a) * L + j] =
                        kh[static_cast<std::size_t>(start + j) * Dh + a];

            // Intra-chunk outputs (parallel over t in a real kernel) plus the inter-chunk term.
            for (int t = 0; t < Lc; ++t) {
                const float* qt = qh + static_cast<std::size_t>(start + t) * Dh;
                float m_intra = -std::numeric_limits<float>::infinity();
                for (int j = 0; j <= t; ++j) {
                    wj[j] = b[t] - b[j] + ig[start + j];  // log D_tj
                    m_intra = std::max(m_intra, wj[j]);
                }
                const float m_comb = std::max(b[t] + m, m_intra);
                const float w_inter = std::exp(b[t] + m - m_comb);
                // inter: w_inter * q_t^T C_prev (C holds k / sqrt(Dh))
                std::fill(acc, acc + Dh, 0.0f);
                for (int a = 0; a < Dh; ++a) {
                    const float qa = qt[a] * w_inter;
                    const float* Ca = C + static_cast<std::size_t>(a) * Dh;
                    for (int col = 0; col < Dh; ++col)
                        acc[col] += qa * Ca[col];
                }
                float den = w_inter * dot(qt, n, Dh);
                std::fill(sj, sj + t + 1, 0.0f);
                for (int a = 0; a < Dh; ++a) {
                    const float qa = qt[a];
                    const float* kTa = kT + static_cast<std::size_t>(a) * L;
                    for (int j = 0; j <= t; ++j)
                        sj[j] += qa * kTa[j];
                }
                for (int j = 0; j <= t; ++j) {
                    const float e = std::exp(wj[j] - m_comb) * sj[j] * inv_sqrt_d;
                    den += e;
                    const float* vj = vh + static_cast<std::size_t>(start + j) * Dh;
                    for (int col = 0; col < Dh; ++col)
                        acc[col] += e * vj[col];
                }
                const float inv = 1.0f / (std::max(std::fabs(den), std::exp(-m_comb)) + eps);
                float* ht = hh + static_cast<std::size_t>(start + t) * Dh;
                for (int col = 0; col < Dh; ++col)
                    ht[col] = acc[col] * inv;
            }

            // Inter-chunk state recurrence.
            float a_max = -std::numeric_limits<float>::infinity();
            for (int j = 0; j < Lc; ++j) {
                sj[j] = g - b[j] + ig[start + j];  // a_j
                a_max = std::max(a_max, sj[j]);
            }
            const float m_new = std::max(g + m, a_max);
            const float decay = std::exp(g + m - m_new);
            for (std::size_t i = 0; i < dd; ++i)
                C[i] *= decay;
            for (int a = 0; a < Dh; ++a)
                n[a] *= decay;
            for (int j = 0; j < Lc; ++j) {
                const float w = std::exp(sj[j] - m_new) * inv_sqrt_d;
                const float* kj = kh + static_cast<std::size_t>(start + j) * Dh;
                const float* vj = vh + static_cast<std::size_t>(start + j) * Dh;
                for (int a = 0; a < Dh; ++a) {
                    const float kw = kj[a] * w;
                    n[a] += kw;
                    float* Ca = C + static_cast<std::size_t>(a) * Dh;
                    for (int col = 0; col < Dh; ++col)
                        Ca[col] += kw * vj[col];
                }
            }
            m = m_new;
            store_slot(c + 1);
        }
    }
}

void mlstm_backward_cpu(float* dq, float* dk, float* dv, float* dig, float* dfg, const float* dh,
                        const float* q, const float* k, const float* v, const float* igate,
                        const float* fgate, int B, int H, int T, int Dh, float eps) {
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(Dh));
    std::vector<float> work(4 * static_cast<std::size_t>(T) + Dh);
    float* F = work.data();  // (T) cumulative log forget
    float* dF = F + T;       // (T) gradient wrt F
    float* Dp = dF + T;      // (T) row of stabilised decay D'_tj
    float* E = Dp + T;       // (T) row of E_tj = S_tj D'_tj
    float* ht = E + T;       // (Dh) recomputed output row

    for (int bh = 0; bh < B * H; ++bh) {
        const std::size_t off = static_cast<std::size_t>(bh) * T * Dh;
        const float* qh = q + off;  // (T, Dh)
        const float* kh = k + off;
        const float* vh = v + off;
        const float* gh = dh + off;
        const float* ig = igate + static_cast<std::size_t>(bh) * T;
        const float* fg = fgate + static_cast<std::size_t>(bh) * T;
        float* dqh = dq + off;
        float* dkh = dk + off;
        float* dvh = dv + off;
        float* digh = dig + static_cast<std::size_t>(bh) * T;
        float* dfgh = dfg + static_cast<std::size_t>(bh) * T;
        std::fill(dqh, dqh + static_cast<std::size_t>(T) * Dh, 0.0f);
        std::fill(dkh, dkh + static_cast<std::size_t>(T) * Dh, 0.0f);
        std::fill(dvh, dvh + static_cast<std::size_t>(T) * Dh, 0.0f);
        std::fill(digh, digh + T, 0.0f);
        std::fill(dF, dF + T, 0.0f);
        float run = 0.0f;
        for (int t = 0; t < T; ++t)
            F[t] = (run += log_sigmoid(fg[t]));

        for (int t = 0; t < T; ++t) {
            const float* qt = qh + static_cast<std::size_t>(t) * Dh;
            const float* gt = gh + static_cast<std::size_t>(t) * Dh;
            float m_t = -std::numeric_limits<float>::infinity();
            for (int j = 0; j <= t; ++j) {
                Dp[j] = F[t] - F[j] + ig[j];  // log D_tj
                m_t = std::max(m_t, Dp[j]);
            }
            float r = 0.0f;
            std::fill(ht, ht + Dh, 0.0f);
            for (int j = 0; j <= t; ++j) {
                Dp[j] = std::exp(Dp[j] - m_t);
                const float* kj = kh + static_cast<std::size_t>(j) * Dh;
                E[j] = dot(qt, kj, Dh) * inv_sqrt_d * Dp[j];
                r += E[j];
                const float* vj = vh + static_cast<std::size_t>(j) * Dh;
                for (int col = 0; col < Dh; ++col)
                    ht[col] += E[j] * vj[col];
            }
            const float floor_t = std::exp(-m_t);
            const float N = std::max(std::fabs(r), floor_t) + eps;
            const float invN = 1.0f / N;
            float gh_dot = 0.0f;
            for (int col = 0; col < Dh; ++col)
                gh_dot += gt[col] * ht[col];
            const float dN = -gh_dot * invN * invN;  // d loss / d N (ht still unnormalised)
            const float dr = std::fabs(r) > floor_t ? (r > 0 ? dN : -dN) : 0.0f;
            float* dqt = dqh + static_cast<std::size_t>(t) * Dh;
            for (int j = 0; j <= t; ++j) {
                const float* kj = kh + static_cast<std::size_t>(j) * Dh;
                const float* vj = vh + static_cast<std::size_t>(j) * Dh;
                float* dkj = dkh + static_cast<std::size_t>(j) * Dh;
                float* dvj = dvh + static_cast<std::size_t>(j) * Dh;
                const float dE = dot(gt, vj, Dh) * invN + dr;
                const float dS = dE * Dp[j] * inv_sqrt_d;  // includes the key scale
                const float dlogD = dE * E[j];
                const float a = E[j] * invN;
                for (int col = 0; col < Dh; ++col) {
                    dvj[col] += a * gt[col];
                    dqt[col] += dS * kj[col];
                    dkj[col] += dS * qt[col];
                }
                digh[j] += dlogD;
                dF[t] += dlogD;
                dF[j] -= dlogD;
            }
        }
        // F_t = sum_{s<=t} logsigmoid(f_s); d logsigmoid(x)/dx = sigmoid(-x).
        float suffix = 0.0f;
        for (int s = T - 1; s >= 0; --s) {
            suffix += dF[s];
            dfgh[s] = suffix / (1.0f + std::exp(fg[s]));
        }
    }
}

void mlstm_step_cpu(float* C, float* n, float* m, float* h, const float* q, const float* k,
                    const float* v, const float* igate, const float* fgate, int B, int H, int Dh,
                    float eps) {
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(Dh));
    const std::size_t dd = static_cast<std::size_t>(Dh) * Dh;
    for (int bh = 0; bh < B * H; ++bh) {
        float* __restrict Ch = C + bh * dd;  // (Dh, Dh)
        float* __restrict nh = n + static_cast<std::size_t>(bh) * Dh;
        float* __restrict hh = h + static_cast<std::size_t>(bh) * Dh;
        const float* __restrict qh = q + static_cast<std::size_t>(bh) * Dh;
        const float* __restrict kh = k + static_cast<std::size_t>(bh) * Dh;
        const float* __restrict vh = v + static_cast<std::size_t>(bh) * Dh;
        const float log_f = log_sigmoid(fgate[bh]);
        const float m_new = std::max(log_f + m[bh], igate[bh]);
        const float f_act = std::exp(log_f + m[bh] - m_new);
        const float i_act = std::exp(igate[bh] - m_new) * inv_sqrt_d;
        m[bh] = m_new;
        for (int col = 0; col < Dh; ++col)
            hh[col] = 0.0f;
        float qn = 0.0f;
        // One sweep over C: row a is updated and immediately folded into q^T C.
        for (int a = 0; a < Dh; ++a) {
            const float ka = i_act * kh[a];
            const float qa = qh[a];
            nh[a] = f_act * nh[a] + ka;
            qn += qa * nh[a];
            float* __restrict Ca = Ch + static_cast<std::size_t>(a) * Dh;
            for (int col = 0; col < Dh; ++col) {
                const float c = f_act * Ca[col] + ka * vh[col];
                Ca[col] = c;
                hh[col] += qa * c;
            }
        }
        const float inv = 1.0f / (std::max(std::fabs(qn), std::exp(-m_new)) + eps);
        for (int col = 0; col < Dh; ++col)
            hh[col] *= inv;
    }
}

}  // namespace dxl::kernels
