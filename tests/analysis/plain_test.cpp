// Torch-free parts of the alignment analysis: Hungarian vs brute force over all
// permutations (sizes <= 7, rectangular too), ratio layer maps (docs/method.md#layer-map examples),
// user
// maps, Student-t quantiles and mean/CI.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "core/analysis/hungarian.h"
#include "core/analysis/layer_map.h"
#include "core/analysis/stats.h"
#include "core/base/error.h"

namespace dxl::analysis {
namespace {

// Minimum total cost over all injective maps of the smaller side into the larger one.
double brute_force(const std::vector<double>& c, int64_t rows, int64_t cols) {
    const bool tr = rows > cols;
    const int64_t n = tr ? cols : rows, m = tr ? rows : cols;
    auto at = [&](int64_t i, int64_t j) { return tr ? c[j * cols + i] : c[i * cols + j]; };
    std::vector<int64_t> perm(m);
    std::iota(perm.begin(), perm.end(), 0);
    double best = std::numeric_limits<double>::infinity();
    do {  // permutations of m; the first n entries are the assignment (duplicates are harmless)
        double s = 0;
        for (int64_t i = 0; i < n; ++i)
            s += at(i, perm[i]);
        best = std::min(best, s);
    } while (std::next_permutation(perm.begin(), perm.end()));
    return best;
}

TEST(Hungarian, MatchesBruteForceUpToSeven) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1.0, 3.0);
    std::uniform_int_distribution<int> small(0, 3);
    int cases = 0;
    for (int64_t rows = 1; rows <= 7; ++rows)
        for (int64_t cols = 1; cols <= 7; ++cols)
            for (int rep = 0; rep < 3; ++rep) {
                std::vector<double> c(rows * cols);
                for (double& v : c)
                    v = rep == 2 ? small(rng) : u(rng);  // rep 2: many ties
                Assignment a = hungarian(c, rows, cols);
                ASSERT_EQ(static_cast<int64_t>(a.row_to_col.size()), rows);
                std::vector<int> used(cols, 0);
                int64_t matched = 0;
                for (int64_t r = 0; r < rows; ++r)
                    if (a.row_to_col[r] >= 0) {
                        ASSERT_LT(a.row_to_col[r], cols);
                        ASSERT_EQ(used[a.row_to_col[r]]++, 0) << "column used twice";
                        ++matched;
                    }
                EXPECT_EQ(matched, std::min(rows, cols));
                EXPECT_NEAR(a.total_cost, brute_force(c, rows, cols), 1e-9) << rows << "x" << cols;
                ++cases;
            }
    EXPECT_EQ(cases, 147);
}

TEST(Hungarian, RejectsBadInput) {
    EXPECT_THROW(hungarian({1.0, 2.0}, 2, 2), ShapeError);
    EXPECT_THROW(hungarian({1.0, std::nan("")}, 1, 2), ValueError);
    EXPECT_TRUE(hungarian({}, 0, 3).row_to_col.empty());
}

TEST(LayerMap, RatioGroupsFollowThePaper) {
    // docs/method.md#layer-map: 28 -> 6, s = 4, the last block gets layers 20-27.
    auto g = ratio_groups(28, 6);
    ASSERT_EQ(g.size(), 6u);
    EXPECT_EQ(g[0], (std::vector<int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(g[5], (std::vector<int64_t>{20, 21, 22, 23, 24, 25, 26, 27}));
    // Fewer teacher layers than blocks: single layers spread evenly.
    auto h = ratio_groups(2, 4);
    EXPECT_EQ(h[0], std::vector<int64_t>{0});
    EXPECT_EQ(h[3], std::vector<int64_t>{1});
}

TEST(LayerMap, AllBlocksVersusMlstmOnly) {
    // docs/method.md#layer-map: 28 layers, 6 blocks with mLSTM at 1, 3, 5.
    std::vector<std::string> types = {"slstm", "mlstm", "slstm", "mlstm", "slstm", "mlstm"};
    LayerMap a = ratio_layer_map(28, types, LayerGrouping::AllBlocks);
    ASSERT_EQ(a.pairs.size(), 4u + 4u + 8u);
    EXPECT_EQ(a.pairs.front().teacher_layer, 4);
    EXPECT_EQ(a.pairs.front().student_block, 1);
    EXPECT_EQ(a.pairs.back().teacher_layer, 27);
    EXPECT_EQ(a.pairs.back().student_block, 5);
    LayerMap m = ratio_layer_map(28, types, LayerGrouping::MlstmOnly);  // 9, 9, 10
    ASSERT_EQ(m.pairs.size(), 28u);
    int64_t n1 = 0, n5 = 0;
    for (const auto& p : m.pairs) {
        n1 += p.student_block == 1;
        n5 += p.student_block == 5;
    }
    EXPECT_EQ(n1, 9);
    EXPECT_EQ(n5, 10);
    EXPECT_EQ(m.source, "ratio/mlstm-only");
    EXPECT_THROW(ratio_layer_map(4, {"slstm"}), ValueError);
    EXPECT_EQ(all_pairs_layer_map(3, types).pairs.size(), 9u);
}

TEST(LayerMap, UserJson) {
    std::vector<std::string> types = {"mlstm", "slstm", "mlstm"};
    LayerMap a = parse_layer_map_json(R"({"blocks": {"2": [3, 1], "0": [0]}})", "m.json", 4, types);
    ASSERT_EQ(a.pairs.size(), 3u);
    EXPECT_EQ(a.pairs[0].student_block, 0);
    EXPECT_EQ(a.pairs[1].teacher_layer, 1);
    EXPECT_EQ(a.pairs[2].teacher_layer, 3);
    LayerMap b = parse_layer_map_json(R"({"pairs": [[1, 2], [1, 2]]})", "p.json", 4, types);
    EXPECT_EQ(b.pairs.size(), 1u);  // duplicates removed
    EXPECT_THROW(parse_layer_map_json(R"({"pairs": [[0, 1]]})", "x", 4, types),
                 ValueError);  // sLSTM block
    EXPECT_THROW(parse_layer_map_json(R"({"pairs": [[9, 0]]})", "x", 4, types),
                 ValueError);  // layer range
    EXPECT_THROW(parse_layer_map_json(R"({"blocks": {"a": [0]}})", "x", 4, types), FormatError);
    EXPECT_THROW(parse_layer_map_json("{nope", "x", 4, types), FormatError);
    EXPECT_THROW(load_layer_map_file("/nonexistent/map.json", 4, types), IoError);
}

TEST(Stats, StudentTQuantiles) {
    // Textbook values (two-sided 95 %: t_{0.975, df}).
    EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706204736, 1e-7);
    EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776445105, 1e-8);
    EXPECT_NEAR(student_t_quantile(0.975, 30), 2.042272456, 1e-8);
    EXPECT_NEAR(student_t_quantile(0.025, 9), -2.262157163, 1e-8);
    EXPECT_NEAR(student_t_cdf(0.0, 3), 0.5, 1e-15);
}

TEST(Stats, MeanCi) {
    MeanCi m = mean_ci({1.0, 2.0, 3.0, 4.0});
    EXPECT_DOUBLE_EQ(m.mean, 2.5);
    EXPECT_NEAR(m.stddev, std::sqrt(5.0 / 3.0), 1e-12);
    EXPECT_NEAR(m.half_width, 3.182446305 * std::sqrt(5.0 / 3.0) / 2.0, 1e-8);
    MeanCi one = mean_ci({0.7, std::nan("")});
    EXPECT_EQ(one.n, 1);
    EXPECT_DOUBLE_EQ(one.half_width, 0.0);
    EXPECT_TRUE(std::isnan(mean_ci({}).mean));
}

}  // namespace
}  // namespace dxl::analysis
