// Alignment metrics between teacher attention P and student implicit attention Â
// (docs/method.md#alignment-metrics)
// for every teacher-head x student-head pair of one layer pair, in one call.
//
// Entries compared: the causal triangle (j <= i) restricted to valid positions (row i and column
// j both valid). Values are used as given (no renormalisation after masking).
//   js      = mean over valid rows i of JS(P_i || Â_i), natural log, 0 log 0 = 0
//   frob    = sqrt(sum over entries (Â - P)^2) / n_valid           (MOHAWK-style ||Â - P||_F / T)
//   pearson = Pearson correlation over the entries (0 when either side has zero variance)
#pragma once

#include <cstdint>

#include "dxl/kernels/stream.h"

namespace dxl::kernels {

// CPU reference.
//   js, frob, pearson (Ht, Hs) outputs; any may be nullptr
//   P (Ht, T, T), A (Hs, T, T) row-normalised attention
//   valid (T) 1 = real token, 0 = pad; nullptr = all valid
void align_metrics_cpu(float* js, float* frob, float* pearson, const float* P, const float* A,
                       const std::uint8_t* valid, int Ht, int Hs, int T);

// CUDA (defined with DXL_HAVE_CUDA): all pointers device pointers; one block per head pair,
// double-precision accumulation.
void align_metrics_cuda(float* js, float* frob, float* pearson, const float* P, const float* A,
                        const std::uint8_t* valid, int Ht, int Hs, int T, cudaStream_t stream);

}  // namespace dxl::kernels
