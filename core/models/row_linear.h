// y = x Wᵀ + b that sends a single row through a matrix-vector product. A GEMM with one row
// repacks the whole weight matrix on every call (measured 31.5 ms vs 12.8 ms for GPT-2's
// 50257 x 768 head), which dominates token-by-token decoding.
#pragma once

#include <torch/types.h>

namespace dxl::models {

// x (..., in), w (out, in) (any strides, e.g. a transposed (in, out) view), bias (out) or
// undefined -> (..., out).
torch::Tensor row_linear(const torch::Tensor& x, const torch::Tensor& w,
                         const torch::Tensor& bias = {});

// Benchmarks switch the matrix-vector path off to measure the GEMM it replaces.
void set_row_gemv_enabled(bool on) noexcept;
bool row_gemv_enabled() noexcept;

}  // namespace dxl::models
