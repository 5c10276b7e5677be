// Sample statistics across a dataset: mean and a two-sided confidence interval from Student's t
// distribution. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

namespace dxl::analysis {

// Regularised incomplete beta I_x(a, b) (continued fraction, Lentz), a, b > 0, x in [0, 1].
double incomplete_beta(double a, double b, double x);

// CDF and quantile of Student's t with df > 0 degrees of freedom.
double student_t_cdf(double t, double df);
double student_t_quantile(double p, double df);  // p in (0, 1)

struct MeanCi {
    double mean = 0.0;
    double half_width = 0.0;  // CI = [mean - half_width, mean + half_width]; 0 for n < 2
    double stddev = 0.0;      // sample standard deviation (n - 1); 0 for n < 2
    int64_t n = 0;
};

// Mean and the `level` (e.g. 0.95) confidence interval t_{(1+level)/2, n-1} * s / sqrt(n).
// Non-finite samples are skipped (n counts the finite ones); no finite sample gives NaN mean.
MeanCi mean_ci(const std::vector<double>& samples, double level = 0.95);

}  // namespace dxl::analysis
