// Minimum-cost assignment (Hungarian / Kuhn-Munkres, shortest augmenting paths, O(n^2 m)) for
// rectangular cost matrices. Used to match teacher heads with student heads on one alignment
// metric (docs/method.md#alignment-metrics).
#pragma once

#include <cstdint>
#include <vector>

namespace dxl::analysis {

struct Assignment {
    // row_to_col[r] = matched column of row r, or -1 when rows > cols and r stays unmatched.
    std::vector<int64_t> row_to_col;
    double total_cost = 0.0;  // sum of cost(r, row_to_col[r]) over matched rows
};

// cost: row-major (rows, cols). Matches min(rows, cols) pairs with the minimum total cost
// (the same optimum as scipy.optimize.linear_sum_assignment). Non-finite costs are a ValueError.
Assignment hungarian(const std::vector<double>& cost, int64_t rows, int64_t cols);

}  // namespace dxl::analysis
