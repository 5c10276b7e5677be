// sLSTM cell, vanilla NX-AI/xlstm semantics (docs/method.md#slstm-cell; golden README
// slstm_cell.h5): a
// per-step loop of fused pointwise ops over a block-diagonal (per head) recurrence.
//
// Layouts: the cell input x is (B, T, 4D) gate-major "BSGNH": x[b, t, g*D + head*Dh + d] with
// g = 0..3 for i, f, z, o (pre-activations W x without recurrent part and bias). The recurrent
// kernel is the vanilla parameter layout (NH, 4*Dh, Dh) and the bias the vanilla gate-major
// (4D). The CUDA backend stores R as (NH, Dh, 4*Dh) and the bias head-major; convert with the
// *_from_cuda / *_to_cuda helpers. State is (4, B, D) = [h, c, n, m].
#pragma once

#include <torch/types.h>

namespace dxl::models::slstm {

// (NH, Dh, 4*Dh) CUDA layout <-> (NH, 4*Dh, Dh) vanilla layout.
torch::Tensor recurrent_kernel_from_cuda(const torch::Tensor& r_cuda);
torch::Tensor recurrent_kernel_to_cuda(const torch::Tensor& r_vanilla);
// (4D) head-major CUDA bias <-> (4D) gate-major vanilla bias, for NH heads.
torch::Tensor bias_from_cuda(const torch::Tensor& b_cuda, int64_t num_heads);
torch::Tensor bias_to_cuda(const torch::Tensor& b_vanilla, int64_t num_heads);

struct Result {
    torch::Tensor h;      // (B, T, D) h after every step
    torch::Tensor state;  // (4, B, D) [h, c, n, m] after the last step
    // Only with capture_all:
    torch::Tensor c, n, m;  // (B, T, D) states after every step
    torch::Tensor raw;      // (B, T, 4D) gate pre-activations x + R h + b, gate-major i, f, z, o
};

// Runs the cell over T steps. `state` may be undefined (zero state, the reference's
// state=None). The first-step rule is the reference's: m_new = i_raw when ALL of n (whole
// tensor) is zero, else max(i_raw, logsigmoid(f_raw) + m).
Result forward(const torch::Tensor& x, const torch::Tensor& r_vanilla, const torch::Tensor& bias,
               const torch::Tensor& state, bool capture_all = false);

}  // namespace dxl::models::slstm
