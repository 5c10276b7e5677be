// Alignment metrics on cases with known answers: a head against itself, a synthetic
// previous-token head, a student map built to equal P, perfect induction, rollout identities,
// CKA invariances, logits against themselves, and pad handling.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/analysis/metrics.h"
#include "core/base/error.h"
#include "core/models/mlstm_cell.h"

namespace dxl::analysis {
namespace {

// Random causal softmax maps (H, T, T).
torch::Tensor random_softmax(int64_t H, int64_t T, double scale = 2.0) {
    torch::Tensor logits = torch::randn({H, T, T}, torch::kFloat64) * scale;  // (H, T, T)
    torch::Tensor causal = torch::ones({T, T}, torch::kBool).tril();          // (T, T)
    return torch::softmax(logits.masked_fill(causal.logical_not(), -INFINITY), -1);
}

double metric(const torch::Tensor& m, Metric k, int64_t i, int64_t j) {
    return m[static_cast<int>(k)][i][j].item<double>();
}

TEST(PairMetrics, HeadAgainstItself) {
    torch::manual_seed(1);
    torch::Tensor P = random_softmax(3, 16);  // (3, T, T)
    torch::Tensor mask = torch::ones({16}, torch::kBool);
    torch::Tensor m = pair_metrics(P, P, mask);  // (M, 3, 3)
    ASSERT_EQ(m.sizes(), (torch::IntArrayRef{kNumMetrics, 3, 3}));
    for (int64_t h = 0; h < 3; ++h) {
        EXPECT_NEAR(metric(m, Metric::Frob, h, h), 0.0, 1e-7);
        EXPECT_NEAR(metric(m, Metric::Kl, h, h), 0.0, 1e-12);
        EXPECT_NEAR(metric(m, Metric::Js, h, h), 0.0, 1e-12);
        EXPECT_NEAR(metric(m, Metric::Pearson, h, h), 1.0, 1e-12);
        EXPECT_NEAR(metric(m, Metric::Spearman, h, h), 1.0, 1e-12);
        EXPECT_NEAR(metric(m, Metric::Cosine, h, h), 1.0, 1e-12);
        EXPECT_NEAR(metric(m, Metric::TopK, h, h), 1.0, 1e-12);
    }
    // Different heads are further apart than a head from itself.
    EXPECT_GT(metric(m, Metric::Js, 0, 1), 1e-3);
    EXPECT_LT(metric(m, Metric::Pearson, 0, 1), 0.999);
    // JS is symmetric and bounded by ln 2; KL is not symmetric in general.
    EXPECT_NEAR(metric(m, Metric::Js, 0, 1), metric(m, Metric::Js, 1, 0), 1e-12);
    EXPECT_LE(metric(m, Metric::Js, 0, 1), std::log(2.0));
}

TEST(PairMetrics, StudentBuiltToEqualP) {
    // A raw signed student map whose |A| row-normalised equals P (signs flipped on half the rows
    // and rows scaled): the abs-row normalisation must recover P exactly.
    torch::manual_seed(2);
    torch::Tensor P = random_softmax(2, 12);  // (2, T, T)
    torch::Tensor sign = torch::where(torch::arange(12) % 2 == 0, 1.0, -1.0).to(torch::kFloat64);
    torch::Tensor A = P * sign.view({1, 12, 1}) * 0.37;  // (2, T, T)
    torch::Tensor Ahat = models::mlstm::normalize_attention(A, models::mlstm::AttnNorm::AbsRow);
    torch::Tensor m = pair_metrics(P, Ahat, torch::ones({12}, torch::kBool));
    for (int64_t h = 0; h < 2; ++h) {
        EXPECT_NEAR(metric(m, Metric::Frob, h, h), 0.0, 1e-7);
        EXPECT_NEAR(metric(m, Metric::Js, h, h), 0.0, 1e-12);
        EXPECT_NEAR(metric(m, Metric::Spearman, h, h), 1.0, 1e-12);
    }
}

TEST(PairMetrics, PadsAreExcluded) {
    // Changing anything in pad rows/columns must not change any metric.
    torch::manual_seed(3);
    torch::Tensor P = random_softmax(2, 10), A = random_softmax(3, 10);
    torch::Tensor mask = torch::ones({10}, torch::kBool);
    mask[0] = false;  // left pad
    mask[8] = false;
    mask[9] = false;
    torch::Tensor m1 = pair_metrics(P, A, mask);
    torch::Tensor P2 = P.clone(), A2 = A.clone();
    P2.index_put_({torch::indexing::Slice(), 8}, 5.0);                            // pad row
    A2.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), 0}, 3.0);  // pad column
    torch::Tensor m2 = pair_metrics(P2, A2, mask);
    EXPECT_TRUE(torch::allclose(m1, m2, 1e-12, 1e-12));
    EXPECT_THROW(pair_metrics(P, A, torch::zeros({10}, torch::kBool)), ValueError);
    EXPECT_THROW(pair_metrics(P, A.slice(1, 0, 9), mask), ShapeError);
}

TEST(HeadStats, SyntheticPreviousTokenHead) {
    const int64_t T = 9;
    torch::Tensor P = torch::zeros({1, T, T}, torch::kFloat64);  // (1, T, T)
    P[0][0][0] = 1.0;
    for (int64_t i = 1; i < T; ++i)
        P[0][i][i - 1] = 1.0;
    torch::Tensor s = head_stats(P, torch::ones({T}, torch::kBool));  // (S, 1)
    EXPECT_NEAR(s[static_cast<int>(HeadStat::PrevToken)][0].item<double>(), 1.0, 1e-15);
    EXPECT_NEAR(s[static_cast<int>(HeadStat::Diagonal)][0].item<double>(), 1.0 / T, 1e-15);
    EXPECT_NEAR(s[static_cast<int>(HeadStat::Distance)][0].item<double>(), (T - 1.0) / T, 1e-15);
    EXPECT_NEAR(s[static_cast<int>(HeadStat::Entropy)][0].item<double>(), 0.0, 1e-15);
    EXPECT_NEAR(s[static_cast<int>(HeadStat::Sink)][0].item<double>(), 2.0 / T,
                1e-15);  // rows 0 and 1
    EXPECT_TRUE(std::isnan(s[static_cast<int>(HeadStat::Induction)][0].item<double>()));
}

TEST(HeadStats, UniformHeadEntropyAndSink) {
    const int64_t T = 7;
    torch::Tensor causal = torch::ones({T, T}, torch::kFloat64).tril();  // (T, T)
    torch::Tensor P = (causal / causal.sum(-1, true)).unsqueeze(0);      // (1, T, T)
    torch::Tensor s = head_stats(P, torch::ones({T}, torch::kBool));
    double ent = 0, sink = 0, dist = 0;
    for (int64_t i = 0; i < T; ++i) {
        ent += std::log(i + 1.0);
        sink += 1.0 / (i + 1.0);
        dist += i / 2.0;
    }
    EXPECT_NEAR(s[static_cast<int>(HeadStat::Entropy)][0].item<double>(), ent / T, 1e-12);
    EXPECT_NEAR(s[static_cast<int>(HeadStat::Sink)][0].item<double>(), sink / T, 1e-12);
    EXPECT_NEAR(s[static_cast<int>(HeadStat::Distance)][0].item<double>(), dist / T, 1e-12);
}

TEST(Induction, PerfectInductionHead) {
    const int64_t n = 5, T = 2 * n + 1;  // offset 1 (a BOS-like first token)
    torch::Tensor P = torch::zeros({2, T, T}, torch::kFloat64);
    for (int64_t i = 0; i < T; ++i) {
        P[0][i][0] = 1.0;  // head 0: sink only
        P[1][i][i >= 1 + n ? i - n + 1 : 0] = 1.0;
    }
    torch::Tensor s = induction_score(P, n, 1);  // (2)
    EXPECT_NEAR(s[0].item<double>(), 0.0, 1e-15);
    EXPECT_NEAR(s[1].item<double>(), 1.0, 1e-15);
    EXPECT_THROW(induction_score(P, n, 2), ValueError);
}

TEST(Rollout, IdentityAndSingleLayer) {
    const int64_t T = 6;
    torch::Tensor mask = torch::ones({T}, torch::kBool);
    torch::Tensor r0 = rollout({torch::Tensor(), torch::Tensor()}, mask);  // no mixing: identity
    EXPECT_TRUE(torch::allclose(r0, torch::eye(T, torch::kFloat64)));
    torch::manual_seed(4);
    torch::Tensor P = random_softmax(3, T);
    torch::Tensor r1 = rollout({P}, mask);
    torch::Tensor expect = 0.5 * (P.mean(0) + torch::eye(T, torch::kFloat64));
    EXPECT_TRUE(torch::allclose(r1, expect, 1e-12, 1e-12));
    torch::Tensor r2 = rollout({P, P}, mask);
    EXPECT_TRUE(torch::allclose(r2, expect.mm(expect), 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(r2.sum(-1), torch::ones({T}, torch::kFloat64), 1e-12, 1e-12));
}

TEST(Cka, InvariancesAndRange) {
    torch::manual_seed(5);
    torch::Tensor X = torch::randn({20, 6}, torch::kFloat64);  // (T, D)
    torch::Tensor Q =
        std::get<0>(torch::linalg::qr(torch::randn({6, 6}, torch::kFloat64)));  // orthogonal
    torch::Tensor Y = X.mm(Q) * 3.0 + 1.5;  // rotated, scaled, shifted
    torch::Tensor Z = torch::randn({20, 4}, torch::kFloat64);
    torch::Tensor mask = torch::ones({20}, torch::kBool);
    torch::Tensor lin = cka_matrix({X}, {Y, Z, torch::Tensor()}, mask, false);  // (1, 3)
    EXPECT_NEAR(lin[0][0].item<double>(), 1.0, 1e-12);
    EXPECT_LT(lin[0][1].item<double>(), 0.9);
    EXPECT_TRUE(std::isnan(lin[0][2].item<double>()));
    torch::Tensor rbf = cka_matrix({X}, {X.mm(Q) + 2.0}, mask, true);  // distances preserved
    EXPECT_NEAR(rbf[0][0].item<double>(), 1.0, 1e-12);
}

TEST(Logits, AgainstThemselves) {
    torch::manual_seed(6);
    torch::Tensor z = torch::randn({8, 11});  // (T, V)
    torch::Tensor mask = torch::ones({8}, torch::kBool);
    LogitAgreement a = logit_agreement(z, z, mask);
    EXPECT_NEAR(a.kl_mean, 0.0, 1e-12);
    EXPECT_DOUBLE_EQ(a.top1_mean, 1.0);
    LogitAgreement b = logit_agreement(z, -z, mask);
    EXPECT_GT(b.kl_mean, 0.1);
    EXPECT_DOUBLE_EQ(b.top1_mean, 0.0);
    EXPECT_THROW(logit_agreement(z, z.slice(1, 0, 10), mask), ShapeError);
}

TEST(Ranks, AverageTies) {
    torch::Tensor x = torch::tensor({3.0, 1.0, 3.0, 2.0, 1.0}, torch::kFloat64).unsqueeze(0);
    torch::Tensor r = average_ranks(x);
    torch::Tensor expect = torch::tensor({4.5, 1.5, 4.5, 3.0, 1.5}, torch::kFloat64).unsqueeze(0);
    EXPECT_TRUE(torch::equal(r, expect));
}

// The metric definitions as dense float64 tensor operations (the previous implementation):
// a slow reference for the one-pass features and the blocked pair kernel.
torch::Tensor dense_reference(const torch::Tensor& P, const torch::Tensor& A,
                              const torch::Tensor& mask, const MetricOptions& opts) {
    const int64_t Ht = P.size(0), Hs = A.size(0), T = P.size(1);
    const double R = static_cast<double>(mask.sum().item<int64_t>());
    torch::Tensor cv = causal_valid(mask);                  // (T, T)
    torch::Tensor idx = cv.flatten().nonzero().squeeze(1);  // (E)
    auto entries = [&](const torch::Tensor& x) {            // (H, T, T) -> (H, E)
        return x.to(torch::kFloat64).reshape({x.size(0), T * T}).index_select(1, idx);
    };
    auto center_unit = [](const torch::Tensor& x) {
        torch::Tensor c = x - x.mean(1, true);
        return c / c.norm(2, 1, true);
    };
    torch::Tensor p = entries(P), a = entries(A);  // (H, E)
    torch::Tensor out = torch::empty({kNumMetrics, Ht, Hs}, torch::kFloat64);
    torch::Tensor sq =
        p.square().sum(1).unsqueeze(1) + a.square().sum(1).unsqueeze(0) - 2.0 * p.mm(a.t());
    out[static_cast<int>(Metric::Frob)] = sq.clamp_min(0.0).sqrt() / R;
    out[static_cast<int>(Metric::Pearson)] = center_unit(p).mm(center_unit(a).t());
    out[static_cast<int>(Metric::Spearman)] =
        center_unit(average_ranks(p)).mm(center_unit(average_ranks(a)).t());
    out[static_cast<int>(Metric::Cosine)] =
        (p / p.norm(2, 1, true)).mm((a / a.norm(2, 1, true)).t());
    torch::Tensor dp = entries(row_distributions(P, mask, opts.eps));  // (Ht, E)
    torch::Tensor da = entries(row_distributions(A, mask, opts.eps));  // (Hs, E)
    torch::Tensor pl = (dp * dp.log()).sum(1), al = (da * da.log()).sum(1);
    out[static_cast<int>(Metric::Kl)] = (pl.unsqueeze(1) - dp.mm(da.log().t())) / R;
    torch::Tensor m = 0.5 * (dp.unsqueeze(1) + da.unsqueeze(0));  // (Ht, Hs, E)
    out[static_cast<int>(Metric::Js)] =
        (0.5 * pl.unsqueeze(1) + 0.5 * al.unsqueeze(0) - (m * m.log()).sum(-1)) / R;
    auto indicators = [&](const torch::Tensor& x) {  // (H, T, T) float64 top-k indicators
        torch::Tensor xm = x.to(torch::kFloat64).masked_fill(cv.logical_not(), -INFINITY);
        torch::Tensor ind = std::get<1>(xm.topk(std::min(opts.top_k, T), -1));
        return torch::zeros(xm.sizes(), torch::kFloat64).scatter_(-1, ind, 1.0) *
               cv.to(torch::kFloat64);
    };
    torch::Tensor inter = indicators(P).permute({1, 0, 2}).bmm(indicators(A).permute({1, 2, 0}));
    torch::Tensor kr =
        cv.sum(-1).clamp_max(opts.top_k).to(torch::kFloat64).view({T, 1, 1});  // (T, 1, 1)
    torch::Tensor jac =
        torch::where(kr > 0, inter / (2.0 * kr - inter).clamp_min(1.0), torch::zeros_like(inter));
    out[static_cast<int>(Metric::TopK)] = jac.sum(0) / R;
    return out;
}

void expect_metrics_near(const torch::Tensor& got, const torch::Tensor& want, double tol,
                         double js_tol, const std::string& what) {
    for (int m = 0; m < kNumMetrics; ++m) {
        const double t = m == static_cast<int>(Metric::Js) ? js_tol : tol;
        const double err = (got[m] - want[m]).abs().max().item<double>();
        EXPECT_LE(err, t) << what << ": " << to_string(kAllMetrics[m]);
    }
}

TEST(PairMetrics, MatchDenseDefinitionsOnBothKernels) {
    // Float32 and float64 maps with pads, E above one kernel block (512) and not a multiple of 8:
    // the one-pass features and the blocked pair sums against the dense float64 definitions, on
    // the portable and (where the CPU has it) the AVX2+FMA kernel.
    torch::manual_seed(7);
    const int64_t T = 41;
    torch::Tensor mask = torch::ones({T}, torch::kBool);
    mask[0] = false;
    mask[17] = false;
    mask[40] = false;
    MetricOptions opts;
    opts.top_k = 4;
    std::vector<PairKernel> kernels = {PairKernel::Portable};
    if (active_pair_kernel() == PairKernel::Avx2) kernels.push_back(PairKernel::Avx2);
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
        torch::Tensor P = random_softmax(3, T).to(dtype);
        torch::Tensor A = models::mlstm::normalize_attention(
            torch::randn({4, T, T}, torch::kFloat64).tril().to(dtype));
        torch::Tensor want = dense_reference(P, A, mask, opts);
        std::vector<torch::Tensor> got;
        for (PairKernel k : kernels) {
            set_pair_kernel(k);
            got.push_back(pair_metrics(P, A, mask, opts));
            // JS: float32 s log s lanes (~3e-8 here); the scipy check allows 1e-7.
            expect_metrics_near(got.back(), want, 1e-12, 1e-7,
                                k == PairKernel::Avx2 ? "avx2" : "portable");
        }
        set_pair_kernel(PairKernel::Auto);
        if (got.size() == 2) expect_metrics_near(got[0], got[1], 1e-13, 1e-7, "portable vs avx2");
    }
}

TEST(LayerSummary, SharesHeadStatsAndRolloutInput) {
    torch::manual_seed(8);
    const int64_t T = 23;
    torch::Tensor mask = torch::ones({T}, torch::kBool);
    mask[1] = false;
    mask[22] = false;
    torch::Tensor P = random_softmax(3, T).to(torch::kFloat32);
    LayerSummary s = summarize_layer(P, mask, {}, true);
    EXPECT_TRUE(torch::allclose(s.stats, head_stats(P, mask), 1e-14, 1e-14, true));
    torch::Tensor m = row_distributions(P, mask, 0.0).mean(0);  // (T, T)
    EXPECT_TRUE(torch::allclose(s.mean_dist, m, 1e-14, 1e-14));
    PairFeatures f = pair_features(P, mask);
    EXPECT_TRUE(torch::equal(pair_metrics(s.features, f), pair_metrics(f, f)));
    // A rollout fed step by step equals rollout().
    torch::Tensor r = rollout_step(rollout_start(mask), s.mean_dist, mask);
    r = rollout_step(r, torch::Tensor(), mask);
    EXPECT_TRUE(torch::allclose(r, rollout({P, torch::Tensor()}, mask), 1e-14, 1e-14));
}

}  // namespace
}  // namespace dxl::analysis
