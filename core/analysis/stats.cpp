// Student-t quantiles via the regularised incomplete beta function (Numerical Recipes betacf
// form) and bisection; accurate to ~1e-12, checked against scipy.stats.t.ppf in analysis_ref.
#include "core/analysis/stats.h"

#include <cmath>
#include <limits>

#include "core/base/error.h"

namespace dxl::analysis {

namespace {

double beta_continued_fraction(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (std::fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 1000; ++m) {
        const int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double del = d * c;
        h *= del;
        if (std::fabs(del - 1.0) < eps) break;
    }
    return h;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
    DXL_CHECK(a > 0 && b > 0 && x >= 0 && x <= 1, ValueError,
              "incomplete_beta: expected a, b > 0 and x in [0, 1], but got a=", a, " b=", b,
              " x=", x);
    if (x == 0.0 || x == 1.0) return x;
    const double log_front =
        std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0))
        return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
    return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double df) {
    DXL_CHECK(df > 0, ValueError, "student_t_cdf: expected df > 0, but got ", df);
    const double x = df / (df + t * t);
    const double tail = 0.5 * incomplete_beta(0.5 * df, 0.5, x);  // P(T > |t|)
    return t >= 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double df) {
    DXL_CHECK(p > 0 && p < 1 && df > 0, ValueError,
              "student_t_quantile: expected p in (0, 1) and df > 0, but got p=", p, " df=", df);
    if (p == 0.5) return 0.0;
    // Bracket, then bisect on the monotone CDF.
    double lo = -1.0, hi = 1.0;
    while (student_t_cdf(lo, df) > p)
        lo *= 2.0;
    while (student_t_cdf(hi, df) < p)
        hi *= 2.0;
    for (int it = 0; it < 200 && hi - lo > 1e-13 * std::max(1.0, std::fabs(hi)); ++it) {
        const double mid = 0.5 * (lo + hi);
        (student_t_cdf(mid, df) < p ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

MeanCi mean_ci(const std::vector<double>& samples, double level) {
    DXL_CHECK(level > 0 && level < 1, ValueError, "mean_ci: expected a level in (0, 1), but got ",
              level);
    MeanCi r;
    double sum = 0.0;
    for (double v : samples)
        if (std::isfinite(v)) {
            sum += v;
            ++r.n;
        }
    if (r.n == 0) {
        r.mean = std::numeric_limits<double>::quiet_NaN();
        return r;
    }
    r.mean = sum / static_cast<double>(r.n);
    if (r.n < 2) return r;
    double ss = 0.0;
    for (double v : samples)
        if (std::isfinite(v)) ss += (v - r.mean) * (v - r.mean);
    r.stddev = std::sqrt(ss / static_cast<double>(r.n - 1));
    const double t = student_t_quantile(0.5 * (1.0 + level), static_cast<double>(r.n - 1));
    r.half_width = t * r.stddev / std::sqrt(static_cast<double>(r.n));
    return r;
}

}  // namespace dxl::analysis
