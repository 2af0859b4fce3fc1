// The CPU kernels of batch_norm (ops/batch_norm.hpp) over x [N, C, S] contiguous, parallel
// over channels. Each channel c is normalised over its N * S values:
//   training: mean and biased var from the batch (two passes, row totals in double);
//   eval: the given (running) mean and var;
//   rstd = 1 / sqrt(var + eps),  y = x * scale + shift with scale = rstd * w;
//   gx = a*g + k*x + d (k = d = 0 in eval),  gw = sum(g * (x - mean)) * rstd,  gb = sum(g).
#pragma once

#include <cmath>
#include <cstdint>

#include <ember/backend/cpu/parallel.hpp>

namespace ember {

namespace cpu {

// Sums of one contiguous row: sum(p) and sum((p - mu)^2). Float rows are summed in float over
// vector lanes (`omp simd` may reassociate) and the row totals in double by the callers, so a
// channel of 10^6 values keeps its digits without a serial chain of double adds.
template <class T>
T row_sum(const T* p, int64_t n) {
  T s = 0;
  EMBER_OMP_SIMD(reduction(+ : s))
  for (int64_t i = 0; i < n; ++i) s += p[i];
  return s;
}
template <class T>
T row_sq_dev(const T* p, T mu, int64_t n) {
  T s = 0;
  EMBER_OMP_SIMD(reduction(+ : s))
  for (int64_t i = 0; i < n; ++i) s += (p[i] - mu) * (p[i] - mu);
  return s;
}

// x: [N, C, S] contiguous. Training: computes each channel's mean / biased var (two passes,
// row totals accumulated in double) into mean / var; eval: mean / var are given (running
// stats). Writes rstd and y. Parallel over channels.
template <class T>
void batch_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* var, T* rstd,
                        int64_t N, int64_t C, int64_t S, bool training, double eps) {
  parallel_for(C, 4 * N * C * S, [=](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double mu, v;
      if (training) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n) s += double(row_sum(x + (n * C + c) * S, S));
        const double M = double(N * S);
        mu = s / M;
        double q = 0;  // second pass: no cancellation as in E[x²] - E[x]²
        for (int64_t n = 0; n < N; ++n) q += double(row_sq_dev(x + (n * C + c) * S, T(mu), S));
        v = q / M;
        mean[c] = T(mu);
        var[c] = T(v);
      } else {
        mu = double(mean[c]);
        v = double(var[c]);
      }
      const double r = 1.0 / std::sqrt(v + eps);
      rstd[c] = T(r);
      // y = x * scale + shift per channel.
      const T scale = T(r * (w ? double(w[c]) : 1.0));
      const T shift = T((b ? double(b[c]) : 0.0) - mu * double(scale));
      for (int64_t n = 0; n < N; ++n) {
        const T* p = x + (n * C + c) * S;
        T* q = y + (n * C + c) * S;
        EMBER_OMP_SIMD()
        for (int64_t i = 0; i < S; ++i) q[i] = p[i] * scale + shift;
      }
    }
  });
}

// g, x: [N, C, S] contiguous. Writes gx (if not null), gw / gb (C values, if not null).
template <class T>
void batch_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* gx,
                         T* gw, T* gb, int64_t N, int64_t C, int64_t S, bool training) {
  parallel_for(C, 5 * N * C * S, [=](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      const double mu = double(mean[c]), r = double(rstd[c]);
      const T muT = T(mu);
      double sg = 0, sgx = 0;  // sum(g), sum(g * (x - mean))
      for (int64_t n = 0; n < N; ++n) {
        const T* gp = g + (n * C + c) * S;
        const T* xp = x + (n * C + c) * S;
        T a = 0, d = 0;
        EMBER_OMP_SIMD(reduction(+ : a, d))
        for (int64_t i = 0; i < S; ++i) {
          a += gp[i];
          d += gp[i] * (xp[i] - muT);
        }
        sg += double(a);
        sgx += double(d);
      }
      if (gw) gw[c] = T(sgx * r);
      if (gb) gb[c] = T(sg);
      if (!gx) continue;
      const double wr = r * (w ? double(w[c]) : 1.0);
      const double M = double(N * S);
      // training: gx = wr * (g - sg/M - (x - mu) * r² * sgx/M) = a*g + k*x + d
      const T a = T(wr);
      const T k = training ? T(-wr * r * r * sgx / M) : T(0);
      const T d = training ? T(-wr * sg / M + wr * r * r * sgx / M * mu) : T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* gp = g + (n * C + c) * S;
        const T* xp = x + (n * C + c) * S;
        T* o = gx + (n * C + c) * S;
        EMBER_OMP_SIMD()
        for (int64_t i = 0; i < S; ++i) o[i] = a * gp[i] + k * xp[i] + d;
      }
    }
  });
}

}  // namespace cpu

}  // namespace ember
