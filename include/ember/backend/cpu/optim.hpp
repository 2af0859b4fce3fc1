// The CPU kernels of the optimizers (optim/sgd.hpp, optim/adam.hpp): one fused pass per
// parameter over contiguous reals (a complex parameter as (re, im) pairs). Scalars are rounded to R
// first, as PyTorch's kernels do, so float32 results match it closely; the CUDA kernels
// (cuda/ember/cuda/optim.cuh) form them the same way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

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

// The scalars of one Adam step, rounded to R as PyTorch does with Python floats.
template <class R>
struct AdamScalars {
  R neg_step, bias2_sqrt, w1, b2, w2, eps, wd, shrink, sign;
};

// Adam on elements [begin, end), its options as template flags so that the loop has no branch
// and vectorises: Decay (L2 decay folded into the gradient, Adam only), Amsgrad (the running
// max of v) and LerpLow (which of torch.lerp's two exact formulas m = lerp(m, d, w1) takes:
// the one for |w1| < 1/2). AdamW's decoupled decay and
// maximize are branch-free (p * 1 and g * 1 are exact when they are off).
template <class R, bool Decoupled, bool Decay, bool Amsgrad, bool LerpLow>
__attribute__((always_inline)) inline void adam_range(R* __restrict__ p, const R* __restrict__ g,
                                                      R* __restrict__ m, R* __restrict__ v,
                                                      R* __restrict__ vmax, int64_t begin,
                                                      int64_t end, const AdamScalars<R>& s) {
  for (int64_t k = begin; k < end; ++k) {
    R d = s.sign * g[k];
    if constexpr (Decoupled) p[k] = p[k] * s.shrink;
    if constexpr (!Decoupled && Decay) d = d + s.wd * p[k];
    if constexpr (LerpLow)
      m[k] = m[k] + s.w1 * (d - m[k]);
    else
      m[k] = d - (d - m[k]) * (R(1) - s.w1);
    v[k] = v[k] * s.b2 + s.w2 * d * d;
    R second = v[k];
    if constexpr (Amsgrad) second = vmax[k] = std::max(vmax[k], v[k]);
    const R denom = std::sqrt(second) / s.bias2_sqrt + s.eps;
    p[k] = p[k] + s.neg_step * m[k] / denom;
  }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__)
// The same loop compiled for AVX2 (8 floats per sqrt and divide instead of SSE2's 4), chosen at
// run time. Not FMA: without it the compiler cannot contract a * b + c, so both paths round
// every operation the same way and give the same bits.
template <class R, bool Decoupled, bool Decay, bool Amsgrad, bool LerpLow>
__attribute__((target("avx2"))) void adam_range_avx2(R* p, const R* g, R* m, R* v, R* vmax,
                                                     int64_t begin, int64_t end,
                                                     const AdamScalars<R>& s) {
  adam_range<R, Decoupled, Decay, Amsgrad, LerpLow>(p, g, m, v, vmax, begin, end, s);
}
inline bool cpu_has_avx2_only() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

template <class R, bool Decoupled, bool Decay, bool Amsgrad, bool LerpLow>
void adam_loop(R* p, const R* g, R* m, R* v, R* vmax, int64_t n, const AdamScalars<R>& s) {
  parallel_for(n, 16 * n, [&](int64_t begin, int64_t end) {
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__)
    if (cpu_has_avx2_only())
      return adam_range_avx2<R, Decoupled, Decay, Amsgrad, LerpLow>(p, g, m, v, vmax, begin, end,
                                                                    s);
#endif
    adam_range<R, Decoupled, Decay, Amsgrad, LerpLow>(p, g, m, v, vmax, begin, end, s);
  });
}

// One Adam (Decoupled: AdamW) step at the parameter's step count t over param, grad and moments
// (vmax null without amsgrad). Scalars are formed in double and rounded to R, as PyTorch does
// with Python floats.
template <class R, bool Decoupled>
void adam_step(R* p, const R* g, R* m, R* v, R* vmax, int64_t n, int64_t t, double lr, double beta1,
               double beta2, double eps, double weight_decay, bool maximize) {
  const double bias1 = 1 - std::pow(beta1, double(t));
  const double bias2 = 1 - std::pow(beta2, double(t));
  AdamScalars<R> s;
  s.neg_step = R(-(lr / bias1));
  s.bias2_sqrt = R(std::sqrt(bias2));
  s.w1 = R(1 - beta1), s.b2 = R(beta2), s.w2 = R(1 - beta2), s.eps = R(eps);
  s.wd = R(weight_decay), s.shrink = R(1 - lr * weight_decay);
  s.sign = maximize ? R(-1) : R(1);
  const bool decay = weight_decay != 0, low = std::abs(s.w1) < R(0.5);
  // The flags as template arguments: 2 x 2 x 2 loops per Decoupled.
  auto run = [&](auto decay_c, auto ams_c, auto low_c) {
    adam_loop<R, Decoupled, decltype(decay_c)::value, decltype(ams_c)::value,
              decltype(low_c)::value>(p, g, m, v, vmax, n, s);
  };
  auto pick_low = [&](auto decay_c, auto ams_c) {
    low ? run(decay_c, ams_c, std::true_type{}) : run(decay_c, ams_c, std::false_type{});
  };
  auto pick_ams = [&](auto decay_c) {
    vmax ? pick_low(decay_c, std::true_type{}) : pick_low(decay_c, std::false_type{});
  };
  decay ? pick_ams(std::true_type{}) : pick_ams(std::false_type{});
}

}  // namespace cpu

}  // namespace ember
