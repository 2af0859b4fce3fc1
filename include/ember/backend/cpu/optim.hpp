// The CPU kernels of the optimizers (optim/sgd.hpp, optim/adam.hpp): one fused pass per
// parameter over contiguous reals (a complex parameter as (re, im) pairs). Scalars are rounded to R
// first, as PyTorch's kernels do, so float32 results match it closely; the CUDA kernels
// (cuda/ember/cuda/optim.cuh) form them the same way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <ember/backend/cpu/parallel.hpp>

namespace ember {

namespace cpu {

// One SGD step over param, grad and momentum buffer (null without momentum); `first`: the
// buffer's first step (buf = g).
template <class R>
void sgd_step(R* p, const R* g, R* buf, int64_t n, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first) {
  const R wd = R(weight_decay), mom = R(momentum), keep = R(1 - dampening);
  const R neg_lr = R(-lr);
  const bool decay = weight_decay != 0;
  parallel_for(n, 4 * n, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      R d = maximize ? -g[k] : g[k];
      if (decay) d = d + wd * p[k];
      if (buf) {
        const R b = first ? d : buf[k] * mom + keep * d;
        buf[k] = b;
        d = nesterov ? d + mom * b : b;
      }
      p[k] = p[k] + neg_lr * d;
    }
  });
}

// torch.lerp's formula (exact at both ends, and what PyTorch's Adam uses for m).
template <class R>
R lerp(R a, R b, R w) {
  return std::abs(w) < R(0.5) ? a + w * (b - a) : b - (b - a) * (R(1) - w);
}

// One Adam (Decoupled: AdamW) step at the parameter's step count t over param, grad and moments
// (vmax null without amsgrad). Scalars are formed in double and rounded to R, as PyTorch does
// with Python floats.
template <class R, bool Decoupled>
void adam_step(R* p, const R* g, R* m, R* v, R* vmax, int64_t n, int64_t t, double lr, double beta1,
               double beta2, double eps, double weight_decay, bool maximize) {
  const double bias1 = 1 - std::pow(beta1, double(t));
  const double bias2 = 1 - std::pow(beta2, double(t));
  const R neg_step = R(-(lr / bias1)), bias2_sqrt = R(std::sqrt(bias2));
  const R w1 = R(1 - beta1), b2 = R(beta2), w2 = R(1 - beta2), e = R(eps);
  const R wd = R(weight_decay), shrink = R(1 - lr * weight_decay);
  const bool decay = weight_decay != 0;
  parallel_for(n, 16 * n, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      R d = maximize ? -g[k] : g[k];
      if constexpr (Decoupled) {
        if (decay) p[k] = p[k] * shrink;
      } else {
        if (decay) d = d + wd * p[k];
      }
      m[k] = lerp(m[k], d, w1);
      v[k] = v[k] * b2 + w2 * d * d;
      R second = v[k];
      if (vmax) second = vmax[k] = std::max(vmax[k], v[k]);
      const R denom = std::sqrt(second) / bias2_sqrt + e;
      p[k] = p[k] + neg_step * m[k] / denom;
    }
  });
}

}  // namespace cpu

}  // namespace ember
