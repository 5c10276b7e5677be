// CUDA causal softmax attention with optional fp16 capture of P for chosen heads.
//
// One warp per query row (4 rows per block); lanes split the head dimension. Pass 1 is an online
// softmax over keys j <= i (no T x T buffer); a captured head then re-scores its row in pass 2 and
// writes P = exp(s - m) / l as fp16, zeros above the diagonal. Dh <= 256 (8 values per lane).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_check.cuh"
#include "dxl/kernels/attention.h"

namespace dxl::kernels {
namespace {

constexpr int kMaxHeads = 256;
constexpr int kMaxPerLane = 8;  // Dh <= 256
constexpr int kRowsPerBlock = 4;

struct CaptureSlots {
    int slot[kMaxHeads];  // capture slot of each query head, -1 when not captured
};

__global__ void attn_kernel(float* out, __half* probs, const float* q, const float* k,
                            const float* v, CaptureSlots cap, int n_capture, int H, int Hkv, int T,
                            int Dh, float scale) {
    const int lane = threadIdx.x % 32;
    const int i = blockIdx.x * kRowsPerBlock + threadIdx.x / 32;
    const int hq = blockIdx.y, b = blockIdx.z;
    if (i >= T) return;
    const int hk = hq / (H / Hkv);
    const std::size_t qrow = ((static_cast<std::size_t>(b) * H + hq) * T + i) * Dh;
    const std::size_t kv0 = (static_cast<std::size_t>(b) * Hkv + hk) * T * Dh;
    float qv[kMaxPerLane], acc[kMaxPerLane];
#pragma unroll
    for (int r = 0; r < kMaxPerLane; ++r) {
        const int d = lane + 32 * r;
        qv[r] = d < Dh ? q[qrow + d] * scale : 0.0f;
        acc[r] = 0.0f;
    }
    float mx = -INFINITY, sum = 0.0f;
    for (int j = 0; j <= i; ++j) {
        const float* kj = k + kv0 + static_cast<std::size_t>(j) * Dh;
        float s = 0.0f;
#pragma unroll
        for (int r = 0; r < kMaxPerLane; ++r) {
            const int d = lane + 32 * r;
            if (d < Dh) s += qv[r] * kj[d];
        }
        for (int o = 16; o > 0; o >>= 1)
            s += __shfl_xor_sync(0xffffffffu, s, o);
        const float m_new = fmaxf(mx, s);
        const float corr = expf(mx - m_new);  // 0 on the first key (mx = -inf)
        const float p = expf(s - m_new);
        sum = sum * corr + p;
        const float* vj = v + kv0 + static_cast<std::size_t>(j) * Dh;
#pragma unroll
        for (int r = 0; r < kMaxPerLane; ++r) {
            const int d = lane + 32 * r;
            acc[r] = acc[r] * corr + (d < Dh ? p * vj[d] : 0.0f);
        }
        mx = m_new;
    }
    const float inv = 1.0f / sum;
#pragma unroll
    for (int r = 0; r < kMaxPerLane; ++r) {
        const int d = lane + 32 * r;
        if (d < Dh) out[qrow + d] = acc[r] * inv;
    }
    const int slot = cap.slot[hq];
    if (slot < 0) return;
    __half* prow = probs + ((static_cast<std::size_t>(b) * n_capture + slot) * T + i) * T;
    for (int j = 0; j <= i; ++j) {  // pass 2: re-score the row, lanes cooperate per key
        const float* kj = k + kv0 + static_cast<std::size_t>(j) * Dh;
        float s = 0.0f;
#pragma unroll
        for (int r = 0; r < kMaxPerLane; ++r) {
            const int d = lane + 32 * r;
            if (d < Dh) s += qv[r] * kj[d];
        }
        for (int o = 16; o > 0; o >>= 1)
            s += __shfl_xor_sync(0xffffffffu, s, o);
        if (lane == 0) prow[j] = __float2half(expf(s - mx) * inv);
    }
    for (int j = i + 1 + lane; j < T; j += 32)
        prow[j] = __float2half(0.0f);
}

}  // namespace

void attn_causal_forward_cuda(float* out, std::uint16_t* probs_fp16, const float* q, const float* k,
                              const float* v, const int* capture_heads, int n_capture, int B, int H,
                              int Hkv, int T, int Dh, cudaStream_t stream) {
    DXL_CHECK(B > 0 && T > 0 && Dh > 0 && Dh <= 32 * kMaxPerLane, ShapeError,
              "attn_causal_forward_cuda: expected B, T > 0 and 0 < Dh <= 256, but got B=", B,
              " T=", T, " Dh=", Dh);
    DXL_CHECK(H > 0 && H <= kMaxHeads && Hkv > 0 && H % Hkv == 0, ShapeError,
              "attn_causal_forward_cuda: expected 0 < H <= 256 and H % Hkv == 0, but got H=", H,
              " Hkv=", Hkv);
    DXL_CHECK(n_capture == 0 || probs_fp16, ValueError, "attn_causal_forward_cuda: ", n_capture,
              " captured heads but probs is null");
    CaptureSlots cap;
    for (int h = 0; h < kMaxHeads; ++h)
        cap.slot[h] = -1;
    for (int c = 0; c < n_capture; ++c) {
        DXL_CHECK(capture_heads[c] >= 0 && capture_heads[c] < H, ValueError,
                  "attn_causal_forward_cuda: capture head ", capture_heads[c], " outside [0, ", H,
                  ")");
        cap.slot[capture_heads[c]] = c;
    }
    const dim3 grid(static_cast<unsigned>((T + kRowsPerBlock - 1) / kRowsPerBlock),
                    static_cast<unsigned>(H), static_cast<unsigned>(B));
    attn_kernel<<<grid, 32 * kRowsPerBlock, 0, stream>>>(out, reinterpret_cast<__half*>(probs_fp16),
                                                         q, k, v, cap, n_capture, H, Hkv, T, Dh,
                                                         rsqrtf(static_cast<float>(Dh)));
    DXL_CUDA_CHECK_LAUNCH();
}

}  // namespace dxl::kernels
