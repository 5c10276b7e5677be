// mLSTM cell kernels (xLSTM v1 semantics, docs/method.md#mlstm-cell): chunkwise forward, its
// backward, and the fused recurrent step used for generation.
//
// Conventions shared by every function here:
//   * q, k, v are the raw projections, row-major (B, H, T, Dh); keys are scaled by 1/sqrt(Dh)
//     inside the kernel, so states are C = sum_j decay * i_j * (k_j/sqrt(Dh)) v_j^T (code layout,
//     rows index the key dimension) and n = sum_j decay * i_j * k_j/sqrt(Dh).
//   * igate, fgate are the per-head scalar gate PRE-activations, (B, H, T): i = exp(igate),
//     log f = logsigmoid(fgate).
//   * States are stabilised: the stored (C, n) equal the unstabilised ones times exp(-m).
//   * h is h~ (before the per-head group norm): (q^T C) / (max(|q^T n|, exp(-m)) + eps).
//   * The chunkwise states of xlstm's `chunkwise_simple` scale q instead of k; its C and n equal
//     sqrt(Dh) times ours (m is the same).
//   * Nothing allocates except where noted; pointers must not alias unless stated.
#pragma once

#include <cstdint>

#include "dxl/kernels/stream.h"

namespace dxl::kernels {

inline constexpr float kMlstmEps = 1e-6f;

// Number of chunk-state slots the chunkwise forward writes: ceil(T / L) + 1 (slot 0 holds the
// initial state, slot c the state after chunk c, the last slot the final state).
inline int mlstm_chunk_slots(int T, int L) {
    return (T + L - 1) / L + 1;
}

// Chunkwise forward (CPU reference, also the CPU fallback). T need not be a multiple of L: the
// last chunk is simply shorter, and the final state equals the recurrent state after step T.
//   h        (B, H, T, Dh)         output
//   C_chunks (B, H, S, Dh, Dh)     optional output (nullptr: not written), S = mlstm_chunk_slots
//   n_chunks (B, H, S, Dh)         optional output
//   m_chunks (B, H, S)             optional output
//   q, k, v  (B, H, T, Dh)
//   igate, fgate (B, H, T)
//   C0 (B, H, Dh, Dh), n0 (B, H, Dh), m0 (B, H): initial state; all nullptr = zero state (m0 = 0)
//   L: chunk length (>= 1; 64 is a good default for Dh = 64)
// Working memory: one heap buffer of O(L * L + L * Dh + Dh * Dh) floats per call.
void mlstm_chunk_forward_cpu(float* h, float* C_chunks, float* n_chunks, float* m_chunks,
                             const float* q, const float* k, const float* v, const float* igate,
                             const float* fgate, const float* C0, const float* n0, const float* m0,
                             int B, int H, int T, int Dh, int L, float eps);

// Backward of the mLSTM cell from a zero initial state (the training case): given dh (B, H, T,
// Dh), writes dq, dk, dv (B, H, T, Dh) and dig, dfg (B, H, T) (gradients wrt the gate
// pre-activations). Uses the parallel form row by row (O(T^2 Dh) per head, O(T Dh) memory). The
// stabiliser m is treated as a constant: the cell output does not depend on it except through eps,
// so the result equals the exact gradient up to eps-level terms.
void mlstm_backward_cpu(float* dq, float* dk, float* dv, float* dig, float* dfg, const float* dh,
                        const float* q, const float* k, const float* v, const float* igate,
                        const float* fgate, int B, int H, int T, int Dh, float eps);

// One recurrent step for generation, fused: per head a single sweep over C updates it and
// accumulates q^T C in the same pass. State is updated in place.
//   C (B, H, Dh, Dh), n (B, H, Dh), m (B, H): state in/out (stabilised, as above)
//   h (B, H, Dh): output; q, k, v (B, H, Dh); igate, fgate (B, H). No allocation.
void mlstm_step_cpu(float* C, float* n, float* m, float* h, const float* q, const float* k,
                    const float* v, const float* igate, const float* fgate, int B, int H, int Dh,
                    float eps);

// ---- CUDA (declared always; defined only in builds with DXL_HAVE_CUDA) ----------------------
// All pointers are device pointers; work is enqueued on `stream` (no synchronisation).
// Chunkwise forward with fp32 inputs. C_chunks/n_chunks/m_chunks may be nullptr; the kernel then
// uses stream-ordered scratch (cudaMallocAsync). Initial state as for the CPU version.
void mlstm_chunk_forward_cuda(float* h, float* C_chunks, float* n_chunks, float* m_chunks,
                              const float* q, const float* k, const float* v, const float* igate,
                              const float* fgate, const float* C0, const float* n0, const float* m0,
                              int B, int H, int T, int Dh, int L, float eps, cudaStream_t stream);
// Same with bf16 q, k, v (bit patterns, (B, H, T, Dh)); gates, state and h stay fp32.
void mlstm_chunk_forward_bf16_cuda(float* h, float* C_chunks, float* n_chunks, float* m_chunks,
                                   const std::uint16_t* q, const std::uint16_t* k,
                                   const std::uint16_t* v, const float* igate, const float* fgate,
                                   const float* C0, const float* n0, const float* m0, int B, int H,
                                   int T, int Dh, int L, float eps, cudaStream_t stream);
// Backward from a zero initial state, as mlstm_backward_cpu (same gradients, m treated as a
// constant): dq, dk, dv (B, H, T, Dh), dig, dfg (B, H, T) from dh (B, H, T, Dh). O(T^2 Dh) work
// per head; stream-ordered scratch of 6 B*H*T floats (cudaMallocAsync). Dh <= 1024.
void mlstm_backward_cuda(float* dq, float* dk, float* dv, float* dig, float* dfg, const float* dh,
                         const float* q, const float* k, const float* v, const float* igate,
                         const float* fgate, int B, int H, int T, int Dh, float eps,
                         cudaStream_t stream);
// Fused recurrent step: one launch per token per layer, one block per (b, head); the block keeps
// the head's q, k, v in shared memory and streams its C once. Dh <= 1024.
void mlstm_step_cuda(float* C, float* n, float* m, float* h, const float* q, const float* k,
                     const float* v, const float* igate, const float* fgate, int B, int H, int Dh,
                     float eps, cudaStream_t stream);

}  // namespace dxl::kernels
