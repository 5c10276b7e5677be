// Curve math behind the loss plots: Gaussian and running-mean
// smoothing with NaN gaps and edges, percentile autoscale ranges. Hand-computed small vectors.
#include <gtest/gtest.h>

#include <cmath>

#include "widgets/curve_math.h"

using dxl::Series;
using namespace dxl::widgets;

namespace {
const double kNaN = std::nan("");
const std::vector<double> kKeys = {0, 1, 2, 3, 4};
const std::vector<double> kValues = {1, 2, kNaN, 4, 8};  // a NaN gap and two edges
}  // namespace

TEST(CurveMath, RunningMeanHandComputedWithNaNAndEdges) {
    // Window 3 = steps [k - 1.5, k + 1.5): the mean of the finite neighbours.
    //   k0: {1, 2} = 1.5 (left edge)   k1: {1, 2, NaN} = 1.5   k2: {2, NaN, 4} = 3 (the gap)
    //   k3: {NaN, 4, 8} = 6            k4: {4, 8} = 6 (right edge)
    const auto m = runningMean(kKeys, kValues, 3);
    ASSERT_EQ(m.size(), 5u);
    EXPECT_DOUBLE_EQ(m[0], 1.5);
    EXPECT_DOUBLE_EQ(m[1], 1.5);
    EXPECT_DOUBLE_EQ(m[2], 3.0);
    EXPECT_DOUBLE_EQ(m[3], 6.0);
    EXPECT_DOUBLE_EQ(m[4], 6.0);
    // An even window is half-open: 4 steps at k2 are {0, 1, 2, 3} -> (1 + 2 + 4) / 3.
    EXPECT_DOUBLE_EQ(runningMean(kKeys, kValues, 4)[2], 7.0 / 3.0);
    // Window 1 keeps the data (the NaN stays a gap).
    const auto one = runningMean(kKeys, kValues, 1);
    EXPECT_DOUBLE_EQ(one[3], 4.0);
    EXPECT_TRUE(std::isnan(one[2]));
}

TEST(CurveMath, GaussianHandComputedWithNaNAndEdges) {
    // sigma = 1 step, truncated at 3 sigma: w(d) = exp(-d^2 / 2) for |d| <= 3.
    const double w1 = std::exp(-0.5), w2 = std::exp(-2.0), w3 = std::exp(-4.5);
    const auto g = gaussianSmooth(kKeys, kValues, 1.0);
    ASSERT_EQ(g.size(), 5u);
    // k0 (left edge): samples at d = 0, 1, 3 (d = 2 is NaN); weights renormalised over them.
    EXPECT_NEAR(g[0], (1 * 1 + 2 * w1 + 4 * w3) / (1 + w1 + w3), 1e-12);
    // k2 (the NaN itself): filled from d = -2, -1, +1, +2.
    EXPECT_NEAR(g[2], (1 * w2 + 2 * w1 + 4 * w1 + 8 * w2) / (2 * w2 + 2 * w1), 1e-12);
    // k4 (right edge): d = -4 is out of reach, -2 is NaN.
    EXPECT_NEAR(g[4], (8 * 1 + 4 * w1 + 2 * w3) / (1 + w1 + w3), 1e-12);
    // A constant stays constant at the edges: no pull towards 0 from missing samples.
    const auto c = gaussianSmooth(kKeys, {3, 3, kNaN, 3, 3}, 2.0);
    for (double v : c)
        EXPECT_NEAR(v, 3.0, 1e-12);
}

TEST(CurveMath, SmoothingWithNoFiniteSampleInReachIsNaN) {
    const std::vector<double> k = {0, 1, 10, 11};
    const std::vector<double> v = {1, kNaN, kNaN, 5};
    // Keys 1 and 10: sigma 1 reaches 3 steps, so key 10 only sees key 11.
    const auto g = gaussianSmooth(k, v, 1.0);
    EXPECT_NEAR(g[2], 5.0, 1e-12);
    const auto m = runningMean({0, 1, 2}, {kNaN, kNaN, 2}, 1);
    EXPECT_TRUE(std::isnan(m[0]));
    EXPECT_DOUBLE_EQ(m[2], 2.0);
}

TEST(CurveMath, SmoothCurveDispatchAndOff) {
    EXPECT_EQ(smoothCurve(kKeys, {1, 2, 3, 4, 5}, Smoothing::Ema, 0.0),
              (std::vector<double>{1, 2, 3, 4, 5}));
    EXPECT_DOUBLE_EQ(smoothCurve(kKeys, {1, 2, 3, 4, 5}, Smoothing::Ema, 0.5)[1], 5.0 / 3.0);
    EXPECT_DOUBLE_EQ(smoothCurve(kKeys, {1, 2, 3, 4, 5}, Smoothing::RunningMean, 3)[0], 1.5);
    EXPECT_STREQ(smoothingName(Smoothing::RunningMean), "running_mean");
}

TEST(CurveMath, PercentileInterpolatesLikeNumpy) {
    // numpy.percentile([1, 2, 3, 4], 25) = 1.75, 99 -> 3.97.
    EXPECT_DOUBLE_EQ(percentileSorted({1, 2, 3, 4}, 0.25), 1.75);
    EXPECT_NEAR(percentileSorted({1, 2, 3, 4}, 0.99), 3.97, 1e-12);
    EXPECT_DOUBLE_EQ(percentileSorted({7}, 0.5), 7.0);
}

TEST(CurveMath, PercentileRangeIgnoresOneSpikeAndNonPositiveOnLog) {
    std::vector<double> v;
    for (int i = 0; i < 500; ++i)
        v.push_back(1.0 + (i % 10) * 0.1);  // bulk in [1, 1.9]
    v[250] = 1e6;                           // one spike
    v.push_back(kNaN);
    v.push_back(-3.0);  // a negative value: dropped on a log axis only
    const ValueRange r = percentileRange({&v}, 0.01, 0.99, true);
    ASSERT_TRUE(r.valid);
    EXPECT_GE(r.lower, 1.0);
    EXPECT_LT(r.upper, 2.0);  // the 1e6 spike is above the 99th percentile
    const ValueRange lin = percentileRange({&v}, 0.0, 1.0, false);
    EXPECT_DOUBLE_EQ(lin.lower, -3.0);
    EXPECT_DOUBLE_EQ(lin.upper, 1e6);
    const std::vector<double> none = {kNaN, -1.0};
    EXPECT_FALSE(percentileRange({&none}, 0.01, 0.99, true).valid);
}

TEST(CurveMath, MeanStdByStepAcrossRuns) {
    // Three runs; run c misses step 2 and is NaN at step 1; only run b logs step 3.
    const Series a{"a", {0, 1, 2}, {1, 2, 3}};
    const Series b{"b", {0, 1, 2, 3}, {3, 4, 5, 7}};
    const Series c{"c", {0, 1}, {5, kNaN}};
    const MeanStd m = meanStdByStep({a, b, c});
    ASSERT_EQ(m.keys, (std::vector<double>{0, 1, 2, 3}));
    // Step 0: {1, 3, 5} -> mean 3, population std sqrt((4 + 0 + 4) / 3).
    EXPECT_DOUBLE_EQ(m.mean[0], 3.0);
    EXPECT_NEAR(m.stddev[0], std::sqrt(8.0 / 3.0), 1e-12);
    EXPECT_EQ(m.count[0], 3);
    // Step 1: {2, 4} (the NaN is skipped) -> mean 3, std 1.
    EXPECT_DOUBLE_EQ(m.mean[1], 3.0);
    EXPECT_NEAR(m.stddev[1], 1.0, 1e-12);
    EXPECT_EQ(m.count[1], 2);
    // Step 2: {3, 5} -> 4 +- 1; step 3: one run -> 7 +- 0.
    EXPECT_DOUBLE_EQ(m.mean[2], 4.0);
    EXPECT_NEAR(m.stddev[2], 1.0, 1e-12);
    EXPECT_DOUBLE_EQ(m.mean[3], 7.0);
    EXPECT_DOUBLE_EQ(m.stddev[3], 0.0);
    EXPECT_TRUE(meanStdByStep({}).keys.empty());
}
