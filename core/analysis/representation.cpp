// Representation-level agreement between teacher and student: linear and RBF CKA between
// hidden states (Kornblith et al. 2019) and per-token KL / top-1 agreement of the next-token
// distributions. Declared in metrics.h.
#include <torch/torch.h>

#include <limits>
#include <vector>

#include "core/analysis/metrics.h"
#include "core/analysis/metrics_detail.h"
#include "core/base/error.h"

namespace dxl::analysis {

using detail::valid_count;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// numpy-style median of all entries (mean of the two middle values for an even count).
double np_median(const torch::Tensor& x) {
    torch::Tensor s = std::get<0>(x.flatten().sort());  // (N)
    const int64_t n = s.size(0);
    if (n % 2 == 1) return s[n / 2].item<double>();
    return 0.5 * (s[n / 2 - 1].item<double>() + s[n / 2].item<double>());
}

// Centred Gram matrix of X (N, D) flattened to (N*N); undefined X gives NaN.
torch::Tensor centered_gram(const torch::Tensor& X, const torch::Tensor& idx, bool rbf,
                            double sigma_factor) {
    const int64_t N = idx.size(0);
    if (!X.defined()) return torch::full({N * N}, kNaN, torch::kFloat64);
    DXL_CHECK(X.dim() == 2, ShapeError, "cka: expected hidden states as (T, D), but got ",
              X.sizes());
    torch::Tensor xv = X.to(torch::kFloat64).index_select(0, idx);  // (N, D)
    torch::Tensor K = xv.mm(xv.t());                                // (N, N)
    if (rbf) {
        torch::Tensor sq = K.diagonal();                                                  // (N)
        torch::Tensor d2 = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2.0 * K).clamp_min(0.0);  // (N, N)
        const double med = np_median(d2);
        K = (-d2 / (2.0 * sigma_factor * sigma_factor * med)).exp();
    }
    torch::Tensor Kc = K - K.mean(0, true) - K.mean(1, true) + K.mean();  // (N, N)
    return Kc.flatten();
}

}  // namespace

torch::Tensor cka_matrix(const std::vector<torch::Tensor>& X, const std::vector<torch::Tensor>& Y,
                         const torch::Tensor& mask, bool rbf, double sigma_factor) {
    DXL_CHECK(mask.defined() && mask.dim() == 1, ShapeError,
              "cka: expected the validity mask as (T)");
    torch::NoGradGuard no_grad;
    valid_count("cka", mask);
    torch::Tensor idx = mask.to(torch::kBool).nonzero().squeeze(1);  // (N)
    std::vector<torch::Tensor> gx, gy;
    for (const auto& x : X)
        gx.push_back(centered_gram(x, idx, rbf, sigma_factor));
    for (const auto& y : Y)
        gy.push_back(centered_gram(y, idx, rbf, sigma_factor));
    if (gx.empty() || gy.empty())
        return torch::empty({static_cast<int64_t>(gx.size()), static_cast<int64_t>(gy.size())},
                            torch::kFloat64);
    torch::Tensor a = torch::stack(gx);                                  // (L, N*N)
    torch::Tensor b = torch::stack(gy);                                  // (Nb, N*N)
    return a.mm(b.t()) / (a.norm(2, 1, true) * b.norm(2, 1, true).t());  // (L, Nb)
}

LogitAgreement logit_agreement(const torch::Tensor& teacher_logits,
                               const torch::Tensor& student_logits, const torch::Tensor& mask) {
    DXL_CHECK(
        teacher_logits.dim() == 2 && student_logits.sizes() == teacher_logits.sizes(), ShapeError,
        "logit_agreement: expected teacher and student logits of the same shape (T, V), but got ",
        teacher_logits.sizes(), " and ", student_logits.sizes(),
        "; both models need the same vocabulary");
    DXL_CHECK(mask.dim() == 1 && mask.size(0) == teacher_logits.size(0), ShapeError,
              "logit_agreement: expected the mask as (T) with T = ", teacher_logits.size(0));
    torch::NoGradGuard no_grad;
    const double R = static_cast<double>(valid_count("logit_agreement", mask));
    torch::Tensor vf = mask.to(torch::kFloat64);                                    // (T)
    torch::Tensor lt = torch::log_softmax(teacher_logits.to(torch::kFloat64), -1);  // (T, V)
    torch::Tensor ls = torch::log_softmax(student_logits.to(torch::kFloat64), -1);  // (T, V)
    LogitAgreement r;
    r.kl = (lt.exp() * (lt - ls)).sum(-1) * vf;
    r.top1 = lt.argmax(-1).eq(ls.argmax(-1)).to(torch::kFloat64) * vf;
    r.kl_mean = r.kl.sum().item<double>() / R;
    r.top1_mean = r.top1.sum().item<double>() / R;
    return r;
}

}  // namespace dxl::analysis
