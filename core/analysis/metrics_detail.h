// Shared by the analysis TUs (metrics.cpp, representation.cpp); not part of the public API.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace dxl::analysis::detail {

// Number of valid tokens of a (T) mask; ValueError naming `op` when there is none.
int64_t valid_count(const char* op, const torch::Tensor& mask);

}  // namespace dxl::analysis::detail
