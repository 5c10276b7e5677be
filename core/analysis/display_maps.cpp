// Display maps: filters, rollout and token highlight of one teacher/student head pair.
#include "core/analysis/display_maps.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/analysis/metrics.h"
#include "core/base/error.h"

namespace dxl::analysis {

torch::Tensor apply_display_filter(const torch::Tensor& map, const DisplayFilter& f,
                                   bool signed_values) {
    if (!f.active()) return map;
    const int64_t T = map.size(0);
    const torch::Tensor causal = torch::ones({T, T}, torch::kBool).tril();  // (T, T)
    torch::Tensor keep = causal.clone();                                    // (T, T) shown cells
    torch::Tensor a = map.to(torch::kFloat64).masked_fill(~causal, 0.0);    // (T, T)
    if (f.drop_sink) {
        keep.select(1, 0).fill_(false);
        a = a.masked_fill(~keep, 0.0);
        if (!signed_values) {
            // Rows over j >= 1 again sum to 1; a row with nothing left (row 0) stays all 0.
            torch::Tensor sum = a.sum(1, /*keepdim=*/true);  // (T, 1)
            a = torch::where(sum > 0, a / sum.clamp_min(1e-300), a);
        }
    }
    if (f.top_k > 0) {
        // Excluded cells rank below every kept one (|value| >= 0), so a row with at least k
        // shown cells keeps exactly k of them, ties broken by torch::topk.
        torch::Tensor score = a.abs().masked_fill(~keep, -1.0);                // (T, T)
        torch::Tensor idx = std::get<1>(score.topk(std::min(f.top_k, T), 1));  // (T, k)
        torch::Tensor top = torch::zeros({T, T}, torch::kBool).scatter_(1, idx, true);
        keep = keep & top;
        a = a.masked_fill(~keep, 0.0);
    }
    if (f.threshold > 0) a = a.masked_fill(a.abs() < f.threshold, 0.0);
    return torch::where(causal, a.to(map.scalar_type()), map);
}

std::vector<double> attention_received(const torch::Tensor& map) {
    const int64_t T = map.size(0);
    torch::Tensor a = map.to(torch::kFloat64).tril();            // (T, T)
    torch::Tensor n = torch::arange(T, 0, -1, torch::kFloat64);  // (T) = T - j
    torch::Tensor r = (a.sum(0) / n).contiguous();               // (T)
    return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + T);
}

ShownMaps show_maps(const AlignmentInput& in, const ShowRequest& q) {
    const auto L = static_cast<int64_t>(in.teacher_attn.size());
    const auto B = static_cast<int64_t>(in.student_attn.size());
    DXL_CHECK(q.teacher_layer >= 0 && q.teacher_layer < L, ValueError, "show: teacher layer ",
              q.teacher_layer, " out of range [0, ", L, ")");
    DXL_CHECK(q.student_block >= 0 && q.student_block < B, ValueError, "show: student block ",
              q.student_block, " out of range [0, ", B, ")");
    DXL_CHECK(q.filter.threshold >= 0 && q.filter.top_k >= 0, ValueError,
              "show: display filter needs threshold >= 0 and top-k >= 0, got ", q.filter.threshold,
              " and ", q.filter.top_k, "; use 0 to switch either off");
    ShownMaps r;
    torch::Tensor teacher, student;  // (T, T) before the filter
    if (q.rollout) {
        const int64_t T = in.tokens.size(0);
        const torch::Tensor mask = in.mask.defined() ? in.mask : torch::ones({T}, torch::kBool);
        std::vector<torch::Tensor> tl(in.teacher_attn.begin(),
                                      in.teacher_attn.begin() + q.teacher_layer + 1);
        std::vector<torch::Tensor> sl;  // (H, T, T) per block; undefined = sLSTM, identity
        for (int64_t b = 0; b <= q.student_block; ++b)
            sl.push_back(in.student_attn[static_cast<size_t>(b)].defined()
                             ? normalize_student(in, b, q.norm)
                             : torch::Tensor());
        teacher = rollout(tl, mask);  // (T, T) float64
        student = rollout(sl, mask);  // (T, T) float64, rows are distributions
    } else {
        const torch::Tensor& tA = in.teacher_attn[static_cast<size_t>(q.teacher_layer)];
        DXL_CHECK(q.teacher_head >= 0 && q.teacher_head < tA.size(0), ValueError,
                  "show: teacher head ", q.teacher_head, " out of range [0, ", tA.size(0), ")");
        DXL_CHECK(in.student_attn[static_cast<size_t>(q.student_block)].defined(), ValueError,
                  "show: student block ", q.student_block,
                  " has no implicit attention (not an mLSTM block); choose an mLSTM block");
        torch::Tensor sA = normalize_student(in, q.student_block, q.norm);  // (H, T, T)
        DXL_CHECK(q.student_head >= 0 && q.student_head < sA.size(0), ValueError,
                  "show: student head ", q.student_head, " out of range [0, ", sA.size(0), ")");
        teacher = tA[q.teacher_head];
        student = sA[q.student_head];
        r.student_signed = q.norm == StudentNorm::Raw;
    }
    r.teacher = apply_display_filter(teacher, q.filter, false).to(torch::kFloat64);
    r.student = apply_display_filter(student, q.filter, r.student_signed).to(torch::kFloat64);
    switch (q.highlight) {
        case Highlight::None:
            break;
        case Highlight::TeacherReceived:
            r.highlight = attention_received(r.teacher);
            break;
        case Highlight::StudentReceived:
            r.highlight = attention_received(r.student);
            break;
        case Highlight::DifferenceReceived:
            r.highlight = attention_received((r.student - r.teacher).abs());
            break;
        case Highlight::Kl: {
            DXL_CHECK(in.teacher_logits.defined() && in.student_logits.defined(), ValueError,
                      "show: the KL highlight needs both models' full logits; capture with "
                      "--logits full or use another --highlight");
            torch::Tensor lp = torch::log_softmax(in.teacher_logits.to(torch::kFloat64), -1);
            torch::Tensor lq = torch::log_softmax(in.student_logits.to(torch::kFloat64), -1);
            torch::Tensor kl = (lp.exp() * (lp - lq)).sum(-1).contiguous();  // (T)
            r.highlight.assign(kl.data_ptr<double>(), kl.data_ptr<double>() + kl.numel());
            break;
        }
    }
    return r;
}

}  // namespace dxl::analysis
