// Hungarian algorithm with potentials (shortest augmenting path form, e-maxx / Jonker-Volgenant
// style): rows are inserted one at a time and matched along a Dijkstra-like search over reduced
// costs. Requires rows <= cols; the wrapper transposes otherwise.
#include "core/analysis/hungarian.h"

#include <cmath>
#include <limits>

#include "core/base/error.h"

namespace dxl::analysis {

namespace {

// n <= m; a is row-major (n, m). Returns row -> col.
std::vector<int64_t> solve(const std::vector<double>& a, int64_t n, int64_t m) {
    const double inf = std::numeric_limits<double>::infinity();
    // 1-based potentials u (rows), v (cols); p[j] = row matched to column j (0 = none).
    std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0);
    std::vector<int64_t> p(m + 1, 0), way(m + 1, 0);
    for (int64_t i = 1; i <= n; ++i) {
        p[0] = i;
        int64_t j0 = 0;
        std::vector<double> minv(m + 1, inf);
        std::vector<char> used(m + 1, 0);
        do {
            used[j0] = 1;
            const int64_t i0 = p[j0];
            double delta = inf;
            int64_t j1 = 0;
            for (int64_t j = 1; j <= m; ++j) {
                if (used[j]) continue;
                const double cur = a[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            DXL_ASSERT(j1 > 0, "hungarian: no augmenting column found");
            for (int64_t j = 0; j <= m; ++j) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {  // augment along the alternating path
            const int64_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0 != 0);
    }
    std::vector<int64_t> row_to_col(n, -1);
    for (int64_t j = 1; j <= m; ++j)
        if (p[j] != 0) row_to_col[p[j] - 1] = j - 1;
    return row_to_col;
}

}  // namespace

Assignment hungarian(const std::vector<double>& cost, int64_t rows, int64_t cols) {
    DXL_CHECK(rows >= 0 && cols >= 0 && static_cast<int64_t>(cost.size()) == rows * cols,
              ShapeError, "hungarian: expected a cost matrix of ", rows, " x ", cols, " = ",
              rows * cols, " entries, but got ", cost.size());
    for (double c : cost)
        DXL_CHECK(std::isfinite(c), ValueError, "hungarian: expected finite costs, but got ", c,
                  "; replace NaN/Inf metric values before matching");
    Assignment out;
    out.row_to_col.assign(rows, -1);
    if (rows == 0 || cols == 0) return out;
    if (rows <= cols) {
        out.row_to_col = solve(cost, rows, cols);
    } else {
        std::vector<double> t(cost.size());  // (cols, rows)
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c)
                t[c * rows + r] = cost[r * cols + c];
        const std::vector<int64_t> col_to_row = solve(t, cols, rows);
        for (int64_t c = 0; c < cols; ++c)
            out.row_to_col[col_to_row[c]] = c;
    }
    for (int64_t r = 0; r < rows; ++r)
        if (out.row_to_col[r] >= 0) out.total_cost += cost[r * cols + out.row_to_col[r]];
    return out;
}

}  // namespace dxl::analysis
