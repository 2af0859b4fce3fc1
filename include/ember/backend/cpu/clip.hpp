// The CPU kernels of gradient clipping (optim/clip.hpp) over contiguous gradients: the norm
// parts (thread-count invariant), the scaling and the clamp.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/core/dtype.hpp>

namespace ember {

namespace cpu {

// Combines f(g[k]) over a contiguous gradient with `combine`, in fixed blocks so that the
// result does not depend on the number of threads. Accumulates in double, in four interleaved
// lanes so the loop is not bound by the latency of one chain of additions.
template <class T, class F, class Combine>
double reduce_grad(const T* g, int64_t n, F f, Combine combine) {
  constexpr int64_t kBlock = 16384;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(size_t(blocks), 0.0);
  parallel_for(blocks, 4 * n, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double lane[4] = {0, 0, 0, 0};
      const int64_t end = std::min(n, (b + 1) * kBlock);
      int64_t k = b * kBlock;
      for (; k + 4 <= end; k += 4)
        for (int j = 0; j < 4; ++j) lane[j] = combine(lane[j], f(g[k + j]));
      for (; k < end; ++k) lane[0] = combine(lane[0], f(g[k]));
      part[size_t(b)] = combine(combine(lane[0], lane[1]), combine(lane[2], lane[3]));
    }
  });
  double acc = 0;
  for (double v : part) acc = combine(acc, v);
  return acc;
}

// max that keeps a NaN once seen (like torch.max), so a NaN gradient gives a NaN norm.
inline double nan_max(double a, double b) {
  if (std::isnan(a)) return a;
  return std::isnan(b) || b > a ? b : a;
}

// |x| and |x|^2 in double (the modulus for complex x).
template <class T>
double abs_of(const T& x) {
  if constexpr (is_complex_v<T>)
    return std::abs(std::complex<double>(x));
  else
    return std::abs(double(x));
}
template <class T>
double abs2_of(const T& x) {
  if constexpr (is_complex_v<T>)
    return std::norm(std::complex<double>(x));
  else
    return double(x) * double(x);
}

// Σ|g|^p over one gradient, or max|g| for p = inf.
template <class T>
double grad_norm_part(const T* g, int64_t n, double p) {
  auto sum = [](double a, double b) { return a + b; };
  auto abs = [](const T& x) { return abs_of(x); };
  auto abs2 = [](const T& x) { return abs2_of(x); };
  auto abs_p = [p](const T& x) { return std::pow(abs_of(x), p); };
  if (std::isinf(p)) return reduce_grad(g, n, abs, nan_max);
  if (p == 1) return reduce_grad(g, n, abs, sum);
  if (p == 2) return reduce_grad(g, n, abs2, sum);
  return reduce_grad(g, n, abs_p, sum);
}

// data[k] *= c for n reals.
template <class R>
void scale_grad(R* data, int64_t n, R c) {
  parallel_for(n, n, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) data[k] *= c;
  });
}

// data[k] clamped into [lo, hi] (NaN stays NaN).
template <class T>
void clamp_grad(T* data, int64_t n, T lo, T hi) {
  parallel_for(n, n, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) data[k] = data[k] < lo ? lo : (hi < data[k] ? hi : data[k]);
  });
}

}  // namespace cpu

}  // namespace ember
