// The CPU kernels of the scatter family (ops/scatter.hpp): the index is counting-sorted
// (stable, O(E + dim_size)) into runs, then every output row is reduced by one thread in
// increasing e. No atomics, and bit-identical results for any thread count. The F inner loop is
// unit-stride (src is made contiguous) and vectorises.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>

// Marks an inner loop as safe to vectorise: `omp simd` where OpenMP is on (it vectorises even
// at -O2), else GCC's ivdep.
#ifndef EMBER_PRAGMA_SIMD
#if defined(_OPENMP)
#define EMBER_PRAGMA_SIMD _Pragma("omp simd")
#else
#define EMBER_PRAGMA_SIMD _Pragma("GCC ivdep")
#endif
#endif

namespace ember::cpu {

// Stable counting sort of `index` (values in [0, n)): ptr [n + 1] and order [E], so rows of
// output i are order[ptr[i] .. ptr[i+1]).
inline void counting_sort(const int64_t* idx, int64_t e, int64_t n, std::vector<int64_t>& ptr,
                          std::vector<int64_t>& order) {
  ptr.assign(size_t(n) + 1, 0);
  for (int64_t k = 0; k < e; ++k) ++ptr[size_t(idx[k]) + 1];
  for (int64_t i = 0; i < n; ++i) ptr[size_t(i) + 1] += ptr[size_t(i)];
  order.resize(size_t(e));
  std::vector<int64_t> next(ptr.begin(), ptr.end() - 1);
  for (int64_t k = 0; k < e; ++k) order[size_t(next[size_t(idx[k])]++)] = k;
}

// rows[k] = i for every k in [ptr[i], ptr[i+1]): the row of each entry of a CSR-style row_ptr.
inline void rows_of_entries(const int64_t* ptr, int64_t n, int64_t* rows) {
  parallel_for(n, n > 0 ? ptr[n] : 0, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) rows[k] = i;
  });
}

// cnt[i] = max(number of k with idx[k] == i, 1) for i < n: scatter_mean's divisor.
template <class T>
void scatter_counts(const int64_t* idx, int64_t e, int64_t n, T* cnt) {
  std::fill_n(cnt, n, T(0));
  for (int64_t k = 0; k < e; ++k) cnt[idx[k]] += T(1);
  for (int64_t i = 0; i < n; ++i) cnt[i] = std::max(cnt[i], T(1));
}

// out[i, :] = sum over k in [ptr[i], ptr[i+1]) of src[order ? order[k] : k, :], rows of width f.
template <class T>
void segment_reduce_sum(const T* src, const int64_t* order, const int64_t* ptr, int64_t n,
                        int64_t f, T* out) {
  parallel_for(n, (ptr[n] + n) * std::max<int64_t>(f, 1), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T* __restrict__ o = out + i * f;
      std::fill_n(o, f, T(0));
      for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) {
        const T* __restrict__ s = src + (order ? order[k] : k) * f;
        EMBER_PRAGMA_SIMD
        for (int64_t c = 0; c < f; ++c) o[c] += s[c];
      }
    }
  });
}

// scatter_max over the runs of a stable sort of the index by target (ptr [n + 1], order [e]):
// out and arg [n, f], the first maximum in increasing source row (NaN wins, as max); empty
// rows give 0 and argmax e. mask [e, f] (zero-filled, or null) gets 1 at every argmax: every
// source row is in one run only, so no two threads write the same element.
template <class T>
void scatter_max_sorted(const T* src, const int64_t* ptr, const int64_t* order, int64_t n,
                        int64_t f, int64_t e, T* out, int64_t* arg, T* mask) {
  parallel_for(n, (e + n) * std::max<int64_t>(f, 1), [&](int64_t b, int64_t en) {
    for (int64_t i = b; i < en; ++i) {
      T* o = out + i * f;
      int64_t* a = arg + i * f;
      if (ptr[i] == ptr[i + 1]) {
        std::fill_n(o, f, T(0));
        std::fill_n(a, f, e);
        continue;
      }
      const int64_t first = order[ptr[i]];
      std::copy_n(src + first * f, f, o);
      std::fill_n(a, f, first);
      for (int64_t k = ptr[i] + 1; k < ptr[i + 1]; ++k) {
        const int64_t src_row = order[k];
        const T* r = src + src_row * f;
        for (int64_t c = 0; c < f; ++c)
          if (r[c] > o[c] || (r[c] != r[c] && o[c] == o[c])) {  // NaN propagates, like max
            o[c] = r[c];
            a[c] = src_row;
          }
      }
      if (mask)
        for (int64_t c = 0; c < f; ++c) mask[a[c] * f + c] = T(1);
    }
  });
}

}  // namespace ember::cpu
