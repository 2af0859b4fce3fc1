// The CPU kernels of the optimizers (optim/sgd.hpp, optim/adam.hpp): one fused pass per
// parameter over contiguous reals (a complex parameter as (re, im) pairs). Scalars are rounded to R
// first, as PyTorch's kernels do, so float32 results match it closely; the CUDA kernels
// (cuda/ember/cuda/optim.cuh) form them the same way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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

// The scalars of one Adam step, rounded to R as PyTorch does with Python floats, and its
// options: decay (L2 decay folded into the gradient, Adam only), amsgrad (the running max of v)
// and lerp_low (which of torch.lerp's two exact formulas m = lerp(m, d, w1) takes: the one for
// |w1| < 1/2). AdamW's decoupled decay and maximize need no flag (p * 1 and g * 1 are exact
// when they are off).
template <class R>
struct AdamScalars {
  R neg_step, bias2_sqrt, w1, b2, w2, eps, wd, shrink, sign;
  bool decay, amsgrad, lerp_low;
};

// Adam on elements [begin, end). The options are run-time flags: the branches on them are the
// same for every element, so they cost nothing next to the sqrt and the divide, and one loop
// serves every combination (the compile time of a user's program counts these loops too).
template <class R, bool Decoupled>
__attribute__((always_inline)) inline void adam_range(R* __restrict__ p, const R* __restrict__ g,
                                                      R* __restrict__ m, R* __restrict__ v,
                                                      R* __restrict__ vmax, int64_t begin,
                                                      int64_t end, const AdamScalars<R>& s) {
  for (int64_t k = begin; k < end; ++k) {
    R d = s.sign * g[k];
    if constexpr (Decoupled) p[k] = p[k] * s.shrink;
    if (!Decoupled && s.decay) d = d + s.wd * p[k];
    if (s.lerp_low)
      m[k] = m[k] + s.w1 * (d - m[k]);
    else
      m[k] = d - (d - m[k]) * (R(1) - s.w1);
    v[k] = v[k] * s.b2 + s.w2 * d * d;
    R second = v[k];
    if (s.amsgrad) second = vmax[k] = vmax[k] < v[k] ? v[k] : vmax[k];  // std::max
    const R denom = std::sqrt(second) / s.bias2_sqrt + s.eps;
    p[k] = p[k] + s.neg_step * m[k] / denom;
  }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__)
// The float loop for AVX2, 8 lanes at a time in GCC's vector extensions. The compiler keeps
// adam_range scalar (std::sqrt may set errno: a branch to the library inside the loop), so the
// lanes are written out here: the same operations in the same order, each exactly rounded,
// hence the same bits as adam_range. No FMA (a * b + c stays two roundings). The library is
// built for baseline x86-64, so this clone is chosen at run time; the tail goes to adam_range.
template <bool Decoupled>
__attribute__((target("avx2"))) void adam_range_avx2(float* p, const float* g, float* m,
                                                     float* v, float* vmax, int64_t begin,
                                                     int64_t end, const AdamScalars<float>& s) {
  typedef float v8 __attribute__((vector_size(32), aligned(4)));  // unaligned loads / stores
  const v8 zero{};
  const v8 sign = zero + s.sign, shrink = zero + s.shrink, wd = zero + s.wd, w1 = zero + s.w1;
  const v8 keep = zero + (1.0f - s.w1), b2 = zero + s.b2, w2 = zero + s.w2;
  const v8 bias2_sqrt = zero + s.bias2_sqrt, eps = zero + s.eps, neg_step = zero + s.neg_step;
  int64_t k = begin;
  for (; k + 8 <= end; k += 8) {
    v8 d = sign * *reinterpret_cast<const v8*>(g + k);
    v8 pk = *reinterpret_cast<const v8*>(p + k), mk = *reinterpret_cast<const v8*>(m + k);
    if constexpr (Decoupled) pk = pk * shrink;
    if (!Decoupled && s.decay) d = d + wd * pk;
    if (s.lerp_low)
      mk = mk + w1 * (d - mk);
    else
      mk = d - (d - mk) * keep;
    const v8 vk = *reinterpret_cast<const v8*>(v + k) * b2 + w2 * d * d;
    v8 second = vk;
    if (s.amsgrad) {
      const v8 mx = *reinterpret_cast<const v8*>(vmax + k);
      second = mx < vk ? vk : mx;
      *reinterpret_cast<v8*>(vmax + k) = second;
    }
    const v8 denom = __builtin_ia32_sqrtps256(second) / bias2_sqrt + eps;
    *reinterpret_cast<v8*>(p + k) = pk + neg_step * mk / denom;
    *reinterpret_cast<v8*>(m + k) = mk;
    *reinterpret_cast<v8*>(v + k) = vk;
  }
  adam_range<float, Decoupled>(p, g, m, v, vmax, k, end, s);
}
inline bool cpu_has_avx2_only() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

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
  s.decay = weight_decay != 0, s.amsgrad = vmax != nullptr, s.lerp_low = std::abs(s.w1) < R(0.5);
  parallel_for(n, 16 * n, [&](int64_t begin, int64_t end) {
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__)
    if constexpr (std::is_same_v<R, float>)
      if (cpu_has_avx2_only()) return adam_range_avx2<Decoupled>(p, g, m, v, vmax, begin, end, s);
#endif
    adam_range<R, Decoupled>(p, g, m, v, vmax, begin, end, s);
  });
}

}  // namespace cpu

}  // namespace ember
