// CUDA teacher x student alignment metrics (JS, Frobenius / n_valid, Pearson) over the valid causal
// triangle; same definitions as kernels/ref/align_ref.cpp. Two launches: per-head moments (mean and
// centred sum of squares), then one block per head pair with double-precision block reductions.
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_check.cuh"
#include "dxl/kernels/align.h"

namespace dxl::kernels {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ bool entry_valid(const std::uint8_t* valid, int i, int j) {
    return j <= i && (!valid || (valid[i] && valid[j]));
}

// Sum over the block into red[0]; red has kThreads doubles. All threads must call it.
__device__ double block_sum(double x, double* red) {
    red[threadIdx.x] = x;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
        if (static_cast<int>(threadIdx.x) < s) red[threadIdx.x] += red[threadIdx.x + s];
        __syncthreads();
    }
    const double total = red[0];
    __syncthreads();
    return total;
}

// Grid (Ht + Hs): moments[h] = {mean, centred sum of squares, n_valid_rows}.
__global__ void moments_kernel(double* moments, const float* P, const float* A,
                               const std::uint8_t* valid, int Ht, int T) {
    __shared__ double red[kThreads];
    const int h = blockIdx.x;
    const std::size_t TT = static_cast<std::size_t>(T) * T;
    const float* X = h < Ht ? P + h * TT : A + (h - Ht) * TT;
    double s = 0.0, cnt = 0.0, rows = 0.0;
    for (std::size_t e = threadIdx.x; e < TT; e += blockDim.x) {
        const int i = static_cast<int>(e / T), j = static_cast<int>(e % T);
        if (!entry_valid(valid, i, j)) continue;
        s += X[e];
        cnt += 1.0;
    }
    for (int i = threadIdx.x; i < T; i += blockDim.x)
        rows += (!valid || valid[i]) ? 1.0 : 0.0;
    const double total = block_sum(s, red);
    const double n = block_sum(cnt, red);
    const double n_rows = block_sum(rows, red);
    const double mean = n > 0 ? total / n : 0.0;
    double ss = 0.0;
    for (std::size_t e = threadIdx.x; e < TT; e += blockDim.x) {
        const int i = static_cast<int>(e / T), j = static_cast<int>(e % T);
        if (!entry_valid(valid, i, j)) continue;
        const double d = X[e] - mean;
        ss += d * d;
    }
    const double ss_total = block_sum(ss, red);
    if (threadIdx.x == 0) {
        moments[3 * h + 0] = mean;
        moments[3 * h + 1] = ss_total;
        moments[3 * h + 2] = n_rows;
    }
}

// Grid (Ht * Hs): one block per (teacher head, student head).
__global__ void pairs_kernel(float* js, float* frob, float* pearson, const double* moments,
                             const float* P, const float* A, const std::uint8_t* valid, int Ht,
                             int Hs, int T) {
    __shared__ double red[kThreads];
    const int t = blockIdx.x / Hs, s = blockIdx.x % Hs;
    const std::size_t TT = static_cast<std::size_t>(T) * T;
    const float* Pt = P + t * TT;
    const float* As = A + s * TT;
    const double mp = moments[3 * t], ma = moments[3 * (Ht + s)];
    double js_sum = 0.0, sq = 0.0, cov = 0.0;
    for (std::size_t e = threadIdx.x; e < TT; e += blockDim.x) {
        const int i = static_cast<int>(e / T), j = static_cast<int>(e % T);
        if (!entry_valid(valid, i, j)) continue;
        const double p = Pt[e], a = As[e];
        const double mid = 0.5 * (p + a);
        if (p > 0.0) js_sum += 0.5 * p * log(p / mid);
        if (a > 0.0) js_sum += 0.5 * a * log(a / mid);
        sq += (a - p) * (a - p);
        cov += (p - mp) * (a - ma);
    }
    js_sum = block_sum(js_sum, red);
    sq = block_sum(sq, red);
    cov = block_sum(cov, red);
    if (threadIdx.x == 0) {
        const double nv = moments[2] > 0 ? moments[2] : 1.0;
        const std::size_t o = static_cast<std::size_t>(t) * Hs + s;
        if (js) js[o] = static_cast<float>(js_sum / nv);
        if (frob) frob[o] = static_cast<float>(sqrt(sq) / nv);
        if (pearson) {
            const double den = sqrt(moments[3 * t + 1] * moments[3 * (Ht + s) + 1]);
            pearson[o] = den > 0.0 ? static_cast<float>(cov / den) : 0.0f;
        }
    }
}

}  // namespace

void align_metrics_cuda(float* js, float* frob, float* pearson, const float* P, const float* A,
                        const std::uint8_t* valid, int Ht, int Hs, int T, cudaStream_t stream) {
    DXL_CHECK(Ht > 0 && Hs > 0 && T > 0, ShapeError,
              "align_metrics_cuda: expected positive Ht, Hs, T, but got Ht=", Ht, " Hs=", Hs,
              " T=", T);
    double* moments = nullptr;
    DXL_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&moments),
                                   3 * static_cast<std::size_t>(Ht + Hs) * sizeof(double), stream));
    moments_kernel<<<Ht + Hs, kThreads, 0, stream>>>(moments, P, A, valid, Ht, T);
    DXL_CUDA_CHECK_LAUNCH();
    pairs_kernel<<<Ht * Hs, kThreads, 0, stream>>>(js, frob, pearson, moments, P, A, valid, Ht, Hs,
                                                   T);
    DXL_CUDA_CHECK_LAUNCH();
    DXL_CUDA_CHECK(cudaFreeAsync(moments, stream));
}

}  // namespace dxl::kernels
