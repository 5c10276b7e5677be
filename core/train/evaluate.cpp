// Held-out evaluation of a student (perplexity, agreement and KL with the teacher, task accuracy)
// and the optional per-head alignment of eval records (RunConfig::eval_alignment).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/analysis/hungarian.h"
#include "core/analysis/metric_kinds.h"
#include "core/analysis/metrics.h"
#include "core/capture/memory_sink.h"
#include "core/models/xlstm_v1.h"
#include "core/train/batch_tensors.h"
#include "core/train/losses.h"
#include "core/train/trainer.h"

namespace dxl::train {

namespace pt = dxl::capture::point;

nlohmann::json evaluate(models::LanguageModel& model, models::LanguageModel* teacher,
                        const data::Dataset& ds, int64_t batch_size, int64_t n_batches) {
    torch::NoGradGuard ng;
    const bool was_training = model.module().is_training();
    model.module().eval();
    const torch::Device device = model_device(model);
    const int64_t N = ds.size(data::Split::Heldout);
    if (N == 0) return nlohmann::json{{"eval_tokens", 0}, {"note", "no held-out sequences"}};
    const int64_t nb =
        std::max<int64_t>(1, std::min(n_batches, N / std::max<int64_t>(1, batch_size)));
    double ce_s = 0, ce_t = 0, n_tok = 0, agree = 0, kl = 0, n_in = 0, acc_s = 0, acc_t = 0,
           n_score = 0;
    for (int64_t i = 0; i < nb; ++i) {
        const int64_t B = std::min(batch_size, N);
        BatchTensors bt = to_tensors(ds.batch(data::Split::Heldout, 0, i * B, B), device);
        torch::Tensor ls =
            torch::log_softmax(model.forward(bt.input).to(torch::kFloat32), -1);  // (B, T, V)
        torch::Tensor tm = bt.target_valid.to(torch::kFloat64);                   // (B, T)
        torch::Tensor nll_s =
            -ls.gather(-1, bt.target.unsqueeze(-1)).squeeze(-1).to(torch::kFloat64);
        ce_s += (nll_s * tm).sum().item<double>();
        n_tok += tm.sum().item<double>();
        torch::Tensor sm = bt.score.to(torch::kFloat64);
        acc_s += ((ls.argmax(-1) == bt.target).to(torch::kFloat64) * sm).sum().item<double>();
        n_score += sm.sum().item<double>();
        if (teacher) {
            torch::Tensor lt = torch::log_softmax(teacher->forward(bt.input).to(torch::kFloat32),
                                                  -1);  // (B, T, V)
            torch::Tensor nll_t =
                -lt.gather(-1, bt.target.unsqueeze(-1)).squeeze(-1).to(torch::kFloat64);
            ce_t += (nll_t * tm).sum().item<double>();
            torch::Tensor im = bt.input_valid.to(torch::kFloat64);
            agree +=
                ((ls.argmax(-1) == lt.argmax(-1)).to(torch::kFloat64) * im).sum().item<double>();
            kl += ((lt.exp() * (lt - ls)).sum(-1).to(torch::kFloat64) * im).sum().item<double>();
            n_in += im.sum().item<double>();
            acc_t += ((lt.argmax(-1) == bt.target).to(torch::kFloat64) * sm).sum().item<double>();
        }
    }
    if (was_training) model.module().train();
    nlohmann::json m;
    m["eval_tokens"] = n_tok;
    m["ce"] = ce_s / std::max(1.0, n_tok);
    m["ppl"] = std::exp(ce_s / std::max(1.0, n_tok));
    if (n_score > 0) m["task_acc"] = acc_s / n_score;
    if (teacher) {
        m["teacher_ce"] = ce_t / std::max(1.0, n_tok);
        m["teacher_ppl"] = std::exp(ce_t / std::max(1.0, n_tok));
        m["top1_agreement"] = agree / std::max(1.0, n_in);
        m["kl_per_token"] = kl / std::max(1.0, n_in);
        if (n_score > 0) m["teacher_task_acc"] = acc_t / n_score;
    }
    return m;
}

nlohmann::json evaluate_alignment(models::LanguageModel& student, models::LanguageModel& teacher,
                                  const data::Dataset& ds, int64_t batch_size,
                                  const std::vector<std::pair<int64_t, int64_t>>& layer_map) {
    torch::NoGradGuard ng;
    const int64_t N = ds.size(data::Split::Heldout);
    if (N == 0) return nlohmann::json::object();
    const bool was_training = student.module().is_training();
    student.module().eval();
    BatchTensors bt = to_tensors(ds.batch(data::Split::Heldout, 0, 0, std::min(batch_size, N)),
                                 model_device(student));
    capture::MemorySink ts({pt::kAttnProbs}), ss({pt::kImplicitAttn});
    teacher.forward(bt.input, {}, &ts);
    student.forward(bt.input, {}, &ss);
    if (was_training) student.module().train();
    // The trainer's layer groups (ratio, or the config's layer_map), mLSTM blocks only.
    const int64_t LT = teacher.info().n_layers, NS = student.info().n_layers;
    std::vector<std::pair<int64_t, int64_t>> groups = ratio_groups(LT, NS);
    for (const auto& [tl, sb] : layer_map)
        if (tl >= 0 && tl < LT && sb >= 0 && sb < NS)
            groups[static_cast<size_t>(sb)] = {tl, tl + 1};
    const auto js = static_cast<int64_t>(analysis::Metric::Js);
    nlohmann::json m = nlohmann::json::object();
    double sum = 0;
    int64_t n = 0;
    for (int64_t b = 0; b < NS; ++b) {
        auto a_it = ss.values().find(layer_path("student", static_cast<int>(b), pt::kImplicitAttn));
        if (a_it == ss.values().end()) continue;             // sLSTM block
        torch::Tensor A = a_it->second.to(torch::kFloat32);  // (B, Hs, T, T) raw signed
        for (int64_t tl = groups[static_cast<size_t>(b)].first;
             tl < groups[static_cast<size_t>(b)].second; ++tl) {
            auto p_it =
                ts.values().find(layer_path("teacher", static_cast<int>(tl), pt::kAttnProbs));
            if (p_it == ts.values().end()) continue;
            torch::Tensor P = p_it->second.to(torch::kFloat32);  // (B, Ht, T, T)
            torch::Tensor v;                                     // (Ht, Hs) mean over the batch
            for (int64_t i = 0; i < P.size(0); ++i) {
                torch::Tensor an =
                    models::mlstm::normalize_attention(A[i], models::mlstm::AttnNorm::AbsRow);
                torch::Tensor pm =
                    analysis::pair_metrics(P[i], an, bt.input_valid[i])[js];  // (Ht, Hs)
                v = v.defined() ? v + pm : pm;
            }
            v = (v / static_cast<double>(P.size(0))).to(torch::kFloat64).contiguous();
            const int R = static_cast<int>(v.size(0)), C = static_cast<int>(v.size(1));
            std::vector<double> cost(static_cast<size_t>(R) * static_cast<size_t>(C));
            auto acc = v.accessor<double, 2>();
            for (int r = 0; r < R; ++r)
                for (int c = 0; c < C; ++c)
                    cost[static_cast<size_t>(r * C + c)] =
                        std::isfinite(acc[r][c])
                            ? analysis::match_cost(analysis::Metric::Js, acc[r][c])
                            : 1e9;
            const analysis::Assignment as = analysis::hungarian(cost, R, C);
            for (int r = 0; r < R; ++r) {
                const int64_t c = as.row_to_col[static_cast<size_t>(r)];
                if (c < 0 || !std::isfinite(acc[r][c])) continue;
                m["align_js:L" + std::to_string(tl) + "H" + std::to_string(r) + "-B" +
                  std::to_string(b) + "H" + std::to_string(c)] = acc[r][c];
                sum += acc[r][c];
                ++n;
            }
        }
    }
    if (n > 0) m["align_js_mean"] = sum / static_cast<double>(n);
    return m;
}

}  // namespace dxl::train
