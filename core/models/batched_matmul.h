// Batched matrix product for many small matrices, as the chunkwise mLSTM needs.
#pragma once

#include <torch/types.h>

namespace dxl::models {

// a (..., n, k) @ b (..., k, m) -> (..., n, m), same leading dims.
// Fast path for float32/float64 CPU tensors that need no autograd: one BLAS gemm per matrix
// called directly (without MKL, ATen's CPU bmm spends a few microseconds of bookkeeping per
// batch matrix, which dominates for the 64 x 64 blocks of a chunkwise pass). Otherwise torch::bmm.
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace dxl::models
