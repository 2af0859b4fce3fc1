// The CPU kernel of the sort family (ops/sort.hpp): a stable sort of every row along one dim,
// or its first k elements (topk).
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/backend/cpu/parallel.hpp>
#include <numeric>
#include <vector>

namespace ember::cpu {

// The sort order of ember (and PyTorch): NaN after every number, -0.0 equal to 0.0.
template <class T>
bool nan_last_less(T a, T b) {
  return a < b || (b != b && a == a);
}

// For each row (o, i) of a contiguous x seen as [outer, n, inner] (the row runs along n): the
// positions of its first k elements (k <= n) in ascending (or descending) order, ties in
// position order, i.e. the first k of a stable sort. Writes values[o, j, i] = x[o, p_j, i] and
// indices[o, j, i] = p_j into contiguous [outer, k, inner] outputs. The comparison breaks ties
// by position, so a partial sort (k < n) picks the same elements as the full stable sort.
template <class T>
void sort_rows(T* values, int64_t* indices, const T* x, int64_t outer, int64_t n, int64_t inner,
               int64_t k, bool descending) {
  const int64_t rows = outer * inner;
  int64_t log_n = 1;
  while ((int64_t(1) << log_n) < n) ++log_n;
  parallel_for(rows, rows * n * log_n, [&](int64_t begin, int64_t end) {
    std::vector<T> row(static_cast<size_t>(n));
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r / inner, i = r % inner;
      for (int64_t p = 0; p < n; ++p) row[size_t(p)] = x[(o * n + p) * inner + i];
      std::iota(order.begin(), order.end(), int64_t(0));
      const auto before = [&](int64_t a, int64_t b) {
        const T va = row[size_t(a)], vb = row[size_t(b)];
        const bool a_first = descending ? nan_last_less(vb, va) : nan_last_less(va, vb);
        const bool b_first = descending ? nan_last_less(va, vb) : nan_last_less(vb, va);
        return a_first || (!b_first && a < b);  // equal keys keep their order: stable
      };
      if (k < n)
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      else
        std::sort(order.begin(), order.end(), before);
      for (int64_t j = 0; j < k; ++j) {
        const int64_t at = (o * k + j) * inner + i;
        indices[at] = order[size_t(j)];
        values[at] = row[size_t(order[size_t(j)])];
      }
    }
  });
}

}  // namespace ember::cpu
