// row_linear: GEMV for one row, GEMM otherwise.
#include "core/models/row_linear.h"

#include <torch/torch.h>

#include <atomic>

namespace dxl::models {
namespace {
std::atomic<bool> g_gemv{true};
}  // namespace

void set_row_gemv_enabled(bool on) noexcept {
    g_gemv.store(on);
}
bool row_gemv_enabled() noexcept {
    return g_gemv.load();
}

torch::Tensor row_linear(const torch::Tensor& x, const torch::Tensor& w,
                         const torch::Tensor& bias) {
    const int64_t in = x.size(-1);
    auto out_shape = x.sizes().vec();
    out_shape.back() = w.size(0);
    if (x.numel() == in && row_gemv_enabled() && !x.requires_grad()) {
        torch::Tensor v = x.reshape({in});                                              // (in)
        torch::Tensor y = bias.defined() ? torch::addmv(bias, w, v) : torch::mv(w, v);  // (out)
        return y.view(out_shape);
    }
    torch::Tensor x2 = x.reshape({-1, in});  // (N, in)
    torch::Tensor y = bias.defined() ? torch::addmm(bias, x2, w.t()) : torch::mm(x2, w.t());
    return y.view(out_shape);  // (..., out)
}

}  // namespace dxl::models
