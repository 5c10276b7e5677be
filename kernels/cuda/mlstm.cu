// CUDA mLSTM kernels: chunkwise forward (fp32 or bf16 q/k/v, fp32 gates, state and output) and the
// fused recurrent step. Validated against kernels/ref/mlstm_ref.cpp by tests/kernels (*_CUDA).
//
// Chunkwise forward = three launches on one stream (docs/method.md#chunkwise-form):
//   1. chunk_summary: per (b, h, chunk) the weighted chunk outer product
//        kv_c = sum_j exp(a_j - mloc_c) (k_j / sqrt(Dh)) v_j^T,  a_j = g_c - b_j + i_j,
//      written into state slot c + 1, plus (g_c, mloc_c);
//   2. chunk_scan: per (b, h) and state element, the sequential inter-chunk recurrence
//        m_c = max(g_c + m_{c-1}, mloc_c);  C_c = e^{g_c + m_{c-1} - m_c} C_{c-1} + e^{mloc_c -
//        m_c} kv_c;
//   3. chunk_output: per (b, h, chunk) the intra-chunk parallel part plus q^T C_{c-1}.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cuda_check.cuh"
#include "dxl/kernels/mlstm.h"

namespace dxl::kernels {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float load(const float* p, std::size_t i) {
    return p[i];
}
__device__ __forceinline__ float load(const __nv_bfloat16* p, std::size_t i) {
    return __bfloat162float(p[i]);
}

__device__ __forceinline__ float log_sigmoid(float x) {
    return fminf(x, 0.0f) - log1pf(expf(-fabsf(x)));
}

// Grid (NC, B*H). Shared: b (L), w (L). Writes kv_c to C slot c+1, ksum to n slot c+1, (g, mloc).
template <typename Tin>
__global__ void chunk_summary_kernel(float* C_chunks, float* n_chunks, float* gm, const Tin* k,
                                     const Tin* v, const float* igate, const float* fgate, int T,
                                     int Dh, int L, int n_slots) {
    extern __shared__ float smem[];
    float* w = smem;  // (L) weights exp(a_j - mloc) / sqrt(Dh)
    const int c = blockIdx.x, bh = blockIdx.y;
    const int start = c * L, Lc = min(L, T - start);
    const std::size_t row0 = static_cast<std::size_t>(bh) * T + start;  // first (b,h,t) row
    if (threadIdx.x == 0) {
        float run = 0.0f;
        for (int t = 0; t < Lc; ++t)
            w[t] = (run += log_sigmoid(fgate[row0 + t]));  // b_t
        const float g = run;
        float mloc = -INFINITY;
        for (int t = 0; t < Lc; ++t) {
            w[t] = g - w[t] + igate[row0 + t];  // a_t
            mloc = fmaxf(mloc, w[t]);
        }
        const float inv_sqrt_d = rsqrtf(static_cast<float>(Dh));
        for (int t = 0; t < Lc; ++t)
            w[t] = expf(w[t] - mloc) * inv_sqrt_d;
        gm[(static_cast<std::size_t>(bh) * (n_slots - 1) + c) * 2 + 0] = g;
        gm[(static_cast<std::size_t>(bh) * (n_slots - 1) + c) * 2 + 1] = mloc;
    }
    __syncthreads();
    const std::size_t slot = static_cast<std::size_t>(bh) * n_slots + c + 1;
    const int dd = Dh * Dh;
    for (int e = threadIdx.x; e < dd + Dh; e += blockDim.x) {
        float acc = 0.0f;
        if (e < dd) {
            const int a = e / Dh, col = e % Dh;
            for (int j = 0; j < Lc; ++j)
                acc += w[j] * load(k, (row0 + j) * Dh + a) * load(v, (row0 + j) * Dh + col);
            C_chunks[slot * dd + e] = acc;
        } else {
            const int a = e - dd;
            for (int j = 0; j < Lc; ++j)
                acc += w[j] * load(k, (row0 + j) * Dh + a);
            n_chunks[slot * Dh + a] = acc;
        }
    }
}

// Grid (ceil((Dh*Dh + Dh) / kThreads), B*H): each thread owns one C or n element and runs the
// recurrence over all chunks; slot c+1 holds kv_c on entry and C_c on exit.
__global__ void chunk_scan_kernel(float* C_chunks, float* n_chunks, float* m_chunks,
                                  const float* gm, const float* C0, const float* n0,
                                  const float* m0, int Dh, int n_slots) {
    const int bh = blockIdx.y;
    const int dd = Dh * Dh;
    const int e_raw = blockIdx.x * blockDim.x + threadIdx.x;
    const bool active = e_raw < dd + Dh;
    const int e = active ? e_raw : 0;  // inactive threads only follow m
    const bool is_C = e < dd;
    const bool writes_m = blockIdx.x == 0 && threadIdx.x == 0;
    float m = m0 ? m0[bh] : 0.0f;
    const std::size_t base = static_cast<std::size_t>(bh) * n_slots;
    float* state = is_C ? C_chunks + base * dd + e : n_chunks + base * Dh + (e - dd);
    const std::size_t stride = is_C ? dd : Dh;
    float val = 0.0f;
    if (active) {
        if (is_C && C0) val = C0[static_cast<std::size_t>(bh) * dd + e];
        if (!is_C && n0) val = n0[static_cast<std::size_t>(bh) * Dh + (e - dd)];
        state[0] = val;
    }
    if (writes_m) m_chunks[base] = m;
    for (int c = 0; c + 1 < n_slots; ++c) {
        const float g = gm[(static_cast<std::size_t>(bh) * (n_slots - 1) + c) * 2 + 0];
        const float mloc = gm[(static_cast<std::size_t>(bh) * (n_slots - 1) + c) * 2 + 1];
        const float m_new = fmaxf(g + m, mloc);
        if (active) {
            val = expf(g + m - m_new) * val + expf(mloc - m_new) * state[(c + 1) * stride];
            state[(c + 1) * stride] = val;
        }
        m = m_new;
        if (writes_m) m_chunks[base + c + 1] = m;
    }
}

// Grid (NC, B*H). Shared: b, pm (prefix max of i_j - b_j), scale, winter (L each), E (L x L).
template <typename Tin>
__global__ void chunk_output_kernel(float* h, const float* C_chunks, const float* n_chunks,
                                    const float* m_chunks, const Tin* q, const Tin* k, const Tin* v,
                                    const float* igate, const float* fgate, int T, int Dh, int L,
                                    int n_slots, float eps) {
    extern __shared__ float smem[];
    float* b = smem;            // (L) cumulative log forget
    float* pm = b + L;          // (L) prefix max of (i_j - b_j)
    float* winter = pm + L;     // (L) weight of the inter-chunk term exp(b_t + m_prev - m_comb)
    float* scale = winter + L;  // (L) 1 / (normaliser + eps)
    float* E = scale + L;       // (L, L) stabilised S_tj D_tj
    const int c = blockIdx.x, bh = blockIdx.y;
    const int start = c * L, Lc = min(L, T - start);
    const std::size_t row0 = static_cast<std::size_t>(bh) * T + start;
    const std::size_t slot = static_cast<std::size_t>(bh) * n_slots + c;  // state before chunk c
    const float* Cp = C_chunks + slot * Dh * Dh;                          // (Dh, Dh)
    const float* np = n_chunks + slot * Dh;                               // (Dh)
    const float m_prev = m_chunks[slot];
    const float inv_sqrt_d = rsqrtf(static_cast<float>(Dh));
    if (threadIdx.x == 0) {
        float run = 0.0f, mx = -INFINITY;
        for (int t = 0; t < Lc; ++t) {
            b[t] = (run += log_sigmoid(fgate[row0 + t]));
            mx = fmaxf(mx, igate[row0 + t] - b[t]);
            pm[t] = mx;
        }
    }
    __syncthreads();
    // m_comb_t = b_t + max(m_prev, pm_t)
    for (int e = threadIdx.x; e < Lc * Lc; e += blockDim.x) {
        const int t = e / Lc, j = e % Lc;
        float val = 0.0f;
        if (j <= t) {
            float s = 0.0f;
            for (int a = 0; a < Dh; ++a)
                s += load(q, (row0 + t) * Dh + a) * load(k, (row0 + j) * Dh + a);
            const float m_comb = b[t] + fmaxf(m_prev, pm[t]);
            val = s * inv_sqrt_d * expf(b[t] - b[j] + igate[row0 + j] - m_comb);
        }
        E[t * L + j] = val;
    }
    __syncthreads();
    // One warp per row: normaliser = max(|w_inter q.n + sum_j E_tj|, exp(-m_comb)) + eps.
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n_warps = blockDim.x / 32;
    for (int t = warp; t < Lc; t += n_warps) {
        const float m_comb = b[t] + fmaxf(m_prev, pm[t]);
        const float wi = expf(b[t] + m_prev - m_comb);
        float part = 0.0f;
        for (int a = lane; a < Dh; a += 32)
            part += wi * load(q, (row0 + t) * Dh + a) * np[a];
        for (int j = lane; j <= t; j += 32)
            part += E[t * L + j];
        for (int o = 16; o > 0; o >>= 1)
            part += __shfl_xor_sync(0xffffffffu, part, o);
        if (lane == 0) {
            winter[t] = wi;
            scale[t] = 1.0f / (fmaxf(fabsf(part), expf(-m_comb)) + eps);
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < Lc * Dh; e += blockDim.x) {
        const int t = e / Dh, col = e % Dh;
        float inter = 0.0f;
        for (int a = 0; a < Dh; ++a)
            inter += load(q, (row0 + t) * Dh + a) * Cp[a * Dh + col];
        float intra = 0.0f;
        for (int j = 0; j <= t; ++j)
            intra += E[t * L + j] * load(v, (row0 + j) * Dh + col);
        h[(row0 + t) * Dh + col] = (winter[t] * inter + intra) * scale[t];
    }
}

template <typename Tin>
void chunk_forward(float* h, float* C_chunks, float* n_chunks, float* m_chunks, const Tin* q,
                   const Tin* k, const Tin* v, const float* igate, const float* fgate,
                   const float* C0, const float* n0, const float* m0, int B, int H, int T, int Dh,
                   int L, float eps, cudaStream_t stream) {
    DXL_CHECK(B > 0 && H > 0 && T > 0 && Dh > 0 && L > 0, ShapeError,
              "mlstm_chunk_forward_cuda: expected positive B, H, T, Dh, L, but got B=", B, " H=", H,
              " T=", T, " Dh=", Dh, " L=", L);
    const int n_slots = mlstm_chunk_slots(T, L);
    const int NC = n_slots - 1;
    const std::size_t BH = static_cast<std::size_t>(B) * H;
    const std::size_t dd = static_cast<std::size_t>(Dh) * Dh;
    // Scratch: (g, mloc) per chunk always; the state slots only when the caller passes none.
    float* gm = nullptr;
    float* own_C = nullptr;
    float* own_n = nullptr;
    float* own_m = nullptr;
    DXL_CUDA_CHECK(
        cudaMallocAsync(reinterpret_cast<void**>(&gm), BH * NC * 2 * sizeof(float), stream));
    if (!C_chunks || !n_chunks || !m_chunks) {
        DXL_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&own_C),
                                       BH * n_slots * dd * sizeof(float), stream));
        DXL_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&own_n),
                                       BH * n_slots * Dh * sizeof(float), stream));
        DXL_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&own_m),
                                       BH * n_slots * sizeof(float), stream));
    }
    float* Cs = C_chunks && n_chunks && m_chunks ? C_chunks : own_C;
    float* ns = C_chunks && n_chunks && m_chunks ? n_chunks : own_n;
    float* ms = C_chunks && n_chunks && m_chunks ? m_chunks : own_m;

    const dim3 grid_chunks(static_cast<unsigned>(NC), static_cast<unsigned>(BH));
    chunk_summary_kernel<Tin><<<grid_chunks, kThreads, L * sizeof(float), stream>>>(
        Cs, ns, gm, k, v, igate, fgate, T, Dh, L, n_slots);
    DXL_CUDA_CHECK_LAUNCH();
    const int n_elems = static_cast<int>(dd) + Dh;
    const dim3 grid_scan(static_cast<unsigned>((n_elems + kThreads - 1) / kThreads),
                         static_cast<unsigned>(BH));
    chunk_scan_kernel<<<grid_scan, kThreads, 0, stream>>>(Cs, ns, ms, gm, C0, n0, m0, Dh, n_slots);
    DXL_CUDA_CHECK_LAUNCH();
    const std::size_t smem =
        (static_cast<std::size_t>(L) * L + 4 * static_cast<std::size_t>(L)) * sizeof(float);
    if (smem > 48 * 1024)
        DXL_CUDA_CHECK(cudaFuncSetAttribute(chunk_output_kernel<Tin>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(smem)));
    chunk_output_kernel<Tin><<<grid_chunks, kThreads, smem, stream>>>(
        h, Cs, ns, ms, q, k, v, igate, fgate, T, Dh, L, n_slots, eps);
    DXL_CUDA_CHECK_LAUNCH();
    DXL_CUDA_CHECK(cudaFreeAsync(gm, stream));
    if (own_C) {
        DXL_CUDA_CHECK(cudaFreeAsync(own_C, stream));
        DXL_CUDA_CHECK(cudaFreeAsync(own_n, stream));
        DXL_CUDA_CHECK(cudaFreeAsync(own_m, stream));
    }
}

// One block per (b, head) of Dh32 x R threads (Dh32 = Dh rounded up to a warp): thread (col, r)
// owns column col of C for the rows a = r, r + R, ... and accumulates their part of (q^T C)_col;
// the R partial sums meet in shared memory. Loads of C are issued kBatch rows at a time so that
// the row loop is not one dependent memory round trip per row (the loop stores into C). q and
// k * i' / sqrt(Dh) live in shared memory; the first Dh32 threads update n and reduce q.n.
constexpr int kStepBatch = 4;
__global__ void step_kernel(float* C, float* n, float* m, float* h, const float* q, const float* k,
                            const float* v, const float* igate, const float* fgate, int Dh,
                            int Dh32, int R, float eps) {
    extern __shared__ float smem[];
    float* qs = smem;        // (Dh)
    float* ks = qs + Dh;     // (Dh) k * i' / sqrt(Dh)
    float* red = ks + Dh;    // (32) warp partials of q.n, then red[0] = 1 / normaliser
    float* part = red + 32;  // (R, Dh32) partial numerators
    const int bh = blockIdx.x;
    const int col = threadIdx.x % Dh32, r = threadIdx.x / Dh32;
    const std::size_t off = static_cast<std::size_t>(bh) * Dh;
    const float m_old = m[bh];
    const float log_f = log_sigmoid(fgate[bh]);
    const float m_new = fmaxf(log_f + m_old, igate[bh]);
    const float f_act = expf(log_f + m_old - m_new);
    const float i_act = expf(igate[bh] - m_new) * rsqrtf(static_cast<float>(Dh));
    for (int e = threadIdx.x; e < Dh; e += blockDim.x) {
        qs[e] = q[off + e];
        ks[e] = i_act * k[off + e];
    }
    __syncthreads();
    if (r == 0) {  // warps 0 .. Dh32/32 - 1: n and q.n
        float qn = 0.0f;
        if (col < Dh) {
            const float nn = f_act * n[off + col] + ks[col];
            n[off + col] = nn;
            qn = qs[col] * nn;
        }
        for (int o = 16; o > 0; o >>= 1)
            qn += __shfl_xor_sync(0xffffffffu, qn, o);
        if (col % 32 == 0) red[col / 32] = qn;
    }
    float acc = 0.0f;
    if (col < Dh) {
        float* Ch = C + static_cast<std::size_t>(bh) * Dh * Dh + col;  // column col
        const float vc = v[off + col];
        for (int a0 = r; a0 < Dh; a0 += R * kStepBatch) {
            float old[kStepBatch];
#pragma unroll
            for (int b = 0; b < kStepBatch; ++b) {
                const int a = a0 + b * R;
                old[b] = a < Dh ? Ch[static_cast<std::size_t>(a) * Dh] : 0.0f;
            }
#pragma unroll
            for (int b = 0; b < kStepBatch; ++b) {
                const int a = a0 + b * R;
                if (a < Dh) {
                    const float cval = f_act * old[b] + ks[a] * vc;
                    Ch[static_cast<std::size_t>(a) * Dh] = cval;
                    acc += qs[a] * cval;
                }
            }
        }
    }
    part[r * Dh32 + col] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int w = 0; w < Dh32 / 32; ++w)
            total += red[w];
        red[0] = 1.0f / (fmaxf(fabsf(total), expf(-m_new)) + eps);
        m[bh] = m_new;
    }
    __syncthreads();
    if (r == 0 && col < Dh) {
        float num = 0.0f;
        for (int j = 0; j < R; ++j)
            num += part[j * Dh32 + col];
        h[off + col] = num * red[0];
    }
}

}  // namespace

void mlstm_chunk_forward_cuda(float* h, float* C_chunks, float* n_chunks, float* m_chunks,
                              const float* q, const float* k, const float* v, const float* igate,
                              const float* fgate, const float* C0, const float* n0, const float* m0,
                              int B, int H, int T, int Dh, int L, float eps, cudaStream_t stream) {
    chunk_forward<float>(h, C_chunks, n_chunks, m_chunks, q, k, v, igate, fgate, C0, n0, m0, B, H,
                         T, Dh, L, eps, stream);
}

void mlstm_chunk_forward_bf16_cuda(float* h, float* C_chunks, float* n_chunks, float* m_chunks,
                                   const std::uint16_t* q, const std::uint16_t* k,
                                   const std::uint16_t* v, const float* igate, const float* fgate,
                                   const float* C0, const float* n0, const float* m0, int B, int H,
                                   int T, int Dh, int L, float eps, cudaStream_t stream) {
    chunk_forward<__nv_bfloat16>(
        h, C_chunks, n_chunks, m_chunks, reinterpret_cast<const __nv_bfloat16*>(q),
        reinterpret_cast<const __nv_bfloat16*>(k), reinterpret_cast<const __nv_bfloat16*>(v), igate,
        fgate, C0, n0, m0, B, H, T, Dh, L, eps, stream);
}

void mlstm_step_cuda(float* C, float* n, float* m, float* h, const float* q, const float* k,
                     const float* v, const float* igate, const float* fgate, int B, int H, int Dh,
                     float eps, cudaStream_t stream) {
    DXL_CHECK(B > 0 && H > 0 && Dh > 0 && Dh <= 1024, ShapeError,
              "mlstm_step_cuda: expected B, H > 0 and 0 < Dh <= 1024, but got B=", B, " H=", H,
              " Dh=", Dh);
    const int Dh32 = (Dh + 31) / 32 * 32;
    const int R = std::max(1, std::min(16, 1024 / Dh32));  // row groups: up to 1024 threads
    const std::size_t smem =
        (2 * static_cast<std::size_t>(Dh) + 32 + static_cast<std::size_t>(R) * Dh32) *
        sizeof(float);
    step_kernel<<<B * H, Dh32 * R, smem, stream>>>(C, n, m, h, q, k, v, igate, fgate, Dh, Dh32, R,
                                                   eps);
    DXL_CUDA_CHECK_LAUNCH();
}

}  // namespace dxl::kernels
