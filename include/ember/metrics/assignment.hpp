// The Hungarian (Kuhn–Munkres) algorithm: the one-to-one assignment of rows to columns of a
// cost matrix with the least total cost, as scipy.optimize.linear_sum_assignment finds it.
// Clustering accuracy uses it to match clusters to classes.
//
// This is the shortest-augmenting-path form with row and column potentials: each row is added
// by a Dijkstra-like search over columns on the reduced costs c(i,j) − u_i − v_j, which stay
// ≥ 0, so the whole solve is O(r²·c) for r ≤ c. A rectangular matrix assigns every row when
// rows ≤ cols, and every column otherwise (the other rows stay unassigned).
#pragma once

#include <cstdint>
#include <ember/metrics/inputs.hpp>
#include <limits>
#include <vector>

namespace ember::metrics {

struct Assignment {
  // col_of_row[i]: the column given to row i, or -1 when row i is unassigned (rows > cols).
  std::vector<int64_t> col_of_row;
  // Sum of the assigned entries of the original cost matrix.
  double total_cost = 0;
};

// Least-cost assignment of a row-major rows×cols cost matrix; with `maximize`, the greatest
// total instead (linear_sum_assignment(cost, maximize=True)). Costs must be finite.
template <NumberRange C>
Assignment hungarian(const C& cost_matrix, int64_t rows, int64_t cols, bool maximize = false) {
  const char* name = "hungarian";
  const auto cost = as_span(cost_matrix);
  detail::check_matrix(name, "cost", cost.size(), rows, cols);
  detail::check_finite(name, "cost", cost);

  // Solve with n ≤ m (rows of the working matrix ≤ its columns): transpose a tall matrix.
  const bool transposed = rows > cols;
  const int64_t n = transposed ? cols : rows;
  const int64_t m = transposed ? rows : cols;
  const double sign = maximize ? -1.0 : 1.0;
  auto a = [&](int64_t i, int64_t j) {  // working cost, 1-based i in [1, n], j in [1, m]
    const int64_t r = transposed ? j - 1 : i - 1;
    const int64_t c = transposed ? i - 1 : j - 1;
    return sign * static_cast<double>(cost[static_cast<size_t>(r * cols + c)]);
  };

  const double inf = std::numeric_limits<double>::infinity();
  const auto M = static_cast<size_t>(m);
  std::vector<double> u(static_cast<size_t>(n) + 1, 0), v(M + 1, 0);
  // row_of_col[j]: the working row matched to column j (0 = none); column 0 is the source of
  // the current augmenting path. way[j]: the previous column on the path to j.
  std::vector<int64_t> row_of_col(M + 1, 0), way(M + 1, 0);
  for (int64_t i = 1; i <= n; ++i) {
    row_of_col[0] = i;
    int64_t j0 = 0;
    std::vector<double> min_reduced(M + 1, inf);
    std::vector<char> used(M + 1, 0);
    do {
      used[static_cast<size_t>(j0)] = 1;
      const int64_t i0 = row_of_col[static_cast<size_t>(j0)];
      double delta = inf;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= m; ++j) {
        const auto sj = static_cast<size_t>(j);
        if (used[sj]) continue;
        const double reduced = a(i0, j) - u[static_cast<size_t>(i0)] - v[sj];
        if (reduced < min_reduced[sj]) {
          min_reduced[sj] = reduced;
          way[sj] = j0;
        }
        if (min_reduced[sj] < delta) {
          delta = min_reduced[sj];
          j1 = j;
        }
      }
      for (int64_t j = 0; j <= m; ++j) {
        const auto sj = static_cast<size_t>(j);
        if (used[sj]) {
          u[static_cast<size_t>(row_of_col[sj])] += delta;
          v[sj] -= delta;
        } else {
          min_reduced[sj] -= delta;
        }
      }
      j0 = j1;
    } while (row_of_col[static_cast<size_t>(j0)] != 0);
    // Flip the matching along the augmenting path back to the source.
    do {
      const int64_t j1 = way[static_cast<size_t>(j0)];
      row_of_col[static_cast<size_t>(j0)] = row_of_col[static_cast<size_t>(j1)];
      j0 = j1;
    } while (j0 != 0);
  }

  Assignment out;
  out.col_of_row.assign(static_cast<size_t>(rows), -1);
  for (int64_t j = 1; j <= m; ++j) {
    const int64_t i = row_of_col[static_cast<size_t>(j)];
    if (i == 0) continue;
    const int64_t r = transposed ? j - 1 : i - 1;
    const int64_t c = transposed ? i - 1 : j - 1;
    out.col_of_row[static_cast<size_t>(r)] = c;
    out.total_cost += static_cast<double>(cost[static_cast<size_t>(r * cols + c)]);
  }
  return out;
}

}  // namespace ember::metrics
