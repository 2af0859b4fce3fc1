// The CPU kernels of softmax / log_softmax (ops/softmax.hpp) over the middle dim of a
// contiguous [outer, n, inner] tensor.
//
// When the dim is the last one (inner == 1) each row is one fused kernel: a max pass, an
// exp+sum pass, a scale pass, all in cache; otherwise blocks of columns are handled side by
// side so the inner loops still run over contiguous memory. Rows (or column blocks) run in
// parallel. Backward, from the output y: softmax gx = y (g - sum(g y)); log_softmax
// gx = g - exp(y) sum(g).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include <ember/backend/cpu/parallel.hpp>

namespace ember {

namespace cpu {

// Explicit SIMD for the exp-heavy loops (GCC/Clang vector extensions). The compiler does
// not vectorise a polynomial exp by itself (-ftrapping-math keeps the range clamps as
// branches), and std::exp is one library call per element.
namespace simd {

#ifdef __AVX__
inline constexpr int64_t kLanes = 8;
#else
inline constexpr int64_t kLanes = 4;  // SSE2, always there on x86-64
#endif
typedef float f32v __attribute__((vector_size(4 * kLanes)));
typedef int32_t i32v __attribute__((vector_size(4 * kLanes)));
typedef uint32_t u32v __attribute__((vector_size(4 * kLanes)));

inline f32v load(const float* p) {
  f32v v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, f32v v) { std::memcpy(p, &v, sizeof v); }
inline f32v splat(float s) { return f32v{} + s; }
inline float hsum(f32v v) {
  float s = 0;
  for (int64_t i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

// expf for each lane: Cephes' expf (range reduction by ln 2, degree-5 polynomial, relative
// error below 1e-7). Inputs are clamped to [-88, 88], so exp(-inf) is exactly 0 (masked
// attention scores rely on it); NaN stays NaN.
inline f32v exp(f32v x) {
  x = x < splat(-88.0f) ? splat(-88.0f) : x;
  x = x > splat(88.0f) ? splat(88.0f) : x;
  const i32v k =
      __builtin_convertvector(x * 1.44269504088896341f + 127.5f, i32v);  // round(x/ln2)+127
  const f32v n = __builtin_convertvector(k, f32v) - 127.0f;
  f32v r = x - n * 0.693359375f;  // ln 2 in two parts, for an exact reduction
  r = r - n * -2.12194440e-4f;
  f32v p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * (f32v)((u32v)k << 23);  // * 2^n (exactly 0 for n = -127)
}

// vec(i) for i = 0, kLanes, ... while a whole vector fits, then one(i) for the tail.
template <class Vec, class One>
inline void loop(int64_t n, Vec&& vec, One&& one) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vec(i);
  for (; i < n; ++i) one(i);
}

}  // namespace simd

// Columns handled together when the softmax dim is not the last one.
inline constexpr int64_t kSoftmaxBlock = 64;

// m[i] = max(m[i], x[i]) for i < n. A plain loop would not vectorise (the compare stays a
// branch); NaN is skipped here and propagates through the exp pass instead.
template <class T>
void max_into(T* m, const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    simd::loop(
        n,
        [&](int64_t i) {
          const simd::f32v v = simd::load(x + i), a = simd::load(m + i);
          simd::store(m + i, v > a ? v : a);
        },
        [&](int64_t i) { m[i] = std::max(m[i], x[i]); });
  } else {
    for (int64_t i = 0; i < n; ++i) m[i] = std::max(m[i], x[i]);
  }
}

// The max of x[0..n).
template <class T>
T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  if constexpr (std::is_same_v<T, float>) {
    simd::f32v mv = simd::splat(m);
    simd::loop(
        n,
        [&](int64_t i) {
          const simd::f32v v = simd::load(x + i);
          mv = v > mv ? v : mv;
        },
        [&](int64_t i) { m = std::max(m, x[i]); });
    for (int64_t l = 0; l < simd::kLanes; ++l) m = std::max(m, mv[l]);
  } else {
    for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  }
  return m;
}

// Sum over i < n of exp(x[i] - m), storing each term in y unless y is null.
template <class T>
T exp_shifted_sum(const T* x, T m, T* y, int64_t n) {
  T s = 0;
  if constexpr (std::is_same_v<T, float>) {
    simd::f32v sv{};
    simd::loop(
        n,
        [&](int64_t i) {
          const simd::f32v e = simd::exp(simd::load(x + i) - m);
          if (y) simd::store(y + i, e);
          sv += e;
        },
        [&](int64_t i) {
          const float e = std::exp(x[i] - m);
          if (y) y[i] = e;
          s += e;
        });
    s += simd::hsum(sv);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const T e = std::exp(x[i] - m);
      if (y) y[i] = e;
      s += e;
    }
  }
  return s;
}

// Per column c < w: s[c] += exp(x[c] - m[c]), storing each term in y unless y is null.
template <class T>
void exp_shifted_accumulate(const T* x, const T* m, T* y, T* s, int64_t w) {
  if constexpr (std::is_same_v<T, float>) {
    simd::loop(
        w,
        [&](int64_t c) {
          const simd::f32v e = simd::exp(simd::load(x + c) - simd::load(m + c));
          if (y) simd::store(y + c, e);
          simd::store(s + c, simd::load(s + c) + e);
        },
        [&](int64_t c) {
          const float e = std::exp(x[c] - m[c]);
          if (y) y[c] = e;
          s[c] += e;
        });
  } else {
    for (int64_t c = 0; c < w; ++c) {
      const T e = std::exp(x[c] - m[c]);
      if (y) y[c] = e;
      s[c] += e;
    }
  }
}

// gx[i] = g[i] - exp(y[i]) * s[i * s_step]: the log_softmax gradient (s_step 0: one sum).
template <class T>
void log_softmax_grad(const T* g, const T* y, const T* s, int64_t s_step, T* gx, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    simd::loop(
        n,
        [&](int64_t i) {
          const simd::f32v sv = s_step ? simd::load(s + i) : simd::splat(*s);
          simd::store(gx + i, simd::load(g + i) - simd::exp(simd::load(y + i)) * sv);
        },
        [&](int64_t i) { gx[i] = g[i] - std::exp(y[i]) * s[i * s_step]; });
  } else {
    for (int64_t i = 0; i < n; ++i) gx[i] = g[i] - std::exp(y[i]) * s[i * s_step];
  }
}

// One row of n contiguous values.
template <class T, bool Log>
void softmax_row(const T* x, T* y, int64_t n) {
  const T m = row_max(x, n);
  if constexpr (Log) {
    // (x - m) - log(s), not x - (m + log(s)): the latter loses log(s)'s digits when |m| is large.
    const T log_s = std::log(exp_shifted_sum<T>(x, m, nullptr, n));
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - log_s;
  } else {
    const T inv = T(1) / exp_shifted_sum<T>(x, m, y, n);
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }
}

// w (<= kSoftmaxBlock) neighbouring columns of an [n, inner] slab, each softmaxed over n.
template <class T, bool Log>
void softmax_cols(const T* x, T* y, int64_t n, int64_t inner, int64_t w) {
  T m[kSoftmaxBlock], s[kSoftmaxBlock];
  std::fill_n(m, w, -std::numeric_limits<T>::infinity());
  std::fill_n(s, w, T(0));
  for (int64_t k = 0; k < n; ++k) max_into(m, x + k * inner, w);
  for (int64_t k = 0; k < n; ++k)
    exp_shifted_accumulate<T>(x + k * inner, m, Log ? nullptr : y + k * inner, s, w);
  for (int64_t c = 0; c < w; ++c) s[c] = Log ? std::log(s[c]) : T(1) / s[c];
  for (int64_t k = 0; k < n; ++k)
    for (int64_t c = 0; c < w; ++c) {
      if constexpr (Log)
        y[k * inner + c] = (x[k * inner + c] - m[c]) - s[c];
      else
        y[k * inner + c] *= s[c];
    }
}

// Gradient of one row: softmax gx = y * (g - <g, y>); log_softmax gx = g - exp(y) * sum(g).
template <class T, bool Log>
void softmax_backward_row(const T* g, const T* y, T* gx, int64_t n) {
  T s = 0;
  if constexpr (Log) {
    EMBER_OMP_SIMD(reduction(+ : s))
    for (int64_t i = 0; i < n; ++i) s += g[i];
    log_softmax_grad<T>(g, y, &s, 0, gx, n);
  } else {
    EMBER_OMP_SIMD(reduction(+ : s))
    for (int64_t i = 0; i < n; ++i) s += g[i] * y[i];
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) gx[i] = y[i] * (g[i] - s);
  }
}

template <class T, bool Log>
void softmax_backward_cols(const T* g, const T* y, T* gx, int64_t n, int64_t inner, int64_t w) {
  T s[kSoftmaxBlock];
  std::fill_n(s, w, T(0));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t c = 0; c < w; ++c)
      s[c] += Log ? g[k * inner + c] : g[k * inner + c] * y[k * inner + c];
  for (int64_t k = 0; k < n; ++k) {
    const int64_t o = k * inner;
    if constexpr (Log) {
      log_softmax_grad<T>(g + o, y + o, s, 1, gx + o, w);
    } else {
      for (int64_t c = 0; c < w; ++c) gx[o + c] = y[o + c] * (g[o + c] - s[c]);
    }
  }
}

// Runs row(offset) for each row of an [outer, n] layout (inner == 1), or cols(offset, w) for
// each block of columns of an [outer, n, inner] layout, in parallel.
template <class Row, class Cols>
void softmax_parallel(int64_t outer, int64_t n, int64_t inner, Row&& row, Cols&& cols) {
  const int64_t work = 4 * outer * n * inner;  // exp and friends: a few operations per element
  if (inner == 1) {
    parallel_for(outer, work, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) row(r * n);
    });
    return;
  }
  const int64_t blocks = (inner + kSoftmaxBlock - 1) / kSoftmaxBlock;
  parallel_for(outer * blocks, work, [&](int64_t begin, int64_t end) {
    for (int64_t it = begin; it < end; ++it) {
      const int64_t o = it / blocks, c0 = (it % blocks) * kSoftmaxBlock;
      cols(o * n * inner + c0, std::min(kSoftmaxBlock, inner - c0));
    }
  });
}

// x and y contiguous, seen as [outer, n, inner]; softmax over n.
template <class T, bool Log>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  softmax_parallel(
      outer, n, inner, [&](int64_t off) { softmax_row<T, Log>(x + off, y + off, n); },
      [&](int64_t off, int64_t w) { softmax_cols<T, Log>(x + off, y + off, n, inner, w); });
}

template <class T, bool Log>
void softmax_backward(const T* g, const T* y, T* gx, int64_t outer, int64_t n, int64_t inner) {
  softmax_parallel(
      outer, n, inner,
      [&](int64_t off) { softmax_backward_row<T, Log>(g + off, y + off, gx + off, n); },
      [&](int64_t off, int64_t w) {
        softmax_backward_cols<T, Log>(g + off, y + off, gx + off, n, inner, w);
      });
}

}  // namespace cpu

}  // namespace ember
