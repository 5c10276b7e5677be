// Logit lens, shown maps and A/B differences against brute force: the last layer's read-out of
// every architecture (incl. xlstm_large's logit soft cap) equals log_softmax of forward()'s
// logits; KL rows and lens maps against double loops; the display filter's invariants; identical
// A/B inputs give exactly zero differences.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/analysis/ab_diff.h"
#include "core/analysis/display_maps.h"
#include "core/analysis/layer_map.h"
#include "core/analysis/lens.h"
#include "core/models/registry.h"
#include "tests/support/test_paths.h"

namespace {

using namespace dxl;

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

class LensFinalLayer : public ::testing::TestWithParam<const char*> {};

TEST_P(LensFinalLayer, EqualsLogSoftmaxOfForward) {
    torch::NoGradGuard no_grad;
    auto model = models::load_model(test::data_path(GetParam()));
    model->module().eval();
    const int64_t V = model->info().vocab_size;
    torch::manual_seed(1);
    torch::Tensor tokens = torch::randint(0, V, {17}, torch::kInt64);  // (T)
    analysis::Residuals r = analysis::residual_stream(*model, tokens);
    ASSERT_EQ(static_cast<int64_t>(r.hidden.size()), model->info().n_layers);
    analysis::LayerLens last = analysis::read_layer(*model, r.hidden.back(), 4);
    torch::Tensor logits = model->forward(tokens.unsqueeze(0))[0];  // (T, V)
    EXPECT_LT(max_abs_diff(last.logprobs, torch::log_softmax(logits.to(torch::kFloat64), -1)),
              1e-5);
    EXPECT_EQ(last.topk_ids.sizes(), (torch::IntArrayRef{17, 4}));
    // Lens maps: the final layer ranks the final top-1 first and has KL 0 to the output.
    analysis::LensMaps m = analysis::lens_maps(*model, r);
    EXPECT_EQ(m.final_rank[-1].max().item<int64_t>(), 0);
    EXPECT_LT(m.kl_to_final[-1].abs().max().item<float>(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Architectures, LensFinalLayer,
                         ::testing::Values("golden/models/gpt2_2600",
                                           "golden/models/llama_gqa_2710",
                                           "golden/models/xlstm_lm_2520",
                                           "golden_xlarge/xlarge_seed2800"));

TEST(Lens, KlRowsAndMapsAgainstLoops) {
    torch::manual_seed(2);
    torch::Tensor lp = torch::log_softmax(torch::randn({5, 7}), -1);  // (T, V)
    torch::Tensor lq = torch::log_softmax(torch::randn({5, 7}), -1);  // (T, V)
    torch::Tensor kl = analysis::kl_rows(lp, lq);
    for (int64_t t = 0; t < 5; ++t) {
        double s = 0;
        for (int64_t v = 0; v < 7; ++v) {
            const double p = std::exp(lp[t][v].item<double>());
            s += p * (lp[t][v].item<double>() - lq[t][v].item<double>());
        }
        EXPECT_NEAR(kl[t].item<double>(), s, 1e-6);
    }
    EXPECT_EQ(analysis::kl_rows(lp, lp).abs().max().item<float>(), 0.0f);
}

// A (T, T) causal row-stochastic map.
torch::Tensor random_probs(int64_t T, int64_t seed) {
    torch::manual_seed(seed);
    torch::Tensor causal = torch::ones({T, T}, torch::kBool).tril();
    return torch::softmax(torch::randn({T, T}).masked_fill(~causal, -INFINITY), -1);
}

TEST(DisplayFilter, TopKSinkAndThreshold) {
    const int64_t T = 9;
    torch::Tensor p = random_probs(T, 3);
    analysis::DisplayFilter f;
    f.drop_sink = true;
    f.top_k = 3;
    torch::Tensor out = analysis::apply_display_filter(p, f, false).to(torch::kFloat64);
    for (int64_t i = 0; i < T; ++i) {
        EXPECT_EQ(out[i][0].item<double>(), 0.0);
        const int64_t nz = (out[i].slice(0, 0, i + 1) != 0).sum().item<int64_t>();
        EXPECT_EQ(nz, std::min<int64_t>(3, i));  // row i has i causal cells after the sink
        // The kept cells are the largest of the renormalised row.
        if (i >= 4) {
            torch::Tensor row = p[i].slice(0, 1, i + 1).to(torch::kFloat64);
            row = row / row.sum();
            auto top = std::get<0>(row.topk(3));
            EXPECT_NEAR(out[i].sum().item<double>(), top.sum().item<double>(), 1e-6);
        }
    }
    analysis::DisplayFilter th;
    th.threshold = 0.2;
    torch::Tensor t = analysis::apply_display_filter(p, th, false);
    EXPECT_TRUE(((t == 0) | (t >= 0.2)).all().item<bool>());
    EXPECT_TRUE(torch::equal(analysis::apply_display_filter(p, {}, false), p));
    // Received: mean over the rows that can attend.
    std::vector<double> r = analysis::attention_received(p);
    double col0 = 0;
    for (int64_t i = 0; i < T; ++i)
        col0 += p[i][0].item<double>();
    EXPECT_NEAR(r[0], col0 / T, 1e-9);
    EXPECT_NEAR(r[T - 1], p[T - 1][T - 1].item<double>(), 1e-9);
}

TEST(AbDifference, IdenticalInputsGiveExactlyZero) {
    analysis::AlignmentInput a;
    a.tokens = torch::arange(6);
    a.mask = torch::ones({6}, torch::kBool);
    a.teacher_attn = {torch::stack({random_probs(6, 4), random_probs(6, 5)})};  // (2, 6, 6)
    a.student_attn = {torch::randn({3, 6, 6}).tril(), torch::Tensor()};
    a.student_block_types = {"mlstm", "slstm"};
    a.teacher_logits = torch::randn({6, 11});
    a.student_logits = torch::randn({6, 11});
    analysis::LayerMap map = analysis::ratio_layer_map(1, a.student_block_types);
    analysis::AbDifference d = analysis::ab_difference(a, a, map);
    EXPECT_EQ(d.t_common, 6);
    EXPECT_EQ(d.teacher_diff[0].abs().max().item<float>(), 0.0f);
    EXPECT_EQ(d.student_diff[0].abs().max().item<float>(), 0.0f);
    EXPECT_FALSE(d.student_diff[1].defined());
    EXPECT_EQ(d.teacher_kl.abs().max().item<float>(), 0.0f);
    ASSERT_EQ(d.dd.size(), 1u);
    EXPECT_EQ(d.dd[0].abs().max().item<float>(), 0.0f);
    EXPECT_TRUE(std::isnan(d.change_correlation[0]));
    // Unequal lengths: compared on the common prefix.
    analysis::AlignmentInput b = a;
    b.tokens = torch::arange(4);
    b.teacher_attn = {a.teacher_attn[0].slice(1, 0, 4).slice(2, 0, 4)};
    b.student_attn = {a.student_attn[0].slice(1, 0, 4).slice(2, 0, 4), torch::Tensor()};
    b.teacher_logits = a.teacher_logits.slice(0, 0, 4);
    b.student_logits = a.student_logits.slice(0, 0, 4);
    analysis::AbDifference e = analysis::ab_difference(a, b, map);
    EXPECT_EQ(e.t_common, 4);
    EXPECT_EQ(e.teacher_diff[0].sizes(), (torch::IntArrayRef{2, 4, 4}));
    EXPECT_EQ(e.teacher_diff[0].abs().max().item<float>(), 0.0f);
}

}  // namespace
