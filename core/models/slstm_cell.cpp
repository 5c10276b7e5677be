// sLSTM vanilla cell: pointwise step as in xlstm/blocks/slstm/src/vanilla/slstm.py.
#include <torch/torch.h>

#include "core/models/slstm_cell.h"

#include <vector>

#include "core/base/error.h"

namespace dxl::models::slstm {
namespace F = torch::nn::functional;

torch::Tensor recurrent_kernel_from_cuda(const torch::Tensor& r_cuda) {
    DXL_CHECK(r_cuda.dim() == 3 && r_cuda.size(2) == 4 * r_cuda.size(1), ShapeError,
              "slstm: expected a CUDA-layout recurrent kernel (NH, Dh, 4*Dh), but got ",
              r_cuda.sizes());
    return r_cuda.transpose(1, 2).contiguous();
}

torch::Tensor recurrent_kernel_to_cuda(const torch::Tensor& r_vanilla) {
    DXL_CHECK(r_vanilla.dim() == 3 && r_vanilla.size(1) == 4 * r_vanilla.size(2), ShapeError,
              "slstm: expected a vanilla recurrent kernel (NH, 4*Dh, Dh), but got ",
              r_vanilla.sizes());
    return r_vanilla.transpose(1, 2).contiguous();
}

torch::Tensor bias_from_cuda(const torch::Tensor& b_cuda, int64_t num_heads) {
    DXL_CHECK(b_cuda.dim() == 1 && b_cuda.size(0) % (4 * num_heads) == 0, ShapeError,
              "slstm: expected a bias of shape (4D) divisible by 4*NH = ", 4 * num_heads,
              ", but got ", b_cuda.sizes());
    return b_cuda.view({num_heads, 4, -1}).permute({1, 0, 2}).reshape({-1}).contiguous();
}

torch::Tensor bias_to_cuda(const torch::Tensor& b_vanilla, int64_t num_heads) {
    DXL_CHECK(b_vanilla.dim() == 1 && b_vanilla.size(0) % (4 * num_heads) == 0, ShapeError,
              "slstm: expected a bias of shape (4D) divisible by 4*NH = ", 4 * num_heads,
              ", but got ", b_vanilla.sizes());
    return b_vanilla.view({4, num_heads, -1}).permute({1, 0, 2}).reshape({-1}).contiguous();
}

Result forward(const torch::Tensor& x, const torch::Tensor& r_vanilla, const torch::Tensor& bias,
               const torch::Tensor& state, bool capture_all) {
    DXL_CHECK(x.dim() == 3 && x.size(2) % 4 == 0, ShapeError,
              "slstm::forward: expected x of shape (B, T, 4D), but got ", x.sizes());
    const int64_t B = x.size(0), T = x.size(1), D = x.size(2) / 4;
    DXL_CHECK(r_vanilla.dim() == 3 && r_vanilla.size(1) == 4 * r_vanilla.size(2) &&
                  r_vanilla.size(0) * r_vanilla.size(2) == D,
              ShapeError,
              "slstm::forward: expected a recurrent kernel (NH, 4*Dh, Dh) with NH*Dh = ", D,
              ", but got ", r_vanilla.sizes(),
              "; a (NH, Dh, 4*Dh) kernel is the CUDA layout (use recurrent_kernel_from_cuda)");
    DXL_CHECK(bias.dim() == 1 && bias.size(0) == 4 * D, ShapeError,
              "slstm::forward: expected a bias of shape (", 4 * D, "), but got ", bias.sizes());
    const int64_t NH = r_vanilla.size(0), Dh = r_vanilla.size(2);
    torch::Tensor s = state.defined() ? state : torch::zeros({4, B, D}, x.options());  // (4, B, D)
    DXL_CHECK(s.sizes() == torch::IntArrayRef({4, B, D}), ShapeError,
              "slstm::forward: expected a state (4, ", B, ", ", D, "), but got ", s.sizes());
    torch::Tensor h = s[0], c = s[1], n = s[2], m = s[3];  // (B, D) each
    torch::Tensor r_t = r_vanilla.transpose(1, 2);         // (NH, Dh, 4*Dh)
    std::vector<torch::Tensor> hs, cs, ns, ms, raws;
    hs.reserve(T);
    for (int64_t t = 0; t < T; ++t) {
        // Ry[b, g*D + head*Dh + j] = sum_i h[b, head*Dh + i] R[head, g*Dh + j, i]
        torch::Tensor ry = torch::bmm(h.view({B, NH, Dh}).transpose(0, 1), r_t)  // (NH, B, 4*Dh)
                               .view({NH, B, 4, Dh})
                               .permute({1, 2, 0, 3})
                               .reshape({B, 4 * D});
        torch::Tensor raw = x.select(1, t) + ry + bias;  // (B, 4D)
        auto g = raw.view({B, 4, D}).unbind(1);          // i, f, z, o raw, (B, D) each
        torch::Tensor logfplusm = m + F::logsigmoid(g[1]);
        torch::Tensor m_new =
            (n == 0).all().item<bool>() ? g[0] : torch::maximum(g[0], logfplusm);  // (B, D)
        torch::Tensor o = torch::sigmoid(g[3]);
        torch::Tensor i_act = torch::clamp_max((g[0] - m_new).exp(), 1.0);
        torch::Tensor f_act = torch::clamp_max((logfplusm - m_new).exp(), 1.0);
        c = f_act * c + i_act * torch::tanh(g[2]);
        n = f_act * n + i_act;
        h = o * c / n;
        m = m_new;
        hs.push_back(h);
        if (capture_all) {
            cs.push_back(c);
            ns.push_back(n);
            ms.push_back(m);
            raws.push_back(raw);
        }
    }
    Result out;
    out.h = T > 0 ? torch::stack(hs, 1) : torch::zeros({B, 0, D}, x.options());
    out.state = torch::stack({h, c, n, m}, 0);
    if (capture_all && T > 0) {
        out.c = torch::stack(cs, 1);
        out.n = torch::stack(ns, 1);
        out.m = torch::stack(ms, 1);
        out.raw = torch::stack(raws, 1);
    }
    return out;
}

}  // namespace dxl::models::slstm
