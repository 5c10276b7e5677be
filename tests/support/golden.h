// Golden-data helpers: read HDF5 datasets of the shared golden files as torch tensors and
// compare with explicit tolerances.
#pragma once

#include <torch/types.h>

#include <string>

#include "core/store/h5.h"

namespace dxl::test {

// Dataset `name` of group `g` as a contiguous CPU tensor of `dtype` with the stored shape.
torch::Tensor read_tensor(const h5::Group& g, const std::string& name,
                          torch::Dtype dtype = torch::kFloat32);

// max |a - b| (after promoting both to float64); shapes must match (ShapeError otherwise).
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b);
// max |a - b| / max(|b|, floor)
double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b, double floor);

}  // namespace dxl::test
