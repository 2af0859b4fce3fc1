// The inverse-CDF rule of categorical sampling (multinomial, ops/sampling.hpp), written once:
// scalar functions that compile for the host (backend/cpu/sampling.hpp) and, under nvcc, for
// the device (cuda/ember/cuda/sampling.cuh), as the pointwise formulas do. Given the same
// uniforms both devices pick the same categories. No tensor headers here.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define EMBER_CATEGORICAL_HD __host__ __device__
#else
#define EMBER_CATEGORICAL_HD
#endif

namespace ember::categorical {

// The last category with a positive weight: the pick when rounding leaves u * total at the
// total itself (u < 1, but the product may round up). -1 when there is none.
template <class W>
EMBER_CATEGORICAL_HD int64_t last_positive(const W* w, int64_t categories) {
  for (int64_t c = categories - 1; c >= 0; --c)
    if (w[c] > W(0)) return c;
  return -1;
}

// With replacement: the category of the uniform u in [0, 1) under the weights w, given their
// running sums cdf (cdf[c] = w[0] + ... + w[c], in double, cdf[categories - 1] > 0): the first c
// with cdf[c] > u * total, found by bisection. A zero weight is never picked: its cdf equals
// the one before it, which is found first.
template <class W>
EMBER_CATEGORICAL_HD int64_t pick_from_cdf(const double* cdf, const W* w, int64_t categories,
                                           double u) {
  const double target = u * cdf[categories - 1];
  int64_t lo = 0, hi = categories;  // the answer is in [lo, hi]; hi means none
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (cdf[mid] > target)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo < categories ? lo : last_positive(w, categories);
}

// Without replacement, one draw: the category of u in [0, 1) under the remaining weights w
// (double, drawn ones already zero, some positive), summed in order; the caller then zeroes
// w[pick]. Linear in the number of categories.
EMBER_CATEGORICAL_HD inline int64_t pick_from_weights(const double* w, int64_t categories,
                                                      double u) {
  double total = 0;
  for (int64_t c = 0; c < categories; ++c) total += w[c];
  const double target = u * total;
  double running = 0;
  for (int64_t c = 0; c < categories; ++c) {
    running += w[c];
    if (running > target) return c;
  }
  return last_positive(w, categories);
}

}  // namespace ember::categorical
