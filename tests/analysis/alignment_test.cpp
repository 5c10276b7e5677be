// End-to-end alignment on the golden tiny models (tests/data/golden/models): in-memory
// capture, ratio map, dataset aggregation, Hungarian matching, report writers and the induction
// score from a real forward.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/analysis/alignment.h"
#include "core/base/error.h"
#include "core/capture/memory_sink.h"
#include "core/models/language_model.h"
#include "core/models/registry.h"
#include "core/store/h5.h"
#include "tests/support/test_paths.h"

namespace dxl::analysis {
namespace {

// The golden GPT-2 (2 layers x 4 heads, vocab 97) and xLSTM (mLSTM + sLSTM block) models.
std::string model_dir(const char* name) {
    return std::string(DXL_TEST_DATA_DIR) + "/golden/models/" + name;
}

struct Tiny {
    std::unique_ptr<models::LanguageModel> teacher = models::load_model(model_dir("gpt2_2600"));
    std::unique_ptr<models::LanguageModel> student = models::load_model(model_dir("xlstm_lm_2520"));

    // Aligned inputs for a batch of token rows (B, T).
    std::vector<AlignmentInput> capture(const torch::Tensor& tokens) {
        torch::NoGradGuard ng;
        std::vector<std::string> tp = teacher_capture_points(), sp = student_capture_points();
        capture::MemorySink ts({tp.begin(), tp.end()}), ss({sp.begin(), sp.end()});
        teacher->module().eval();
        student->module().eval();
        torch::Tensor lt = teacher->forward(tokens, {}, &ts);  // (B, T, V)
        torch::Tensor ls = student->forward(tokens, {}, &ss);  // (B, T, V)
        std::vector<AlignmentInput> out;
        for (int64_t b = 0; b < tokens.size(0); ++b)
            out.push_back(input_from_memory(ts, ss, tokens, lt, ls, teacher->info().n_layers,
                                            student->info().block_types, b));
        return out;
    }
};

TEST(Alignment, TinyModelsEndToEnd) {
    Tiny m;
    ASSERT_EQ(m.student->info().block_types, (std::vector<std::string>{"mlstm", "slstm"}));
    torch::manual_seed(11);
    torch::Tensor tokens = torch::randint(0, 97, {3, 24}, torch::kInt64);  // (B, T)
    std::vector<AlignmentInput> samples = m.capture(tokens);
    ASSERT_EQ(samples.size(), 3u);
    ASSERT_EQ(samples[0].teacher_attn.size(), 2u);
    ASSERT_TRUE(samples[0].student_attn[0].defined());
    ASSERT_FALSE(samples[0].student_attn[1].defined());  // sLSTM block

    LayerMap map = ratio_layer_map(2, samples[0].student_block_types);  // all-blocks: L0 -> B0
    ASSERT_EQ(map.pairs.size(), 1u);
    EXPECT_EQ(map.pairs[0].teacher_layer, 0);
    AlignOptions opts;
    AlignmentReport r = align(samples, map, opts);
    ASSERT_EQ(r.pairs.size(), 1u);
    EXPECT_EQ(r.normalization, "abs-row");
    EXPECT_EQ(r.n_samples, 3);
    const LayerPairReport& p = r.pairs[0];
    ASSERT_EQ(p.metrics[0].rows, 4);
    ASSERT_EQ(p.metrics[0].cols, 4);

    // Per-sample values agree with a direct pair_metrics call; the mean is their average.
    double js_sum = 0;
    for (const auto& s : samples) {
        torch::Tensor a = normalize_student(s, 0, StudentNorm::AbsRow);
        js_sum += pair_metrics(s.teacher_attn[0], a, s.mask)[static_cast<int>(Metric::Js)][1][2]
                      .item<double>();
    }
    EXPECT_NEAR(p.metrics[static_cast<int>(Metric::Js)].at(1, 2).mean, js_sum / 3.0, 1e-12);
    EXPECT_EQ(p.metrics[0].at(1, 2).n, 3);
    EXPECT_GT(p.metrics[static_cast<int>(Metric::Js)].at(1, 2).half_width, 0.0);

    // The matching is a permutation and minimises the summed mean JS over all 24 permutations.
    std::vector<int64_t> perm = {0, 1, 2, 3};
    double best = 1e300;
    do {
        double s = 0;
        for (int h = 0; h < 4; ++h)
            s += p.metrics[static_cast<int>(Metric::Js)].at(h, perm[h]).mean;
        best = std::min(best, s);
    } while (std::next_permutation(perm.begin(), perm.end()));
    double got = 0;
    for (int h = 0; h < 4; ++h)
        got += p.metrics[static_cast<int>(Metric::Js)].at(h, p.match[h]).mean;
    EXPECT_NEAR(got, best, 1e-12);
    EXPECT_NEAR(r.mean_alignment.mean, got / 4.0, 1e-12);

    // Beyond maps: CKA (2 layers x 2 blocks), logits, rollout, head stats are all finite.
    ASSERT_EQ(r.cka_linear.rows, 2);
    ASSERT_EQ(r.cka_linear.cols, 2);
    for (const auto& v : r.cka_linear.values)
        EXPECT_TRUE(v.mean >= -1e-9 && v.mean <= 1 + 1e-9);
    EXPECT_EQ(r.logit_kl.n, 3);
    EXPECT_GT(r.logit_kl.mean, 0.0);
    EXPECT_TRUE(std::isfinite(r.rollout[static_cast<int>(Metric::Pearson)].mean));
    EXPECT_EQ(r.student_heads_stats.stats[0].rows, 2);
    EXPECT_TRUE(std::isnan(r.student_heads_stats.stats[0].at(1, 0).mean));  // sLSTM row
    EXPECT_TRUE(std::isfinite(r.teacher_heads_stats.stats[0].at(1, 3).mean));

    // Writers: CSV rows, JSON, and an /align group h5 can read back.
    const std::string dir = test::scratch_dir("align");
    write_summary_json(r, dir + "/summary.json");
    write_pairs_csv(r, dir + "/pairs.csv");
    write_heads_csv(r, dir + "/heads.csv");
    std::ifstream pc(dir + "/pairs.csv");
    int lines = 0;
    for (std::string s; std::getline(pc, s);)
        ++lines;
    EXPECT_EQ(lines, 1 + 16);
    {
        h5::File f(dir + "/a.h5", h5::File::Mode::Truncate);
        write_align_group(r, f.root());
    }
    h5::File f(dir + "/a.h5", h5::File::Mode::ReadOnly);
    h5::Dims d;
    auto vals = f.root().read<double>("align/pair_layer_00_block_00/metrics", &d);
    EXPECT_EQ(d, (h5::Dims{kNumMetrics, 4, 4}));
    EXPECT_DOUBLE_EQ(vals[static_cast<int>(Metric::Js) * 16 + 1 * 4 + 2],
                     p.metrics[2].at(1, 2).mean);
    EXPECT_EQ(f.root().attr_string("normalization", "align"), "abs-row");
}

TEST(Alignment, EveryNormalisationNamesItself) {
    Tiny m;
    torch::manual_seed(12);
    std::vector<AlignmentInput> samples = m.capture(torch::randint(0, 97, {1, 16}, torch::kInt64));
    LayerMap map = ratio_layer_map(2, samples[0].student_block_types, LayerGrouping::MlstmOnly);
    ASSERT_EQ(map.pairs.size(), 2u);  // both teacher layers -> block 0
    for (StudentNorm n : {StudentNorm::Raw, StudentNorm::AbsRow, StudentNorm::ReluRow,
                          StudentNorm::MinMax, StudentNorm::GateOnly}) {
        AlignOptions o;
        o.norm = n;
        o.match_metric = Metric::Pearson;
        AlignmentReport r = align(samples, map, o);
        EXPECT_EQ(r.normalization, to_string(n));
        EXPECT_EQ(r.pairs.size(), 2u);
        EXPECT_EQ(r.pairs[0].matched_mean.n, 1);
        EXPECT_EQ(r.pairs[0].matched_mean.half_width, 0.0);  // one sample: no interval
    }
    // Gate-only rows are distributions: the JS of G against itself is 0.
    torch::Tensor g = normalize_student(samples[0], 0, StudentNorm::GateOnly);
    torch::Tensor mm = pair_metrics(g, g, samples[0].mask);
    EXPECT_NEAR(mm[static_cast<int>(Metric::Js)][0][0].item<double>(), 0.0, 1e-12);
}

TEST(Alignment, StudentEqualToTeacherGivesZeroDistance) {
    // Student maps replaced by the teacher's P (signed and rescaled as a raw A could be).
    Tiny m;
    torch::manual_seed(13);
    std::vector<AlignmentInput> samples = m.capture(torch::randint(0, 97, {2, 20}, torch::kInt64));
    for (auto& s : samples)
        s.student_attn[0] = -2.0 * s.teacher_attn[0];
    AlignOptions o;
    o.match_metric = Metric::Frob;
    AlignmentReport r = align(samples, ratio_layer_map(2, samples[0].student_block_types), o);
    for (int64_t h = 0; h < 4; ++h)
        EXPECT_EQ(r.pairs[0].match[h], h);
    EXPECT_NEAR(r.mean_alignment.mean, 0.0, 1e-7);
}

TEST(Induction, RepeatedSequencesAndForward) {
    torch::Tensor t = repeated_random_tokens(3, 7, 97, 5);  // (3, 14)
    ASSERT_EQ(t.sizes(), (torch::IntArrayRef{3, 14}));
    EXPECT_TRUE(torch::equal(t.slice(1, 0, 7), t.slice(1, 7, 14)));
    EXPECT_TRUE(torch::equal(t, repeated_random_tokens(3, 7, 97, 5)));
    EXPECT_LT(t.max().item<int64_t>(), 97);
    Tiny m;
    auto ts = induction_scores(*m.teacher, t, 7);
    ASSERT_EQ(ts.size(), 2u);
    EXPECT_EQ(ts[0].sizes(), (torch::IntArrayRef{3, 4}));
    EXPECT_TRUE(torch::all(ts[1] >= 0).item<bool>() && torch::all(ts[1] <= 1).item<bool>());
    auto ss = induction_scores(*m.student, t, 7);
    ASSERT_EQ(ss.size(), 2u);
    EXPECT_TRUE(ss[0].defined());
    EXPECT_FALSE(ss[1].defined());
    // The score is the mean of the captured row entries at i - period + 1.
    std::vector<std::string> pts = {"attn_probs"};
    capture::MemorySink sink({pts.begin(), pts.end()});
    torch::NoGradGuard ng;
    m.teacher->forward(t, {}, &sink);
    torch::Tensor P = sink.values().at("teacher/layer_01/attn_probs");  // (3, H, T, T)
    double manual = 0;
    for (int64_t i = 7; i < 14; ++i)
        manual += P[2][3][i][i - 6].item<double>();
    EXPECT_NEAR(ts[1][2][3].item<double>(), manual / 7.0, 1e-6);
    HeadStatsReport hr;
    hr.stats[static_cast<int>(HeadStat::Induction)].rows = 2;
    hr.stats[static_cast<int>(HeadStat::Induction)].cols = 4;
    hr.stats[static_cast<int>(HeadStat::Induction)].values.resize(8);
    set_induction(hr, ts);
    EXPECT_EQ(hr.stats[static_cast<int>(HeadStat::Induction)].at(1, 3).n, 3);
}

}  // namespace
}  // namespace dxl::analysis
