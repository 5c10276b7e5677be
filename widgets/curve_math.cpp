// Smoothing, decimation and percentile autoscale for the curve plots (no Qt, no torch).
#include "widgets/curve_math.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace dxl::widgets {

const char* smoothingName(Smoothing method) {
    switch (method) {
        case Smoothing::Ema:
            return "ema";
        case Smoothing::Gaussian:
            return "gaussian";
        case Smoothing::RunningMean:
            return "running_mean";
    }
    return "ema";
}

std::vector<double> debiasedEma(const std::vector<double>& values, double beta) {
    std::vector<double> out(values.size(), std::nan(""));
    double s = 0.0;
    int n = 0;
    double last = std::nan("");
    for (size_t t = 0; t < values.size(); ++t) {
        if (std::isfinite(values[t])) {
            s = beta * s + (1.0 - beta) * values[t];
            ++n;
            last = s / (1.0 - std::pow(beta, n));
        }
        out[t] = last;
    }
    return out;
}

std::vector<double> gaussianSmooth(const std::vector<double>& keys,
                                   const std::vector<double>& values, double sigma) {
    const size_t n = std::min(keys.size(), values.size());
    std::vector<double> out(n, std::nan(""));
    const double reach = 3.0 * sigma;  // exp(-4.5) ~ 1 %: the tail beyond adds nothing visible
    const double inv2s2 = 1.0 / (2.0 * sigma * sigma);
    size_t lo = 0;
    for (size_t i = 0; i < n; ++i) {
        while (lo < n && keys[lo] < keys[i] - reach)
            ++lo;
        double sum = 0.0, weight = 0.0;
        for (size_t j = lo; j < n && keys[j] <= keys[i] + reach; ++j) {
            if (!std::isfinite(values[j])) continue;
            const double d = keys[j] - keys[i];
            const double w = std::exp(-d * d * inv2s2);
            sum += w * values[j];
            weight += w;
        }
        if (weight > 0) out[i] = sum / weight;
    }
    return out;
}

std::vector<double> runningMean(const std::vector<double>& keys, const std::vector<double>& values,
                                double window) {
    const size_t n = std::min(keys.size(), values.size());
    std::vector<double> out(n, std::nan(""));
    const double half = 0.5 * window;
    size_t lo = 0, hi = 0;  // the window is [lo, hi)
    double sum = 0.0;
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) {
        for (; hi < n && keys[hi] < keys[i] + half; ++hi) {
            if (std::isfinite(values[hi])) {
                sum += values[hi];
                ++count;
            }
        }
        for (; lo < hi && keys[lo] < keys[i] - half; ++lo) {
            if (std::isfinite(values[lo])) {
                sum -= values[lo];
                --count;
            }
        }
        if (count > 0) out[i] = sum / static_cast<double>(count);
    }
    return out;
}

std::vector<double> smoothCurve(const std::vector<double>& keys, const std::vector<double>& values,
                                Smoothing method, double param) {
    switch (method) {
        case Smoothing::Ema:
            return param > 0 ? debiasedEma(values, param) : values;
        case Smoothing::Gaussian:
            return param > 0 ? gaussianSmooth(keys, values, param) : values;
        case Smoothing::RunningMean:
            return param > 1 ? runningMean(keys, values, param) : values;
    }
    return values;
}

Series decimateMinMax(const Series& in, int buckets) {
    const size_t n = in.keys.size();
    if (buckets <= 0 || n <= static_cast<size_t>(2 * buckets)) return in;
    Series out;
    out.name = in.name;
    const double k0 = in.keys.front(), k1 = in.keys.back();
    const double width = (k1 - k0) / buckets;
    size_t i = 0;
    for (int b = 0; b < buckets && i < n; ++b) {
        const double end = (b == buckets - 1) ? k1 : k0 + (b + 1) * width;
        size_t lo = i, hi = i;
        size_t j = i;
        for (; j < n && (in.keys[j] <= end || b == buckets - 1); ++j) {
            if (in.values[j] < in.values[lo]) lo = j;
            if (in.values[j] > in.values[hi]) hi = j;
        }
        if (j == i) continue;
        const size_t first = std::min(lo, hi), second = std::max(lo, hi);
        out.keys.push_back(in.keys[first]);
        out.values.push_back(in.values[first]);
        if (second != first) {
            out.keys.push_back(in.keys[second]);
            out.values.push_back(in.values[second]);
        }
        i = j;
    }
    return out;
}

double percentileSorted(const std::vector<double>& sorted, double p) {
    const double pos = std::clamp(p, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
    const size_t i = static_cast<size_t>(std::floor(pos));
    if (i + 1 >= sorted.size()) return sorted.back();
    const double f = pos - static_cast<double>(i);
    return sorted[i] + f * (sorted[i + 1] - sorted[i]);
}

ValueRange percentileRange(const std::vector<const std::vector<double>*>& series, double pLow,
                           double pHigh, bool positiveOnly) {
    std::vector<double> all;
    for (const std::vector<double>* s : series)
        for (double v : *s)
            if (std::isfinite(v) && (!positiveOnly || v > 0)) all.push_back(v);
    ValueRange r;
    if (all.empty()) return r;
    std::sort(all.begin(), all.end());
    r.lower = percentileSorted(all, pLow);
    r.upper = percentileSorted(all, pHigh);
    r.valid = true;
    return r;
}

MeanStd meanStdByStep(const std::vector<Series>& runs) {
    // step -> (n, sum, sum of squares); two-pass accuracy is not needed for a few runs of
    // losses, but the variance is clamped at 0 against rounding.
    struct Acc {
        int n = 0;
        double sum = 0.0, sq = 0.0;
    };
    std::map<double, Acc> bySteps;
    for (const Series& r : runs) {
        for (size_t i = 0; i < r.keys.size() && i < r.values.size(); ++i) {
            if (!std::isfinite(r.values[i])) continue;
            Acc& a = bySteps[r.keys[i]];
            ++a.n;
            a.sum += r.values[i];
            a.sq += r.values[i] * r.values[i];
        }
    }
    MeanStd out;
    for (const auto& [step, a] : bySteps) {
        const double mean = a.sum / a.n;
        out.keys.push_back(step);
        out.mean.push_back(mean);
        out.stddev.push_back(std::sqrt(std::max(0.0, a.sq / a.n - mean * mean)));
        out.count.push_back(a.n);
    }
    return out;
}

}  // namespace dxl::widgets
