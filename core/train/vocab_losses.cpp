// Chunked CE + KD over the vocabulary (see vocab_losses.h): a custom autograd function whose
// forward keeps only per-token sums and whose backward rebuilds each chunk's softmaxes from the
// saved logits, writing the gradient straight into one preallocated tensor.
#include "core/train/vocab_losses.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/base/error.h"

namespace dxl::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kChunkBytes = 64 << 20;

torch::ScalarType compute_dtype(torch::ScalarType t) {
    return t == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

int64_t rows_per_chunk(int64_t requested, int64_t V) {
    if (requested > 0) return requested;
    return std::max<int64_t>(1, kChunkBytes / (4 * std::max<int64_t>(V, 1)));
}

class VocabLossFn : public torch::autograd::Function<VocabLossFn> {
  public:
    // s, t (N, V); targets (N) int64; ce_m, kd_m (N) float (compute dtype).
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& s,
                                 const torch::Tensor& t, const torch::Tensor& targets,
                                 const torch::Tensor& ce_m, const torch::Tensor& kd_m,
                                 double temperature, bool ce, bool kd, int64_t chunk) {
        const auto N = s.size(0);
        const auto cd = compute_dtype(s.scalar_type());
        torch::Tensor ce_sum = torch::zeros({}, s.options().dtype(cd));
        torch::Tensor kl_sum = torch::zeros({}, s.options().dtype(cd));
        for (int64_t r0 = 0; r0 < N; r0 += chunk) {
            const int64_t n = std::min(chunk, N - r0);
            torch::Tensor sc = s.narrow(0, r0, n).to(cd);  // (n, V)
            if (ce) {
                torch::Tensor lse = sc.logsumexp(-1);                                     // (n)
                torch::Tensor zt = sc.gather(-1, targets.narrow(0, r0, n).unsqueeze(-1))  // (n, 1)
                                       .squeeze(-1);
                ce_sum += ((lse - zt) * ce_m.narrow(0, r0, n)).sum();
            }
            if (kd) {
                torch::Tensor ls = torch::log_softmax(sc / temperature, -1);  // (n, V)
                torch::Tensor lt =
                    torch::log_softmax(t.narrow(0, r0, n).to(cd) / temperature, -1);  // (n, V)
                torch::Tensor kl = (lt.exp() * (lt - ls)).sum(-1);                    // (n)
                kl_sum += (kl * kd_m.narrow(0, r0, n)).sum();
            }
        }
        ctx->save_for_backward({s, t, targets, ce_m, kd_m});
        ctx->saved_data["temperature"] = temperature;
        ctx->saved_data["ce"] = ce;
        ctx->saved_data["kd"] = kd;
        ctx->saved_data["chunk"] = chunk;
        const double T2 = temperature * temperature;
        return {ce_sum / ce_m.sum().clamp_min(1.0), T2 * kl_sum / kd_m.sum().clamp_min(1.0)};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &s = saved[0], &t = saved[1], &targets = saved[2];
        const torch::Tensor &ce_m = saved[3], &kd_m = saved[4];
        const double temperature = ctx->saved_data["temperature"].toDouble();
        const bool ce = ctx->saved_data["ce"].toBool() && grads[0].defined();
        const bool kd = ctx->saved_data["kd"].toBool() && grads[1].defined();
        const int64_t chunk = ctx->saved_data["chunk"].toInt();
        const auto N = s.size(0);
        const auto cd = compute_dtype(s.scalar_type());
        torch::Tensor grad = torch::zeros_like(s);  // (N, V) in the logits' dtype
        // d CE / d z = (softmax(z) - onehot(y)) m / sum(m);
        // d T^2 KL / d z = T (softmax(z / T) - softmax(t / T)) m / sum(m).
        torch::Tensor ce_w, kd_w;  // (N, 1) per-row factors incl. the upstream scalar grads
        if (ce) ce_w = (grads[0].to(cd) * ce_m / ce_m.sum().clamp_min(1.0)).unsqueeze(-1);
        if (kd)
            kd_w = (grads[1].to(cd) * temperature * kd_m / kd_m.sum().clamp_min(1.0)).unsqueeze(-1);
        for (int64_t r0 = 0; r0 < N && (ce || kd); r0 += chunk) {
            const int64_t n = std::min(chunk, N - r0);
            torch::Tensor sc = s.narrow(0, r0, n).to(cd);  // (n, V)
            torch::Tensor g = torch::zeros_like(sc);       // (n, V)
            if (ce) {
                torch::Tensor w = ce_w.narrow(0, r0, n);  // (n, 1)
                g += torch::softmax(sc, -1) * w;
                g.scatter_add_(-1, targets.narrow(0, r0, n).unsqueeze(-1), -w);
            }
            if (kd) {
                torch::Tensor d = torch::softmax(sc / temperature, -1) -
                                  torch::softmax(t.narrow(0, r0, n).to(cd) / temperature, -1);
                g += d * kd_w.narrow(0, r0, n);
            }
            grad.narrow(0, r0, n).copy_(g);
        }
        return {grad,
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor()};
    }
};

}  // namespace

VocabLosses vocab_losses(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                         const torch::Tensor& targets, const torch::Tensor& ce_mask,
                         const torch::Tensor& kd_mask, const VocabLossOptions& opts) {
    DXL_CHECK(student_logits.dim() == 3, ShapeError,
              "vocab_losses: expected student logits (B, T, V), but got ", student_logits.sizes());
    DXL_CHECK(!opts.kd || teacher_logits.sizes() == student_logits.sizes(), ShapeError,
              "vocab_losses: expected equal student/teacher logits shapes, but got ",
              student_logits.sizes(), " and ",
              teacher_logits.defined() ? teacher_logits.sizes() : torch::IntArrayRef{},
              "; the vocabularies must match");
    DXL_CHECK(!opts.ce || targets.sizes() == student_logits.sizes().slice(0, 2), ShapeError,
              "vocab_losses: expected targets (B, T), but got ", targets.sizes());
    DXL_CHECK(opts.temperature > 0, ValueError,
              "vocab_losses: expected a positive temperature, but got ", opts.temperature);
    VocabLosses out;
    if (!opts.ce && !opts.kd) return out;
    const int64_t V = student_logits.size(-1);
    const auto cd = compute_dtype(student_logits.scalar_type());
    const auto fopt = student_logits.options().dtype(cd);
    torch::Tensor s = student_logits.reshape({-1, V});  // (N, V)
    const int64_t N = s.size(0);
    torch::Tensor t = opts.kd ? teacher_logits.detach().reshape({-1, V})  // (N, V)
                              : torch::zeros({0}, fopt);
    torch::Tensor y = opts.ce ? targets.reshape({-1}).clamp_min(0).to(torch::kInt64)  // (N)
                              : torch::zeros({N}, fopt.dtype(torch::kInt64));
    torch::Tensor ce_m = opts.ce ? ce_mask.reshape({-1}).to(cd) : torch::zeros({N}, fopt);  // (N)
    torch::Tensor kd_m = opts.kd ? kd_mask.reshape({-1}).to(cd) : torch::zeros({N}, fopt);  // (N)
    auto r = VocabLossFn::apply(s, t, y, ce_m, kd_m, opts.temperature, opts.ce, opts.kd,
                                rows_per_chunk(opts.chunk_rows, V));
    if (opts.ce) out.ce = r[0];
    if (opts.kd) out.kl = r[1];
    return out;
}

}  // namespace dxl::train
