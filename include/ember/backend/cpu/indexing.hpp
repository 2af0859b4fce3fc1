// The CPU kernels of the indexing family (ops/indexing.hpp): the walk behind gather,
// scatter_add, index_select and index_add, the bounds check of an index, and one_hot's fill.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include <ember/backend/cpu/loops.hpp>
#include <ember/backend/cpu/parallel.hpp>

namespace ember::cpu {

// The first element of the strided tensor (shape, strides at p) outside [0, size), or false
// when there is none. Serial and strided (an expanded index is not copied); the caller throws,
// because an exception cannot leave an OpenMP region.
template <class I>
bool find_out_of_bounds(const I* p, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& strides, int64_t size, int64_t& bad) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  if (numel == 0) return false;
  const Layout<1> L = coalesce<1>(shape, {strides});
  const int nd = int(L.shape.size());
  std::vector<int64_t> pos(size_t(nd), 0);
  int64_t off = 0;
  for (int64_t n = numel; n > 0; n -= L.shape[nd - 1]) {
    const int64_t inner = L.shape[nd - 1], st = L.strides[0][nd - 1];
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t v = int64_t(p[off + i * st]);
      if (v < 0 || v >= size) {
        bad = v;
        return true;
      }
    }
    for (int d = nd - 2; d >= 0; --d) {  // next row
      off += L.strides[0][d];
      if (++pos[d] < L.shape[d]) break;
      off -= pos[d] * L.strides[0][d];
      pos[d] = 0;
    }
  }
  return false;
}

// The kernel behind all four index ops. Walks every position of `shape` (the index's shape):
// at position (a, k, b) with k along `dim`, it hands f the element of the "k side" tensor at
// (a, k, b) and the element of the "target" tensor at (a, index[a, k, b], b):
//   gather:      f(out_elem, x_elem)   { out_elem = x_elem; }
//   scatter_add: f(src_elem, out_elem) { out_elem += src_elem; }
// Work is split over positions (a, b) (and chunks of the innermost of them), never over k, so
// each thread owns whole target fibers: accumulation is race-free and, since every element's
// sum runs in increasing k, bit-identical for any thread count. The target must not alias
// itself across (a, b) (it is a fresh contiguous tensor wherever it is written).
template <class T, class I, class F>
void index_along_dim(const std::vector<int64_t>& shape, int64_t dim, const I* idx,
                     const std::vector<int64_t>& idx_st, T* kside, const std::vector<int64_t>& k_st,
                     T* target, const std::vector<int64_t>& t_st, F f) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  if (numel == 0) return;
  const int64_t K = shape[dim];
  std::vector<int64_t> rest;
  std::array<std::vector<int64_t>, 3> rest_st;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    if (d == dim) continue;
    rest.push_back(shape[d]);
    rest_st[0].push_back(idx_st[d]);
    rest_st[1].push_back(k_st[d]);
    rest_st[2].push_back(t_st[d]);
  }
  const Layout<3> L = coalesce<3>(rest, rest_st);
  const int nd = int(L.shape.size());
  const int64_t M = L.shape[nd - 1];
  const int64_t outer = numel / K / M;
  const int64_t is_k = idx_st[dim], ks_k = k_st[dim], ts_k = t_st[dim];
  const int64_t is_m = L.strides[0][nd - 1], ks_m = L.strides[1][nd - 1],
                ts_m = L.strides[2][nd - 1];
  // Loop order follows memory: k outermost when the innermost rest dim is unit-stride in the
  // tensors (index_select / embedding-style rows), else each fiber's k loop innermost.
  const bool k_outer = M > 1 && (ts_m == 1 || ks_m == 1);
  const int64_t want_tasks = 4 * int64_t(max_threads());
  int64_t chunk = M;
  if (outer < want_tasks && M > 64)
    chunk = std::max<int64_t>(64, (M * outer + want_tasks - 1) / want_tasks);
  const int64_t chunks = (M + chunk - 1) / chunk;

  parallel_for(outer * chunks, numel, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      int64_t o = task / chunks;
      const int64_t i0 = (task % chunks) * chunk, i1 = std::min(M, i0 + chunk);
      int64_t io = 0, ko = 0, to = 0;
      for (int d = nd - 2; d >= 0; --d) {
        const int64_t c = o % L.shape[d];
        o /= L.shape[d];
        io += c * L.strides[0][d];
        ko += c * L.strides[1][d];
        to += c * L.strides[2][d];
      }
      if (k_outer) {
        for (int64_t k = 0; k < K; ++k)
          for (int64_t i = i0; i < i1; ++i)
            f(kside[ko + k * ks_k + i * ks_m],
              target[to + int64_t(idx[io + k * is_k + i * is_m]) * ts_k + i * ts_m]);
      } else {
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t k = 0; k < K; ++k)
            f(kside[ko + k * ks_k + i * ks_m],
              target[to + int64_t(idx[io + k * is_k + i * is_m]) * ts_k + i * ts_m]);
      }
    }
  });
}

// out [n, classes] (zero-filled) gets a 1 at (i, labels[i]); labels checked.
template <class I>
void one_hot(const I* labels, int64_t n, int64_t classes, int64_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i * classes + int64_t(labels[i])] = 1;
}

}  // namespace ember::cpu
