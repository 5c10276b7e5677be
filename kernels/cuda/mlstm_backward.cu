// CUDA mLSTM backward from a zero initial state (the training case), the GPU version of
// mlstm_backward_cpu (kernels/ref/mlstm_ref.cpp): the same parallel-form gradient with the
// stabiliser m treated as a constant, computed in four launches on one stream:
//   1. prefix: per (b, h) F_t = sum_{s<=t} logsigmoid(f_s) and m_t = F_t + max_{j<=t}(i_j - F_j)
//      (the row maximum of log D_tj = F_t - F_j + i_j);
//   2. rows: per (b, h, t) the normaliser N_t, dL/dr_t and dq_t = sum_j dS_tj k_j, plus
//      rowsum_t = sum_j dlogD_tj;
//   3. cols: per (b, h, j) dk_j = sum_t dS_tj q_t, dv_j = sum_t (E_tj / N_t) g_t and
//      colsum_j = sum_t dlogD_tj (= dL/di_j);
//   4. gates: dF_t = rowsum_t - colsum_t, then dL/df_s = sigmoid(-f_s) * sum_{t>=s} dF_t.
// with E_tj = (q_t.k_j / sqrt(Dh)) D'_tj, D'_tj = exp(log D_tj - m_t), g = dL/dh and
// dE_tj = (g_t.v_j) / N_t + dL/dr_t, dS_tj = dE_tj D'_tj / sqrt(Dh), dlogD_tj = dE_tj E_tj.
// O(T^2 Dh) work per head and O(T) scratch; correctness first (see bench/RESULTS.md).
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>

#include "cuda_check.cuh"
#include "dxl/kernels/mlstm.h"

namespace dxl::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kTile = 256;                 // (t, j) pairs staged in shared memory per pass
constexpr int kMaxCols = 1024 / kThreads;  // columns per thread (Dh <= 1024)

__device__ __forceinline__ float log_sigmoid(float x) {
    return fminf(x, 0.0f) - log1pf(expf(-fabsf(x)));
}

__device__ __forceinline__ float dot(const float* a, const float* b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; ++i)
        s += a[i] * b[i];
    return s;
}

// Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
__device__ float block_sum(float x, float* red) {
    for (int o = 16; o > 0; o >>= 1)
        x += __shfl_xor_sync(0xffffffffu, x, o);
    __syncthreads();  // red may still be read by a previous call
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = x;
    __syncthreads();
    float total = 0.0f;
    for (int w = 0; w < static_cast<int>(blockDim.x) / 32; ++w)
        total += red[w];
    return total;
}

// Grid (B*H), one thread per block: sequential prefix over T.
__global__ void prefix_kernel(float* F, float* mrow, const float* igate, const float* fgate,
                              int T) {
    const std::size_t base = static_cast<std::size_t>(blockIdx.x) * T;
    float run = 0.0f, pm = -INFINITY;
    for (int t = 0; t < T; ++t) {
        run += log_sigmoid(fgate[base + t]);
        pm = fmaxf(pm, igate[base + t] - run);
        F[base + t] = run;
        mrow[base + t] = run + pm;
    }
}

// Grid (T, B*H). Row t: normaliser, dr, dq_t, rowsum_t.
__global__ void rows_kernel(float* dq, float* invN_out, float* dr_out, float* rowsum,
                            const float* g, const float* q, const float* k, const float* v,
                            const float* igate, const float* F, const float* mrow, int T, int Dh,
                            float eps) {
    extern __shared__ float smem[];
    float* qs = smem;         // (Dh) q_t
    float* gs = qs + Dh;      // (Dh) g_t
    float* dS = gs + Dh;      // (kTile)
    float* red = dS + kTile;  // (32)
    const int t = blockIdx.x, bh = blockIdx.y;
    const std::size_t row0 = static_cast<std::size_t>(bh) * T;  // first (b,h,.) row
    const float* kh = k + row0 * Dh;
    const float* vh = v + row0 * Dh;
    for (int a = threadIdx.x; a < Dh; a += blockDim.x) {
        qs[a] = q[(row0 + t) * Dh + a];
        gs[a] = g[(row0 + t) * Dh + a];
    }
    __syncthreads();
    const float inv_sqrt_d = rsqrtf(static_cast<float>(Dh));
    const float Ft = F[row0 + t], mt = mrow[row0 + t];
    // Pass 1: r = sum_j E_tj and g_t.h~_t = sum_j E_tj (g_t.v_j).
    float r = 0.0f, gh = 0.0f;
    for (int j = threadIdx.x; j <= t; j += blockDim.x) {
        const float Dp = expf(Ft - F[row0 + j] + igate[row0 + j] - mt);
        const float E = dot(qs, kh + static_cast<std::size_t>(j) * Dh, Dh) * inv_sqrt_d * Dp;
        r += E;
        gh += E * dot(gs, vh + static_cast<std::size_t>(j) * Dh, Dh);
    }
    r = block_sum(r, red);
    gh = block_sum(gh, red);
    const float floor_t = expf(-mt);
    const float invN = 1.0f / (fmaxf(fabsf(r), floor_t) + eps);
    const float dN = -gh * invN * invN;
    const float dr = fabsf(r) > floor_t ? (r > 0.0f ? dN : -dN) : 0.0f;
    // Pass 2, tiled over j: dS_tj into shared memory, then dq_t = sum_j dS_tj k_j by columns.
    float acc[kMaxCols] = {};
    float rs = 0.0f;
    for (int j0 = 0; j0 <= t; j0 += kTile) {
        const int n = min(kTile, t + 1 - j0);
        for (int e = threadIdx.x; e < n; e += blockDim.x) {
            const int j = j0 + e;
            const float Dp = expf(Ft - F[row0 + j] + igate[row0 + j] - mt);
            const float S = dot(qs, kh + static_cast<std::size_t>(j) * Dh, Dh) * inv_sqrt_d;
            const float dE = dot(gs, vh + static_cast<std::size_t>(j) * Dh, Dh) * invN + dr;
            dS[e] = dE * Dp * inv_sqrt_d;
            rs += dE * S * Dp;  // dlogD_tj = dE_tj E_tj
        }
        __syncthreads();
        for (int c = 0; c < kMaxCols; ++c) {
            const int col = threadIdx.x + c * blockDim.x;
            if (col >= Dh) break;
            float s = 0.0f;
            for (int e = 0; e < n; ++e)
                s += dS[e] * kh[static_cast<std::size_t>(j0 + e) * Dh + col];
            acc[c] += s;
        }
        __syncthreads();
    }
    rs = block_sum(rs, red);
    for (int c = 0; c < kMaxCols; ++c) {
        const int col = threadIdx.x + c * blockDim.x;
        if (col >= Dh) break;
        dq[(row0 + t) * Dh + col] = acc[c];
    }
    if (threadIdx.x == 0) {
        invN_out[row0 + t] = invN;
        dr_out[row0 + t] = dr;
        rowsum[row0 + t] = rs;
    }
}

// Grid (T, B*H). Column (key) j: dk_j, dv_j, colsum_j = dL/di_j.
__global__ void cols_kernel(float* dk, float* dv, float* dig, float* colsum, const float* g,
                            const float* q, const float* k, const float* v, const float* igate,
                            const float* F, const float* mrow, const float* invN_in,
                            const float* dr_in, int T, int Dh) {
    extern __shared__ float smem[];
    float* ks = smem;        // (Dh) k_j
    float* vs = ks + Dh;     // (Dh) v_j
    float* dS = vs + Dh;     // (kTile)
    float* a = dS + kTile;   // (kTile) E_tj / N_t
    float* red = a + kTile;  // (32)
    const int j = blockIdx.x, bh = blockIdx.y;
    const std::size_t row0 = static_cast<std::size_t>(bh) * T;
    const float* qh = q + row0 * Dh;
    const float* gh = g + row0 * Dh;
    for (int e = threadIdx.x; e < Dh; e += blockDim.x) {
        ks[e] = k[(row0 + j) * Dh + e];
        vs[e] = v[(row0 + j) * Dh + e];
    }
    __syncthreads();
    const float inv_sqrt_d = rsqrtf(static_cast<float>(Dh));
    const float Fj_i = igate[row0 + j] - F[row0 + j];
    float acc_k[kMaxCols] = {}, acc_v[kMaxCols] = {};
    float cs = 0.0f;
    for (int t0 = j; t0 < T; t0 += kTile) {
        const int n = min(kTile, T - t0);
        for (int e = threadIdx.x; e < n; e += blockDim.x) {
            const int t = t0 + e;
            const float Dp = expf(F[row0 + t] + Fj_i - mrow[row0 + t]);
            const float S = dot(ks, qh + static_cast<std::size_t>(t) * Dh, Dh) * inv_sqrt_d;
            const float invN = invN_in[row0 + t];
            const float dE =
                dot(vs, gh + static_cast<std::size_t>(t) * Dh, Dh) * invN + dr_in[row0 + t];
            dS[e] = dE * Dp * inv_sqrt_d;
            a[e] = S * Dp * invN;
            cs += dE * S * Dp;
        }
        __syncthreads();
        for (int c = 0; c < kMaxCols; ++c) {
            const int col = threadIdx.x + c * blockDim.x;
            if (col >= Dh) break;
            float sk = 0.0f, sv = 0.0f;
            for (int e = 0; e < n; ++e) {
                const std::size_t off = static_cast<std::size_t>(t0 + e) * Dh + col;
                sk += dS[e] * qh[off];
                sv += a[e] * gh[off];
            }
            acc_k[c] += sk;
            acc_v[c] += sv;
        }
        __syncthreads();
    }
    cs = block_sum(cs, red);
    for (int c = 0; c < kMaxCols; ++c) {
        const int col = threadIdx.x + c * blockDim.x;
        if (col >= Dh) break;
        dk[(row0 + j) * Dh + col] = acc_k[c];
        dv[(row0 + j) * Dh + col] = acc_v[c];
    }
    if (threadIdx.x == 0) {
        colsum[row0 + j] = cs;
        dig[row0 + j] = cs;
    }
}

// Grid (B*H), one thread per block: dF_t = rowsum_t - colsum_t, suffix sum, chain through
// logsigmoid (d/dx logsigmoid(x) = sigmoid(-x) = 1 / (1 + e^x)).
__global__ void gates_kernel(float* dfg, const float* fgate, const float* rowsum,
                             const float* colsum, int T) {
    const std::size_t base = static_cast<std::size_t>(blockIdx.x) * T;
    float suffix = 0.0f;
    for (int s = T - 1; s >= 0; --s) {
        suffix += rowsum[base + s] - colsum[base + s];
        dfg[base + s] = suffix / (1.0f + expf(fgate[base + s]));
    }
}

}  // namespace

void mlstm_backward_cuda(float* dq, float* dk, float* dv, float* dig, float* dfg, const float* dh,
                         const float* q, const float* k, const float* v, const float* igate,
                         const float* fgate, int B, int H, int T, int Dh, float eps,
                         cudaStream_t stream) {
    DXL_CHECK(B > 0 && H > 0 && T > 0 && Dh > 0 && Dh <= 1024, ShapeError,
              "mlstm_backward_cuda: expected positive B, H, T and 0 < Dh <= 1024, but got B=", B,
              " H=", H, " T=", T, " Dh=", Dh);
    const std::size_t BH = static_cast<std::size_t>(B) * H;
    const std::size_t rows = BH * static_cast<std::size_t>(T);
    float* scratch = nullptr;  // F, m, 1/N, dr, rowsum, colsum: (B*H, T) each
    DXL_CUDA_CHECK(
        cudaMallocAsync(reinterpret_cast<void**>(&scratch), 6 * rows * sizeof(float), stream));
    float* F = scratch;
    float* mrow = F + rows;
    float* invN = mrow + rows;
    float* dr = invN + rows;
    float* rowsum = dr + rows;
    float* colsum = rowsum + rows;

    prefix_kernel<<<static_cast<unsigned>(BH), 1, 0, stream>>>(F, mrow, igate, fgate, T);
    DXL_CUDA_CHECK_LAUNCH();
    const dim3 grid(static_cast<unsigned>(T), static_cast<unsigned>(BH));
    const std::size_t smem_rows = (2 * static_cast<std::size_t>(Dh) + kTile + 32) * sizeof(float);
    rows_kernel<<<grid, kThreads, smem_rows, stream>>>(dq, invN, dr, rowsum, dh, q, k, v, igate, F,
                                                       mrow, T, Dh, eps);
    DXL_CUDA_CHECK_LAUNCH();
    const std::size_t smem_cols =
        (2 * static_cast<std::size_t>(Dh) + 2 * kTile + 32) * sizeof(float);
    cols_kernel<<<grid, kThreads, smem_cols, stream>>>(dk, dv, dig, colsum, dh, q, k, v, igate, F,
                                                       mrow, invN, dr, T, Dh);
    DXL_CUDA_CHECK_LAUNCH();
    gates_kernel<<<static_cast<unsigned>(BH), 1, 0, stream>>>(dfg, fgate, rowsum, colsum, T);
    DXL_CUDA_CHECK_LAUNCH();
    DXL_CUDA_CHECK(cudaFreeAsync(scratch, stream));
}

}  // namespace dxl::kernels
