// Strided iteration over N operands that share one (broadcast) shape.
//
// Every elementwise kernel reduces to: walk a shape, keep one offset per operand, and run a
// tight inner loop over the last dimension. Dimensions that are laid out back to back in every
// operand are merged first, so contiguous tensors become a single flat loop whatever their
// rank, and broadcast operands (stride 0) cost nothing extra.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>

namespace ember::cpu {

template <size_t N>
struct Layout {
  std::vector<int64_t> shape;
  std::array<std::vector<int64_t>, N> strides;
};

// Drops size-1 dims and merges dims that are contiguous with each other in every operand.
template <size_t N>
Layout<N> coalesce(const std::vector<int64_t>& shape, const std::array<std::vector<int64_t>, N>& strides) {
  Layout<N> out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!out.shape.empty()) {
      bool mergeable = true;
      for (size_t k = 0; k < N; ++k)
        if (out.strides[k].back() != strides[k][d] * shape[d]) mergeable = false;
      if (mergeable) {
        out.shape.back() *= shape[d];
        for (size_t k = 0; k < N; ++k) out.strides[k].back() = strides[k][d];
        continue;
      }
    }
    out.shape.push_back(shape[d]);
    for (size_t k = 0; k < N; ++k) out.strides[k].push_back(strides[k][d]);
  }
  if (out.shape.empty()) {
    out.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) out.strides[k].push_back(1);
  }
  return out;
}

// Calls row(offsets, n, inner_strides) for runs of the innermost dimension: offsets[k] is the
// element offset of operand k at the start of the run. Runs are distributed across threads.
template <size_t N, class Row>
void for_each_row(const std::vector<int64_t>& shape, const std::array<std::vector<int64_t>, N>& strides,
                  Row&& row) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  if (numel == 0) return;
  const Layout<N> L = coalesce<N>(shape, strides);
  const int nd = int(L.shape.size());
  const int64_t inner = L.shape[nd - 1];
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = L.strides[k][nd - 1];
  const int64_t rows = numel / inner;
  // Split long rows into chunks so a single contiguous run still uses every thread.
  const int64_t threads = max_threads();
  int64_t chunk = inner;
  if (rows < 4 * threads && numel >= kParallelGrain)
    chunk = std::max<int64_t>(4096, (inner + 4 * threads - 1) / (4 * threads));
  const int64_t chunks_per_row = (inner + chunk - 1) / chunk;

  parallel_for(rows * chunks_per_row, numel, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> index(nd, 0);
    int64_t row_id = begin / chunks_per_row;
    {  // multi-index of the first row of this range
      int64_t r = row_id;
      for (int d = nd - 2; d >= 0; --d) {
        index[d] = r % L.shape[d];
        r /= L.shape[d];
      }
    }
    std::array<int64_t, N> base{};
    for (size_t k = 0; k < N; ++k)
      for (int d = 0; d < nd - 1; ++d) base[k] += index[d] * L.strides[k][d];
    for (int64_t item = begin; item < end;) {
      const int64_t c = item % chunks_per_row;
      const int64_t start = c * chunk, n = std::min(chunk, inner - start);
      std::array<int64_t, N> off;
      for (size_t k = 0; k < N; ++k) off[k] = base[k] + start * inner_strides[k];
      row(off, n, inner_strides);
      ++item;
      if (c + 1 == chunks_per_row && item < end) {  // advance the outer multi-index
        for (int d = nd - 2; d >= 0; --d) {
          ++index[d];
          for (size_t k = 0; k < N; ++k) base[k] += L.strides[k][d];
          if (index[d] < L.shape[d]) break;
          for (size_t k = 0; k < N; ++k) base[k] -= index[d] * L.strides[k][d];
          index[d] = 0;
        }
      }
    }
  });
}

// Contiguous (row-major) strides for a shape.
inline std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (int d = int(shape.size()) - 1; d >= 0; --d) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

}  // namespace ember::cpu
