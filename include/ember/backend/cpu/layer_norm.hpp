// The CPU kernels of layer_norm (ops/layer_norm.hpp) over rows × n contiguous values: a
// forward that saves each row's mean and rstd, and a fused backward, both parallel over rows.
//
//   xhat = (x - mean) * rstd,  y = xhat * w + b
//   dx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat)),
//   dweight = sum over rows of g * xhat,  dbias = sum over rows of g,
// with per-thread partial sums for dweight / dbias.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>

namespace ember {

namespace cpu {

// One row of n: saves mean and rstd, writes y. Pointers are taken by value so the compiler
// keeps them in registers (through a lambda capture it reloads them and stops vectorising).
template <class T, bool HasW, bool HasB>
void layer_norm_row(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t n, T eps) {
  T s = 0;
  EMBER_OMP_SIMD(reduction(+ : s))
  for (int64_t i = 0; i < n; ++i) s += x[i];
  const T mu = s / T(n);
  T v = 0;  // a second pass over the cached row: no cancellation as in E[x²] - E[x]²
  EMBER_OMP_SIMD(reduction(+ : v))
  for (int64_t i = 0; i < n; ++i) v += (x[i] - mu) * (x[i] - mu);
  const T rs = T(1) / std::sqrt(v / T(n) + eps);
  *mean = mu;
  *rstd = rs;
  EMBER_OMP_SIMD()
  for (int64_t i = 0; i < n; ++i) {
    T t = (x[i] - mu) * rs;
    if constexpr (HasW) t *= w[i];
    if constexpr (HasB) t += b[i];
    y[i] = t;
  }
}

// rows × n contiguous; weight / bias are n values (ignored unless HasW / HasB).
template <class T, bool HasW, bool HasB>
void layer_norm_rows(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                     int64_t n, T eps) {
  parallel_for(rows, 4 * rows * n, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      layer_norm_row<T, HasW, HasB>(x + r * n, w, b, y + r * n, mean + r, rstd + r, n, eps);
  });
}

// dx of one row (gx may be null), and its dweight / dbias terms added into pw / pb (if not null).
template <class T, bool HasW>
void layer_norm_backward_row(const T* g, const T* x, const T* w, T mu, T rs, T* gx, T* pw, T* pb,
                             int64_t n) {
  if (gx) {
    T a = 0, c = 0;  // sum(g*w), sum(g*w*(x-mu))
    EMBER_OMP_SIMD(reduction(+ : a, c))
    for (int64_t i = 0; i < n; ++i) {
      const T gwi = HasW ? g[i] * w[i] : g[i];
      a += gwi;
      c += gwi * (x[i] - mu);
    }
    const T ma = a / T(n), mb = c * rs / T(n);
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) {
      const T gwi = HasW ? g[i] * w[i] : g[i];
      gx[i] = rs * (gwi - ma - (x[i] - mu) * rs * mb);
    }
  }
  if (pw) {
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) pw[i] += g[i] * (x[i] - mu) * rs;
  }
  if (pb) {
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) pb[i] += g[i];
  }
}

// g, x: rows × n contiguous. Writes gx (if not null) and gw / gb (n values, if not null).
template <class T, bool HasW>
void layer_norm_backward_rows(const T* g, const T* x, const T* w, const T* mean, const T* rstd,
                              T* gx, T* gw, T* gb, int64_t rows, int64_t n) {
  // Rows are split into one chunk per thread; each chunk sums its dweight / dbias apart.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(max_threads(), rows));
  std::vector<T> part_w(gw ? size_t(chunks * n) : 0, T(0)),
      part_b(gb ? size_t(chunks * n) : 0, T(0));
  T* const pw0 = gw ? part_w.data() : nullptr;
  T* const pb0 = gb ? part_b.data() : nullptr;
  parallel_for(chunks, 6 * rows * n, [=](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      T* pw = pw0 ? pw0 + c * n : nullptr;
      T* pb = pb0 ? pb0 + c * n : nullptr;
      for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r)
        layer_norm_backward_row<T, HasW>(g + r * n, x + r * n, w, mean[r], rstd[r],
                                         gx ? gx + r * n : nullptr, pw, pb, n);
    }
  });
  for (int64_t c = 1; c < chunks; ++c)
    for (int64_t i = 0; i < n; ++i) {
      if (gw) part_w[i] += part_w[c * n + i];
      if (gb) part_b[i] += part_b[c * n + i];
    }
  if (gw) std::copy_n(part_w.data(), n, gw);
  if (gb) std::copy_n(part_b.data(), n, gb);
}

// The forward of rows × n contiguous values for the weight / bias given (either may be null):
// y, and each row's mean and rstd.
template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                        int64_t n, T eps) {
  if (w && b)
    layer_norm_rows<T, true, true>(x, w, b, y, mean, rstd, rows, n, eps);
  else if (w)
    layer_norm_rows<T, true, false>(x, w, b, y, mean, rstd, rows, n, eps);
  else if (b)
    layer_norm_rows<T, false, true>(x, w, b, y, mean, rstd, rows, n, eps);
  else
    layer_norm_rows<T, false, false>(x, w, b, y, mean, rstd, rows, n, eps);
}

// The backward from the saved mean and rstd: gx, gw, gb where not null (w may be null: no
// weight).
template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* gx,
                         T* gw, T* gb, int64_t rows, int64_t n) {
  if (w)
    layer_norm_backward_rows<T, true>(g, x, w, mean, rstd, gx, gw, gb, rows, n);
  else
    layer_norm_backward_rows<T, false>(g, x, w, mean, rstd, gx, gw, gb, rows, n);
}

}  // namespace cpu

}  // namespace ember
