// Pure curve math behind LinePlot / LossPlot: smoothing
// (debiased EMA, Gaussian, running mean), min/max-preserving decimation, percentile autoscale.
// No Qt and no torch, so every formula is unit-tested on small hand-computed vectors.
#pragma once

#include <vector>

#include "core/base/value_types.h"

namespace dxl::widgets {

enum class Smoothing { Ema, Gaussian, RunningMean };

// Stable names for provenance and JSON: "ema", "gaussian", "running_mean".
const char* smoothingName(Smoothing method);

// TensorBoard-style debiased EMA: s_t = beta s_{t-1} + (1 - beta) x_t, s_0 = 0, reported as
// s_t / (1 - beta^t) (t counted from 1). NaN inputs are skipped (the output repeats the last
// value).
std::vector<double> debiasedEma(const std::vector<double>& values, double beta);

// Gaussian kernel over the keys (steps), sigma in steps, truncated at 3 sigma. The weights are
// renormalised over the finite samples in reach, so NaN gaps and both edges do not pull the
// curve towards 0; a point with no finite sample in reach is NaN. keys ascending.
std::vector<double> gaussianSmooth(const std::vector<double>& keys,
                                   const std::vector<double>& values, double sigma);

// Centred running mean over the steps in [k - window/2, k + window/2) (half-open, so an odd
// window of unit steps holds exactly `window` samples), mean of the finite ones (same NaN and
// edge rule as gaussianSmooth). O(N) with two pointers. keys ascending.
std::vector<double> runningMean(const std::vector<double>& keys, const std::vector<double>& values,
                                double window);

// Dispatch; a parameter that means "off" (beta <= 0, sigma <= 0, window <= 1) returns values.
std::vector<double> smoothCurve(const std::vector<double>& keys, const std::vector<double>& values,
                                Smoothing method, double param);

// Min/max-preserving decimation into `buckets` equal key intervals: each bucket keeps its min
// and max points in key order, so spikes survive. Returns the input when it is already small.
Series decimateMinMax(const Series& in, int buckets);

// Percentile with linear interpolation between order statistics (numpy's default); p in [0, 1],
// `sorted` ascending and non-empty.
double percentileSorted(const std::vector<double>& sorted, double p);

struct ValueRange {
    double lower = 0.0, upper = 0.0;
    bool valid = false;  // false when no usable value exists
};

// [pLow, pHigh] percentiles of the finite values of all `series` (only the positive ones when
// `positiveOnly`, for log axes): the range an "ignore outliers" autoscale shows.
ValueRange percentileRange(const std::vector<const std::vector<double>*>& series, double pLow,
                           double pHigh, bool positiveOnly);

// Runs grouped by step: at every step any run logged, the mean and the
// population std (ddof 0, numpy's default: one run gives 0) of the runs' finite values there;
// steps where no run has a finite value are left out. Each run's keys ascending.
struct MeanStd {
    std::vector<double> keys;    // (S) ascending, the union of the runs' steps
    std::vector<double> mean;    // (S)
    std::vector<double> stddev;  // (S)
    std::vector<int> count;      // (S) runs with a finite value at that step
};
MeanStd meanStdByStep(const std::vector<Series>& runs);

}  // namespace dxl::widgets
