// Plain C++ reference of causal softmax attention with optional probability capture. The plain
// path is an online softmax per query row (no T x T buffer); captured heads write their row of P
// first and then read it back for the output.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "dxl/kernels/attention.h"

namespace dxl::kernels {
namespace {

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

void attn_causal_forward_cpu(float* out, float* probs, const float* q, const float* k,
                             const float* v, const int* capture_heads, int n_capture, int B, int H,
                             int Hkv, int T, int Dh) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
    const int group = H / Hkv;
    std::vector<int> slot_of_head(static_cast<std::size_t>(H), -1);
    for (int c = 0; c < n_capture; ++c)
        slot_of_head[static_cast<std::size_t>(capture_heads[c])] = c;
    const std::size_t TT = static_cast<std::size_t>(T) * T;

    for (int b = 0; b < B; ++b) {
        for (int hq = 0; hq < H; ++hq) {
            const int hk = hq / group;
            const float* qh = q + (static_cast<std::size_t>(b) * H + hq) * T * Dh;    // (T, Dh)
            const float* kh = k + (static_cast<std::size_t>(b) * Hkv + hk) * T * Dh;  // (T, Dh)
            const float* vh = v + (static_cast<std::size_t>(b) * Hkv + hk) * T * Dh;  // (T, Dh)
            float* oh = out + (static_cast<std::size_t>(b) * H + hq) * T * Dh;        // (T, Dh)
            const int slot = slot_of_head[static_cast<std::size_t>(hq)];
            float* ph = slot >= 0 ? probs + (static_cast<std::size_t>(b) * n_capture + slot) * TT
                                  : nullptr;  // (T, T)
            for (int i = 0; i < T; ++i) {
                const float* qi = qh + static_cast<std::size_t>(i) * Dh;
                float* oi = oh + static_cast<std::size_t>(i) * Dh;
                std::fill(oi, oi + Dh, 0.0f);
                if (ph) {  // capture path: the row of P is the scratch
                    float* pi = ph + static_cast<std::size_t>(i) * T;
                    float mx = -std::numeric_limits<float>::infinity();
                    for (int j = 0; j <= i; ++j) {
                        pi[j] = dot(qi, kh + static_cast<std::size_t>(j) * Dh, Dh) * scale;
                        mx = std::max(mx, pi[j]);
                    }
                    float sum = 0.0f;
                    for (int j = 0; j <= i; ++j)
                        sum += (pi[j] = std::exp(pi[j] - mx));
                    const float inv = 1.0f / sum;
                    for (int j = 0; j <= i; ++j) {
                        pi[j] *= inv;
                        const float* vj = vh + static_cast<std::size_t>(j) * Dh;
                        for (int d = 0; d < Dh; ++d)
                            oi[d] += pi[j] * vj[d];
                    }
                    std::fill(pi + i + 1, pi + T, 0.0f);
                } else {  // plain path: online softmax, rescale the accumulator when the max grows
                    float mx = -std::numeric_limits<float>::infinity();
                    float sum = 0.0f;
                    for (int j = 0; j <= i; ++j) {
                        const float s = dot(qi, kh + static_cast<std::size_t>(j) * Dh, Dh) * scale;
                        if (s > mx) {
                            const float corr = std::exp(mx - s);
                            sum *= corr;
                            for (int d = 0; d < Dh; ++d)
                                oi[d] *= corr;
                            mx = s;
                        }
                        const float p = std::exp(s - mx);
                        sum += p;
                        const float* vj = vh + static_cast<std::size_t>(j) * Dh;
                        for (int d = 0; d < Dh; ++d)
                            oi[d] += p * vj[d];
                    }
                    const float inv = 1.0f / sum;
                    for (int d = 0; d < Dh; ++d)
                        oi[d] *= inv;
                }
            }
        }
    }
}

}  // namespace dxl::kernels
