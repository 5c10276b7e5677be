// Golden-data helpers (torch + HDF5).
#include <torch/torch.h>

#include "tests/support/golden.h"

#include "core/base/error.h"

namespace dxl::test {

torch::Tensor read_tensor(const h5::Group& g, const std::string& name, torch::Dtype dtype) {
    h5::Dims dims;
    std::vector<int64_t> shape;
    if (dtype == torch::kInt64) {
        auto v = g.read<int64_t>(name, &dims);
        for (auto d : dims)
            shape.push_back(static_cast<int64_t>(d));
        return torch::from_blob(v.data(), shape, torch::kInt64).clone();
    }
    auto v = g.read<double>(name, &dims);
    for (auto d : dims)
        shape.push_back(static_cast<int64_t>(d));
    return torch::from_blob(v.data(), shape, torch::kFloat64).to(dtype).clone();
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    DXL_CHECK(a.sizes() == b.sizes(), ShapeError, "max_abs_diff: shapes differ: ", a.sizes(),
              " vs ", b.sizes());
    if (a.numel() == 0) return 0.0;
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b, double floor) {
    DXL_CHECK(a.sizes() == b.sizes(), ShapeError, "max_rel_diff: shapes differ: ", a.sizes(),
              " vs ", b.sizes());
    if (a.numel() == 0) return 0.0;
    auto bd = b.to(torch::kFloat64);
    return ((a.to(torch::kFloat64) - bd).abs() / bd.abs().clamp_min(floor)).max().item<double>();
}

}  // namespace dxl::test
