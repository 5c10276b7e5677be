// Plain C++ reference of the teacher x student attention alignment metrics (JS divergence,
// Frobenius distance / n_valid, Pearson correlation) over the valid causal triangle.
#include <cmath>
#include <cstddef>
#include <vector>

#include "dxl/kernels/align.h"

namespace dxl::kernels {
namespace {

// Mean and centred sum of squares of one (T, T) map over the valid causal entries.
void moments(const float* X, const std::uint8_t* valid, int T, double* mean, double* ss) {
    double s = 0.0;
    long long cnt = 0;
    for (int i = 0; i < T; ++i) {
        if (valid && !valid[i]) continue;
        const float* row = X + static_cast<std::size_t>(i) * T;
        for (int j = 0; j <= i; ++j) {
            if (valid && !valid[j]) continue;
            s += row[j];
            ++cnt;
        }
    }
    *mean = cnt ? s / static_cast<double>(cnt) : 0.0;
    double acc = 0.0;
    for (int i = 0; i < T; ++i) {
        if (valid && !valid[i]) continue;
        const float* row = X + static_cast<std::size_t>(i) * T;
        for (int j = 0; j <= i; ++j) {
            if (valid && !valid[j]) continue;
            const double d = row[j] - *mean;
            acc += d * d;
        }
    }
    *ss = acc;
}

}  // namespace

void align_metrics_cpu(float* js, float* frob, float* pearson, const float* P, const float* A,
                       const std::uint8_t* valid, int Ht, int Hs, int T) {
    const std::size_t TT = static_cast<std::size_t>(T) * T;
    int n_valid = 0;
    for (int i = 0; i < T; ++i)
        n_valid += (!valid || valid[i]) ? 1 : 0;
    std::vector<double> mean_p(static_cast<std::size_t>(Ht)), ss_p(static_cast<std::size_t>(Ht));
    std::vector<double> mean_a(static_cast<std::size_t>(Hs)), ss_a(static_cast<std::size_t>(Hs));
    for (int t = 0; t < Ht; ++t)
        moments(P + t * TT, valid, T, &mean_p[t], &ss_p[t]);
    for (int s = 0; s < Hs; ++s)
        moments(A + s * TT, valid, T, &mean_a[s], &ss_a[s]);

    for (int t = 0; t < Ht; ++t) {
        for (int s = 0; s < Hs; ++s) {
            const float* Pt = P + t * TT;  // (T, T)
            const float* As = A + s * TT;  // (T, T)
            double js_sum = 0.0, sq = 0.0, cov = 0.0;
            for (int i = 0; i < T; ++i) {
                if (valid && !valid[i]) continue;
                const float* pr = Pt + static_cast<std::size_t>(i) * T;
                const float* ar = As + static_cast<std::size_t>(i) * T;
                for (int j = 0; j <= i; ++j) {
                    if (valid && !valid[j]) continue;
                    const double p = pr[j], a = ar[j];
                    const double mid = 0.5 * (p + a);
                    if (p > 0.0) js_sum += 0.5 * p * std::log(p / mid);
                    if (a > 0.0) js_sum += 0.5 * a * std::log(a / mid);
                    sq += (a - p) * (a - p);
                    cov += (p - mean_p[t]) * (a - mean_a[s]);
                }
            }
            const std::size_t o = static_cast<std::size_t>(t) * Hs + s;
            const double nv = n_valid > 0 ? n_valid : 1.0;
            if (js) js[o] = static_cast<float>(js_sum / nv);
            if (frob) frob[o] = static_cast<float>(std::sqrt(sq) / nv);
            if (pearson) {
                const double den = std::sqrt(ss_p[t] * ss_a[s]);
                pearson[o] = den > 0.0 ? static_cast<float>(cov / den) : 0.0f;
            }
        }
    }
}

}  // namespace dxl::kernels
