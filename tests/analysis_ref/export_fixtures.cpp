// Exports random fixtures with the C++ alignment results to DXL_ALIGN_FIXTURE (HDF5) for the
// independent numpy/scipy check in check_alignment_ref.py. Part of analysis_tests;
// ctest runs the python check after it (FIXTURES_SETUP/REQUIRED).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <random>

#include "core/analysis/hungarian.h"
#include "core/analysis/metrics.h"
#include "core/analysis/stats.h"
#include "core/models/mlstm_cell.h"
#include "core/store/h5.h"

namespace dxl::analysis {
namespace {

void put(const h5::Group& g, const std::string& name, const torch::Tensor& t) {
    torch::Tensor c = t.to(torch::kFloat64).contiguous();  // any shape
    g.write<double>(name, c.data_ptr<double>(), h5::Dims(c.sizes().begin(), c.sizes().end()));
}

torch::Tensor random_softmax(int64_t H, int64_t T) {
    torch::Tensor logits = torch::randn({H, T, T}, torch::kFloat64) * 1.5;  // (H, T, T)
    torch::Tensor causal = torch::ones({T, T}, torch::kBool).tril();
    return torch::softmax(logits.masked_fill(causal.logical_not(), -INFINITY), -1);
}

// Random signed causal map like a raw mLSTM A (H, T, T).
torch::Tensor random_signed(int64_t H, int64_t T) {
    return (torch::randn({H, T, T}, torch::kFloat64) * 0.3 + 0.05).tril();
}

TEST(RefFixtures, Export) {
    const std::string path = DXL_ALIGN_FIXTURE;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    h5::File f(path, h5::File::Mode::Truncate);
    const h5::Group& root = f.root();
    torch::manual_seed(2024);
    namespace mlstm = models::mlstm;

    struct Case {
        int64_t Ht, Hs, T, top_k;
        std::vector<int64_t> pads;
        mlstm::AttnNorm norm;
    };
    const std::vector<Case> cases = {{3, 4, 10, 5, {}, mlstm::AttnNorm::AbsRow},
                                     {2, 3, 12, 3, {0, 10, 11}, mlstm::AttnNorm::ReluRow},
                                     {4, 2, 9, 4, {8}, mlstm::AttnNorm::Raw},
                                     {2, 2, 11, 2, {}, mlstm::AttnNorm::MinMax}};
    for (size_t c = 0; c < cases.size(); ++c) {
        const Case& k = cases[c];
        h5::Group g = root.create_group("pairs/case_" + std::to_string(c));
        torch::Tensor P = random_softmax(k.Ht, k.T);  // (Ht, T, T)
        torch::Tensor A =
            mlstm::normalize_attention(random_signed(k.Hs, k.T), k.norm);  // (Hs, T, T)
        if (c == 1)
            A.index_put_({1, torch::indexing::Slice(), torch::indexing::Slice(0, 3)},
                         0.0);  // many ties
        torch::Tensor mask = torch::ones({k.T}, torch::kBool);
        for (int64_t p : k.pads)
            mask[p] = false;
        MetricOptions o;
        o.top_k = k.top_k;
        put(g, "P", P);
        put(g, "A", A);
        put(g, "mask", mask);
        put(g, "metrics", pair_metrics(P, A, mask, o));
        put(g, "stats_P", head_stats(P, mask));
        put(g, "stats_A", head_stats(A, mask));
        g.set_attr("eps", o.eps);
        g.set_attr("top_k", o.top_k);
        g.set_attr("normalization", mlstm::to_string(k.norm));
    }

    // Hungarian on rectangular random matrices.
    std::mt19937 rng(99);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const std::vector<std::pair<int64_t, int64_t>> shapes = {{3, 5},   {6, 4},  {7, 7},
                                                             {12, 12}, {9, 16}, {16, 9}};
    for (size_t s = 0; s < shapes.size(); ++s) {
        const auto [r, c] = shapes[s];
        std::vector<double> cost(r * c);
        for (double& v : cost)
            v = u(rng);
        Assignment a = hungarian(cost, r, c);
        h5::Group g = root.create_group("hungarian/case_" + std::to_string(s));
        g.write<double>("cost", cost, {static_cast<hsize_t>(r), static_cast<hsize_t>(c)});
        g.write<int64_t>("row_to_col", a.row_to_col, {static_cast<hsize_t>(r)});
        g.set_attr("total_cost", a.total_cost);
    }

    // Student t quantiles and mean/CI.
    {
        h5::Group g = root.create_group("t");
        std::vector<double> ps = {0.975, 0.975, 0.975, 0.995, 0.9, 0.025, 0.6};
        std::vector<double> dfs = {1, 2, 7, 12, 29, 100, 3.5};
        std::vector<double> q;
        for (size_t i = 0; i < ps.size(); ++i)
            q.push_back(student_t_quantile(ps[i], dfs[i]));
        const auto n = static_cast<hsize_t>(ps.size());
        g.write<double>("p", ps, {n});
        g.write<double>("df", dfs, {n});
        g.write<double>("q", q, {n});
        std::vector<double> samples = {0.31, 0.27, 0.45, 0.38, 0.29, 0.33};
        MeanCi m = mean_ci(samples, 0.95);
        g.write<double>("samples", samples, {samples.size()});
        g.set_attr("mean", m.mean);
        g.set_attr("half_width", m.half_width);
    }

    // CKA between 2 "teacher layers" and 2 "student blocks" with a pad.
    {
        h5::Group g = root.create_group("cka");
        const int64_t T = 15;
        std::vector<torch::Tensor> X = {torch::randn({T, 6}, torch::kFloat64),
                                        torch::randn({T, 6}, torch::kFloat64)};
        std::vector<torch::Tensor> Y = {X[0].mm(torch::randn({6, 4}, torch::kFloat64)) +
                                            0.1 * torch::randn({T, 4}, torch::kFloat64),
                                        torch::randn({T, 4}, torch::kFloat64)};
        torch::Tensor mask = torch::ones({T}, torch::kBool);
        mask[T - 1] = false;
        put(g, "X", torch::stack(X));
        put(g, "Y", torch::stack(Y));
        put(g, "mask", mask);
        put(g, "linear", cka_matrix(X, Y, mask, false));
        put(g, "rbf", cka_matrix(X, Y, mask, true, 0.8));
        g.set_attr("sigma_factor", 0.8);
    }

    // Logit agreement.
    {
        h5::Group g = root.create_group("logits");
        torch::Tensor zt = torch::randn({9, 13}, torch::kFloat64) * 2;   // (T, V)
        torch::Tensor zs = zt + torch::randn({9, 13}, torch::kFloat64);  // (T, V)
        torch::Tensor mask = torch::ones({9}, torch::kBool);
        mask[0] = false;
        LogitAgreement a = logit_agreement(zt, zs, mask);
        put(g, "teacher", zt);
        put(g, "student", zs);
        put(g, "mask", mask);
        put(g, "kl", a.kl);
        g.set_attr("kl_mean", a.kl_mean);
        g.set_attr("top1_mean", a.top1_mean);
    }

    // Rollout over 3 layers (the middle one without mixing) with a pad.
    {
        h5::Group g = root.create_group("rollout");
        const int64_t T = 8;
        torch::Tensor l0 = random_softmax(3, T), l2 = random_softmax(3, T);
        torch::Tensor mask = torch::ones({T}, torch::kBool);
        mask[T - 1] = false;
        put(g, "layer_0", l0);
        put(g, "layer_2", l2);
        put(g, "mask", mask);
        put(g, "rollout", rollout({l0, torch::Tensor(), l2}, mask));
    }

    // Induction score on a random map.
    {
        h5::Group g = root.create_group("induction");
        torch::Tensor P = random_softmax(2, 13);
        put(g, "P", P);
        put(g, "score", induction_score(P, 6, 1));
        g.set_attr("period", int64_t{6});
        g.set_attr("offset", int64_t{1});
    }
    f.flush();
}

}  // namespace
}  // namespace dxl::analysis
