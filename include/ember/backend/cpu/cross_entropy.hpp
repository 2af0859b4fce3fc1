// The CPU kernels of the fused cross entropy (nn/functional/loss.hpp) of logits x [rows, n]
// against class indices t [rows] with a per-row weight w (0 for ignored rows):
//   forward:  m = max(x[r]), log_s = log(sum(exp(x[r] - m))),
//             loss[r] = -(((x[r, t] - m) - log_s) * w[r]),
//   backward: gx[r, c] = exp((x[r, c] - m) - log_s) * gw - [c == t] gw,  gw = g[r] w[r],
// with log_softmax's kernels (backend/cpu/softmax.hpp) and its (x - m) - log(s): the loss is
// log_softmax + pick's, bit for bit, without the [rows, n] log-probabilities in between.
#pragma once

#include <cmath>
#include <cstdint>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cpu/softmax.hpp>

namespace ember {

namespace cpu {

// loss, and each row's max and log-sum (kept for the backward). Targets are valid indices.
template <class T>
void cross_entropy_forward(const T* x, const int64_t* target, const T* w, T* loss, T* max,
                           T* log_sum, int64_t rows, int64_t n) {
  parallel_for(rows, 4 * rows * n, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * n;
      const T m = row_max(xr, n);
      const T log_s = std::log(exp_shifted_sum<T>(xr, m, nullptr, n));
      max[r] = m;
      log_sum[r] = log_s;
      loss[r] = -(((xr[target[r]] - m) - log_s) * w[r]);
    }
  });
}

// gx [rows, n] from the loss gradient g [rows] and the forward's max and log-sum.
template <class T>
void cross_entropy_backward(const T* g, const T* x, const int64_t* target, const T* w, const T* max,
                            const T* log_sum, T* gx, int64_t rows, int64_t n) {
  parallel_for(rows, 4 * rows * n, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * n;
      T* o = gx + r * n;
      const T m = max[r], log_s = log_sum[r], gw = g[r] * w[r];
      EMBER_OMP_SIMD()
      for (int64_t i = 0; i < n; ++i) o[i] = (xr[i] - m) - log_s;  // log_softmax
      exp_shifted_sum<T>(o, T(0), o, n);                           // softmax, in place
      EMBER_OMP_SIMD()
      for (int64_t i = 0; i < n; ++i) o[i] *= gw;
      o[target[r]] -= gw;
    }
  });
}

}  // namespace cpu

}  // namespace ember
