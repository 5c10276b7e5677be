// Causal softmax attention with optional capture of the probabilities of chosen heads.
//
// out = softmax(q k^T / sqrt(Dh) + causal mask) v. The plain path never materialises P (online
// softmax per query row); heads listed in `capture_heads` additionally write their P. Grouped
// query attention is supported: query head h reads key/value head h / (H / Hkv).
#pragma once

#include <cstdint>

#include "dxl/kernels/stream.h"

namespace dxl::kernels {

// CPU reference (also the CPU fallback).
//   out (B, H, T, Dh)        output
//   probs (B, Nc, T, T)      output for the Nc = n_capture heads listed in capture_heads (in that
//                            order); the upper triangle is written as 0. nullptr when Nc == 0.
//   q (B, H, T, Dh), k, v (B, Hkv, T, Dh); H % Hkv == 0.
void attn_causal_forward_cpu(float* out, float* probs, const float* q, const float* k,
                             const float* v, const int* capture_heads, int n_capture, int B, int H,
                             int Hkv, int T, int Dh);

// CUDA (defined with DXL_HAVE_CUDA): device pointers, fp32 q/k/v/out; probs written as fp16 bits
// (B, Nc, T, T), zeros above the diagonal. capture_heads is a HOST array of Nc head indices.
// Dh <= 256.
void attn_causal_forward_cuda(float* out, std::uint16_t* probs_fp16, const float* q, const float* k,
                              const float* v, const int* capture_heads, int n_capture, int B, int H,
                              int Hkv, int T, int Dh, cudaStream_t stream);

}  // namespace dxl::kernels
