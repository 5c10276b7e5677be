// A/B differences of two inputs on their common prefix.
#include "core/analysis/ab_diff.h"

#include <torch/torch.h>

#include <cmath>

#include "core/base/error.h"

namespace dxl::analysis {

namespace {

// (H, T, T) -> (H, Tc, Tc)
torch::Tensor prefix(const torch::Tensor& m, int64_t tc) {
    return m.slice(-2, 0, tc).slice(-1, 0, tc);
}

torch::Tensor next_token_kl(const torch::Tensor& la, const torch::Tensor& lb, int64_t tc) {
    if (!la.defined() || !lb.defined()) return {};
    torch::Tensor p = torch::log_softmax(la.slice(0, 0, tc).to(torch::kFloat64), -1);  // (Tc, V)
    torch::Tensor q = torch::log_softmax(lb.slice(0, 0, tc).to(torch::kFloat64), -1);  // (Tc, V)
    return (p.exp() * (p - q)).sum(-1).to(torch::kFloat32);                            // (Tc)
}

double pearson_causal(const torch::Tensor& x, const torch::Tensor& y) {
    const int64_t T = x.size(0);
    torch::Tensor causal = torch::ones({T, T}, torch::kBool).tril();  // (T, T)
    torch::Tensor a = x.masked_select(causal).to(torch::kFloat64);
    torch::Tensor b = y.masked_select(causal).to(torch::kFloat64);
    a = a - a.mean();
    b = b - b.mean();
    const double den = std::sqrt((a * a).sum().item<double>() * (b * b).sum().item<double>());
    return den > 0 ? (a * b).sum().item<double>() / den : std::nan("");
}

}  // namespace

AbDifference ab_difference(const AlignmentInput& a, const AlignmentInput& b, const LayerMap& map,
                           StudentNorm norm) {
    DXL_CHECK(a.teacher_attn.size() == b.teacher_attn.size() &&
                  a.student_attn.size() == b.student_attn.size(),
              ShapeError, "A/B: the two inputs were run through different models");
    AbDifference r;
    r.t_common = std::min(a.tokens.size(0), b.tokens.size(0));
    const int64_t tc = r.t_common;
    for (size_t l = 0; l < a.teacher_attn.size(); ++l)
        r.teacher_diff.push_back(prefix(a.teacher_attn[l], tc) - prefix(b.teacher_attn[l], tc));
    for (size_t k = 0; k < a.student_attn.size(); ++k)
        r.student_diff.push_back(a.student_attn[k].defined()
                                     ? prefix(a.student_attn[k], tc) - prefix(b.student_attn[k], tc)
                                     : torch::Tensor());
    r.teacher_kl = next_token_kl(a.teacher_logits, b.teacher_logits, tc);
    r.student_kl = next_token_kl(a.student_logits, b.student_logits, tc);
    for (const LayerPair& p : map.pairs) {
        const auto blk = static_cast<size_t>(p.student_block);
        if (!a.student_attn.at(blk).defined()) continue;
        torch::Tensor dt = r.teacher_diff.at(static_cast<size_t>(p.teacher_layer))
                               .to(torch::kFloat64)
                               .mean(0);  // (Tc, Tc)
        torch::Tensor ds = (prefix(normalize_student(a, p.student_block, norm), tc) -
                            prefix(normalize_student(b, p.student_block, norm), tc))
                               .to(torch::kFloat64)
                               .mean(0);  // (Tc, Tc)
        r.pairs.push_back(p);
        r.dd.push_back((ds - dt).tril().to(torch::kFloat32));
        r.change_correlation.push_back(pearson_causal(dt, ds));
    }
    return r;
}

}  // namespace dxl::analysis
