// Dataset alignment: assembles AlignmentInput from in-memory captures, runs the batched metrics
// of metrics.h per sample, aggregates every scalar across samples (mean, t-based CI) and matches
// heads with the Hungarian assignment on the mean of the chosen metric.
#include "core/analysis/alignment.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "core/analysis/hungarian.h"
#include "core/base/error.h"
#include "core/capture/memory_sink.h"
#include "core/models/language_model.h"
#include "core/models/mlstm_cell.h"

namespace dxl::analysis {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Cost used in head matching for a NaN metric value (e.g. a constant map has no correlation).
constexpr double kNaNCost = 1e6;

torch::Tensor find(const capture::MemorySink& sink, const capture::CaptureKey& key) {
    auto it = sink.values().find(key.path());
    return it == sink.values().end() ? torch::Tensor() : it->second;
}

// Normalises one block's raw A (Hs, T, T) or builds G from the gates (Hs, T).
torch::Tensor normalize_map(const torch::Tensor& A, const torch::Tensor& ig,
                            const torch::Tensor& fg, StudentNorm norm, int64_t block) {
    namespace mlstm = models::mlstm;
    if (norm == StudentNorm::GateOnly) {
        DXL_CHECK(ig.defined() && fg.defined(), ValueError,
                  "align: gate-only normalisation needs the gate "
                  "pre-activations of student block ",
                  block,
                  " (mlstm_igate_pre, mlstm_fgate_pre); capture them "
                  "or pick another --normalize");
        return mlstm::gate_only(ig.unsqueeze(0), fg.unsqueeze(0))[0];  // (Hs, T, T)
    }
    DXL_CHECK(A.defined(), ValueError, "align: student block ", block,
              " has no implicit attention (implicit_attn); capture it or check the layer map");
    mlstm::AttnNorm mode = mlstm::AttnNorm::AbsRow;
    switch (norm) {
        case StudentNorm::Raw:
            mode = mlstm::AttnNorm::Raw;
            break;
        case StudentNorm::ReluRow:
            mode = mlstm::AttnNorm::ReluRow;
            break;
        case StudentNorm::MinMax:
            mode = mlstm::AttnNorm::MinMax;
            break;
        default:
            break;
    }
    return mlstm::normalize_attention(A, mode);  // (Hs, T, T)
}

// stacked (S, R, C) float64 -> per-entry mean/CI across S.
MatrixCi matrix_ci(const torch::Tensor& stacked, double level) {
    torch::Tensor x = stacked.to(torch::kFloat64).contiguous();  // (S, R, C)
    MatrixCi m;
    m.rows = x.size(1);
    m.cols = x.size(2);
    const int64_t S = x.size(0), n = m.rows * m.cols;
    const double* d = x.data_ptr<double>();
    m.values.resize(n);
    std::vector<double> v(S);
    for (int64_t e = 0; e < n; ++e) {
        for (int64_t s = 0; s < S; ++s)
            v[s] = d[s * n + e];
        m.values[e] = mean_ci(v, level);
    }
    return m;
}

// Rollout fed with per-layer head-mean row distributions in any order: steps are applied in
// layer order as soon as the next layer is there (pending ones wait). Disabled runs drop them.
class RolloutRun {
  public:
    RolloutRun(torch::Tensor mask, int64_t n_layers, bool enabled)
        : mask_(std::move(mask)), n_(n_layers), enabled_(enabled) {
        if (enabled_) r_ = rollout_start(mask_);
    }
    void add(int64_t layer, torch::Tensor mean_dist) {  // undefined: identity
        if (!enabled_) return;
        pending_[layer] = std::move(mean_dist);
        for (auto it = pending_.find(next_); it != pending_.end(); it = pending_.find(next_)) {
            r_ = rollout_step(r_, it->second, mask_);
            pending_.erase(it);
            ++next_;
        }
    }
    torch::Tensor result() const {
        DXL_CHECK(enabled_ && next_ == n_, InternalError, "align: rollout missing layers");
        return r_;
    }

  private:
    torch::Tensor mask_, r_;
    int64_t n_ = 0, next_ = 0;
    bool enabled_ = true;
    std::map<int64_t, torch::Tensor> pending_;
};

}  // namespace

std::vector<std::string> teacher_capture_points() {
    return {capture::point::kAttnProbs, capture::point::kHidden};
}
std::vector<std::string> student_capture_points() {
    return {capture::point::kImplicitAttn, capture::point::kMlstmIgatePre,
            capture::point::kMlstmFgatePre, capture::point::kHidden};
}

AlignmentInput input_from_memory(const capture::MemorySink& teacher,
                                 const capture::MemorySink& student, const torch::Tensor& tokens,
                                 const torch::Tensor& teacher_logits,
                                 const torch::Tensor& student_logits, int64_t n_teacher_layers,
                                 const std::vector<std::string>& student_block_types,
                                 int64_t batch_index, const torch::Tensor& mask) {
    namespace pt = capture::point;
    const int b = static_cast<int>(batch_index);
    AlignmentInput in;
    in.tokens = tokens.dim() == 2 ? tokens[b] : tokens;  // (T)
    const int64_t T = in.tokens.size(0);
    in.mask = mask.defined() ? mask.to(torch::kBool) : torch::ones({T}, torch::kBool);
    auto pick = [&](const torch::Tensor& t) { return t.defined() ? t[b] : t; };
    for (int l = 0; l < n_teacher_layers; ++l) {
        in.teacher_attn.push_back(pick(find(teacher, {"teacher", l, pt::kAttnProbs})));
        DXL_CHECK(in.teacher_attn.back().defined(), ValueError, "align: the teacher capture lacks ",
                  capture::CaptureKey{"teacher", l, pt::kAttnProbs}.path(), "; capture attn_probs");
        in.teacher_hidden.push_back(pick(find(teacher, {"teacher", l, pt::kHidden})));
    }
    in.student_block_types = student_block_types;
    for (int k = 0; k < static_cast<int>(student_block_types.size()); ++k) {
        in.student_attn.push_back(pick(find(student, {"student", k, pt::kImplicitAttn})));
        in.student_igate.push_back(pick(find(student, {"student", k, pt::kMlstmIgatePre})));
        in.student_fgate.push_back(pick(find(student, {"student", k, pt::kMlstmFgatePre})));
        in.student_hidden.push_back(pick(find(student, {"student", k, pt::kHidden})));
    }
    in.teacher_logits = pick(teacher_logits);
    in.student_logits = pick(student_logits);
    return in;
}

torch::Tensor normalize_student(const AlignmentInput& in, int64_t block, StudentNorm norm) {
    DXL_CHECK(block >= 0 && block < static_cast<int64_t>(in.student_block_types.size()), ValueError,
              "align: student block ", block, " is outside [0, ", in.student_block_types.size(),
              ")");
    auto at = [&](const std::vector<torch::Tensor>& v) {
        return block < static_cast<int64_t>(v.size()) ? v[block] : torch::Tensor();
    };
    // A block of unknown type (a capture without type attributes) counts as mLSTM when it has A.
    if (in.student_block_types[block] != "mlstm" &&
        !(in.student_block_types[block] == "unknown" && at(in.student_attn).defined()))
        return {};
    return normalize_map(at(in.student_attn), at(in.student_igate), at(in.student_fgate), norm,
                         block);
}

AlignmentReport align(const std::vector<AlignmentInput>& samples, const LayerMap& map,
                      const AlignOptions& opts) {
    DXL_CHECK(!samples.empty(), ValueError, "align: no samples given");
    DXL_CHECK(!map.pairs.empty(), ValueError, "align: the layer map is empty");
    torch::NoGradGuard no_grad;
    const AlignmentInput& first = samples[0];
    const auto n_layers = static_cast<int64_t>(first.teacher_attn.size());
    const auto n_blocks = static_cast<int64_t>(first.student_block_types.size());
    AlignmentReport rep;
    rep.normalization = to_string(opts.norm);
    rep.match_metric = opts.match_metric;
    rep.layer_map = map;
    rep.n_samples = static_cast<int64_t>(samples.size());
    rep.ci_level = opts.ci_level;
    rep.eps = opts.metric.eps;
    rep.top_k = opts.metric.top_k;
    rep.student_block_types = first.student_block_types;
    rep.teacher_layers = n_layers;
    for (const auto& a : first.teacher_attn)
        if (a.defined() && rep.teacher_heads == 0) rep.teacher_heads = a.size(0);
    DXL_CHECK(rep.teacher_heads > 0, ValueError,
              "align: sample 0 has no teacher attention (attn_probs) at all");

    const size_t n_pairs = map.pairs.size();
    std::vector<std::vector<torch::Tensor>> pair_vals(n_pairs);  // [pair][sample] (M, Ht, Hs)
    std::vector<torch::Tensor> t_stats, s_stats;                 // [sample] (S, L, H)
    std::vector<torch::Tensor> cka_lin, cka_rbf;                 // [sample] (L, N)
    std::vector<double> kl, top1;
    std::vector<torch::Tensor> roll;  // [sample] (M)
    for (size_t si = 0; si < samples.size(); ++si) {
        const AlignmentInput& in = samples[si];
        DXL_CHECK(static_cast<int64_t>(in.teacher_attn.size()) == n_layers &&
                      static_cast<int64_t>(in.student_block_types.size()) == n_blocks,
                  ShapeError, "align: sample ", si, " has ", in.teacher_attn.size(),
                  " teacher layers and ", in.student_block_types.size(),
                  " student blocks, but sample 0 has ", n_layers, " and ", n_blocks);
        const int64_t T = in.tokens.size(0);
        torch::Tensor mask = in.mask.defined() ? in.mask : torch::ones({T}, torch::kBool);  // (T)
        std::vector<torch::Tensor> smaps(n_blocks);  // (Hs, T, T) per mLSTM block
        for (int64_t b = 0; b < n_blocks; ++b)
            smaps[b] = normalize_student(in, b, opts.norm);
        // One pass per teacher layer / student block gives its pair features, head statistics
        // and rollout input (head-mean row distribution). Pairs are visited by teacher layer, so
        // a teacher layer's features live for its pairs only; features are dropped after their
        // last pair. Layers outside the map get the statistics pass alone.
        std::vector<int64_t> t_uses(n_layers, 0), s_uses(n_blocks, 0);
        for (size_t pi = 0; pi < n_pairs; ++pi) {
            const LayerPair& p = map.pairs[pi];
            DXL_CHECK(p.teacher_layer >= 0 && p.student_block >= 0 && p.teacher_layer < n_layers &&
                          p.student_block < n_blocks && smaps[p.student_block].defined() &&
                          in.teacher_attn[p.teacher_layer].defined(),
                      ValueError, "align: layer pair (teacher layer ", p.teacher_layer,
                      ", student block ", p.student_block, ") is not available in sample ", si,
                      "; check the layer map");
            ++t_uses[p.teacher_layer];
            ++s_uses[p.student_block];
        }
        std::vector<size_t> order(n_pairs);
        for (size_t pi = 0; pi < n_pairs; ++pi)
            order[pi] = pi;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            const LayerPair &x = map.pairs[a], &y = map.pairs[b];
            return x.teacher_layer != y.teacher_layer ? x.teacher_layer < y.teacher_layer
                                                      : x.student_block < y.student_block;
        });
        bool all_teacher = true;
        for (int64_t l = 0; l < n_layers; ++l)
            all_teacher = all_teacher && in.teacher_attn[l].defined();
        int64_t hs = 0;
        for (const auto& m : smaps)
            if (m.defined()) hs = m.size(0);
        rep.student_heads = hs;
        // Head statistics (S, H) per layer and the rollouts, fed as layers are summarised.
        std::vector<torch::Tensor> ts(n_layers), ss(n_blocks);
        RolloutRun t_roll(mask, n_layers, all_teacher), s_roll(mask, n_blocks, all_teacher);
        auto summary = [&](const torch::Tensor& maps, bool features, torch::Tensor& stats,
                           RolloutRun& run, int64_t l) {
            LayerSummary s = summarize_layer(maps, mask, opts.metric, features);
            stats = s.stats;
            run.add(l, s.mean_dist);
            return std::move(s.features);
        };
        std::map<int64_t, PairFeatures> t_feat, s_feat;
        std::vector<torch::Tensor> vals(n_pairs);  // (M, Ht, Hs) per pair
        for (size_t pi : order) {
            const LayerPair& p = map.pairs[pi];
            const int64_t l = p.teacher_layer, b = p.student_block;
            auto tf = t_feat.find(l);
            if (tf == t_feat.end())
                tf = t_feat.emplace(l, summary(in.teacher_attn[l], true, ts[l], t_roll, l)).first;
            auto sf = s_feat.find(b);
            if (sf == s_feat.end())
                sf = s_feat.emplace(b, summary(smaps[b], true, ss[b], s_roll, b)).first;
            vals[pi] = pair_metrics(tf->second, sf->second);
            if (--t_uses[l] == 0) t_feat.erase(tf);
            if (--s_uses[b] == 0) s_feat.erase(sf);
        }
        for (size_t pi = 0; pi < n_pairs; ++pi)
            pair_vals[pi].push_back(vals[pi]);
        for (int64_t l = 0; l < n_layers; ++l) {
            if (ts[l].defined()) continue;
            if (in.teacher_attn[l].defined()) {
                summary(in.teacher_attn[l], false, ts[l], t_roll, l);
            } else {
                ts[l] = torch::full({kNumHeadStats, rep.teacher_heads}, kNaN, torch::kFloat64);
                t_roll.add(l, torch::Tensor());
            }
        }
        for (int64_t b = 0; b < n_blocks; ++b) {
            if (ss[b].defined()) continue;
            if (smaps[b].defined()) {
                summary(smaps[b], false, ss[b], s_roll, b);
            } else {  // no token mixing: identity in the rollout
                ss[b] = torch::full({kNumHeadStats, hs}, kNaN, torch::kFloat64);
                s_roll.add(b, torch::Tensor());
            }
        }
        t_stats.push_back(torch::stack(ts, 1));  // (S, L, Ht)
        s_stats.push_back(torch::stack(ss, 1));  // (S, N, Hs)

        bool have_hidden = static_cast<int64_t>(in.teacher_hidden.size()) == n_layers;
        for (const auto& h : in.teacher_hidden)
            have_hidden = have_hidden && h.defined();
        if (have_hidden && !in.student_hidden.empty()) {
            cka_lin.push_back(cka_matrix(in.teacher_hidden, in.student_hidden, mask, false));
            cka_rbf.push_back(
                cka_matrix(in.teacher_hidden, in.student_hidden, mask, true, opts.rbf_sigma));
        }
        if (in.teacher_logits.defined() && in.student_logits.defined()) {
            LogitAgreement la = logit_agreement(in.teacher_logits, in.student_logits, mask);
            kl.push_back(la.kl_mean);
            top1.push_back(la.top1_mean);
        }
        if (!all_teacher) {  // a rollout over missing layers would be meaningless
            roll.push_back(torch::full({kNumMetrics}, kNaN, torch::kFloat64));
            continue;
        }
        torch::Tensor rt = t_roll.result();  // (T, T)
        torch::Tensor rs = s_roll.result();  // (T, T)
        roll.push_back(
            pair_metrics(rt.unsqueeze(0), rs.unsqueeze(0), mask, opts.metric).flatten());  // (M)
        if (si == 0) {
            rep.rollout_T = T;
            torch::Tensor a = rt.contiguous(), c = rs.contiguous();
            rep.rollout_teacher.assign(a.data_ptr<double>(), a.data_ptr<double>() + T * T);
            rep.rollout_student.assign(c.data_ptr<double>(), c.data_ptr<double>() + T * T);
        }
    }

    // Aggregate and match.
    const int mi = static_cast<int>(opts.match_metric);
    std::vector<double> overall_sum(samples.size(), 0.0);
    int64_t overall_n = 0;
    for (size_t pi = 0; pi < n_pairs; ++pi) {
        LayerPairReport lp;
        lp.teacher_layer = map.pairs[pi].teacher_layer;
        lp.student_block = map.pairs[pi].student_block;
        torch::Tensor st = torch::stack(pair_vals[pi]);  // (S, M, Ht, Hs)
        for (int m = 0; m < kNumMetrics; ++m)
            lp.metrics[m] = matrix_ci(st.select(1, m), opts.ci_level);
        const MatrixCi& mm = lp.metrics[mi];
        std::vector<double> cost(mm.values.size());
        for (size_t e = 0; e < cost.size(); ++e) {
            const double v = mm.values[e].mean;
            cost[e] = std::isfinite(v) ? match_cost(opts.match_metric, v) : kNaNCost;
        }
        Assignment as = hungarian(cost, mm.rows, mm.cols);
        lp.match = as.row_to_col;
        std::vector<double> per_sample(samples.size(), 0.0);
        int64_t n_matched = 0;
        for (int64_t r = 0; r < mm.rows; ++r) {
            if (lp.match[r] < 0) continue;
            ++n_matched;
            for (size_t s = 0; s < samples.size(); ++s)
                per_sample[s] += st[s][mi][r][lp.match[r]].item<double>();
        }
        for (size_t s = 0; s < samples.size(); ++s) {
            overall_sum[s] += per_sample[s];
            per_sample[s] /= static_cast<double>(std::max<int64_t>(n_matched, 1));
        }
        overall_n += n_matched;
        lp.matched_mean = mean_ci(per_sample, opts.ci_level);
        rep.pairs.push_back(std::move(lp));
    }
    for (double& v : overall_sum)
        v /= static_cast<double>(std::max<int64_t>(overall_n, 1));
    rep.mean_alignment = mean_ci(overall_sum, opts.ci_level);

    auto stats_report = [&](const std::string& scope,
                            const std::vector<torch::Tensor>& per_sample) {
        HeadStatsReport h;
        h.scope = scope;
        torch::Tensor st = torch::stack(per_sample);  // (Samples, S, L, H)
        for (int s = 0; s < kNumHeadStats; ++s)
            h.stats[s] = matrix_ci(st.select(1, s), opts.ci_level);
        return h;
    };
    rep.teacher_heads_stats = stats_report("teacher", t_stats);
    rep.student_heads_stats = stats_report("student", s_stats);
    if (!cka_lin.empty()) {
        rep.cka_linear = matrix_ci(torch::stack(cka_lin), opts.ci_level);
        rep.cka_rbf = matrix_ci(torch::stack(cka_rbf), opts.ci_level);
    }
    rep.logit_kl = mean_ci(kl, opts.ci_level);
    rep.logit_top1 = mean_ci(top1, opts.ci_level);
    torch::Tensor rl = torch::stack(roll).unsqueeze(2);  // (S, M, 1)
    MatrixCi rm = matrix_ci(rl, opts.ci_level);
    for (int m = 0; m < kNumMetrics; ++m)
        rep.rollout[m] = rm.values[m];
    return rep;
}

torch::Tensor repeated_random_tokens(int64_t n_seq, int64_t period, int64_t vocab, uint64_t seed) {
    DXL_CHECK(n_seq > 0 && period >= 2 && vocab > 1, ValueError,
              "repeated_random_tokens: expected n_seq > 0, period >= 2 and vocab > 1, but got ",
              n_seq, ", ", period, ", ", vocab);
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int64_t> dist(0, vocab - 1);
    torch::Tensor out = torch::empty({n_seq, 2 * period}, torch::kInt64);  // (n_seq, 2*period)
    auto a = out.accessor<int64_t, 2>();
    for (int64_t s = 0; s < n_seq; ++s)
        for (int64_t t = 0; t < period; ++t)
            a[s][t] = a[s][t + period] = dist(rng);
    return out;
}

std::vector<torch::Tensor> induction_scores(models::LanguageModel& model,
                                            const torch::Tensor& tokens, int64_t period,
                                            StudentNorm norm) {
    namespace pt = capture::point;
    DXL_CHECK(tokens.dim() == 2 && tokens.size(1) >= 2 * period, ShapeError,
              "induction_scores: expected tokens (n_seq, >= 2*period), but got ", tokens.sizes());
    const models::ModelInfo& info = model.info();
    const bool student = info.family == "xlstm";
    std::set<std::string> points;
    if (student)
        points = {pt::kImplicitAttn, pt::kMlstmIgatePre, pt::kMlstmFgatePre};
    else
        points = {pt::kAttnProbs};
    capture::MemorySink sink(points);
    torch::NoGradGuard no_grad;
    model.module().eval();
    model.forward(tokens, {}, &sink);
    const std::string scope = student ? "student" : "teacher";
    std::vector<torch::Tensor> out;
    for (int l = 0; l < static_cast<int>(info.n_layers); ++l) {
        torch::Tensor maps;  // (B, H, T, T)
        if (student) {
            if (info.block_types.at(l) != "mlstm") {
                out.emplace_back();
                continue;
            }
            torch::Tensor a = find(sink, {scope, l, pt::kImplicitAttn});
            torch::Tensor ig = find(sink, {scope, l, pt::kMlstmIgatePre});
            torch::Tensor fg = find(sink, {scope, l, pt::kMlstmFgatePre});
            std::vector<torch::Tensor> per;
            for (int64_t s = 0; s < tokens.size(0); ++s)
                per.push_back(normalize_map(a[s], ig[s], fg[s], norm, l));
            maps = torch::stack(per);
        } else {
            maps = find(sink, {scope, l, pt::kAttnProbs});
        }
        DXL_CHECK(maps.defined(), InternalError, "induction_scores: no attention captured for ",
                  scope, " layer ", l);
        std::vector<torch::Tensor> rows;
        for (int64_t s = 0; s < tokens.size(0); ++s)
            rows.push_back(induction_score(maps[s], period));
        out.push_back(torch::stack(rows));  // (n_seq, H)
    }
    return out;
}

void set_induction(HeadStatsReport& report, const std::vector<torch::Tensor>& scores,
                   double ci_level) {
    MatrixCi& m = report.stats[static_cast<int>(HeadStat::Induction)];
    for (int64_t l = 0; l < m.rows && l < static_cast<int64_t>(scores.size()); ++l) {
        if (!scores[l].defined()) continue;
        torch::Tensor s = scores[l].to(torch::kFloat64).contiguous();  // (n_seq, H)
        for (int64_t h = 0; h < m.cols && h < s.size(1); ++h) {
            std::vector<double> v(s.size(0));
            for (int64_t i = 0; i < s.size(0); ++i)
                v[i] = s[i][h].item<double>();
            m.values[l * m.cols + h] = mean_ci(v, ci_level);
        }
    }
}

}  // namespace dxl::analysis
