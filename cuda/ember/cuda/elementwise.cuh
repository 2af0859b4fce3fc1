// Elementwise kernels: binary ops with broadcasting, unary ops, fill and strided copy.
// Grid-stride loops; when every operand is contiguous (and 16-byte aligned) the loops move
// 16 bytes per access (float4 / double2), the copy-bandwidth path of the `add` workload.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/cuda/api.hpp>

namespace ember::cuda::kernels {

// Element offset of linear index i in operand `op` of layout l (row-major over l.shape).
__device__ __forceinline__ int64_t offset_of(const StridedLayout& l, int op, int64_t i) {
  int64_t off = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    const int64_t s = l.shape[d];
    off += (i % s) * l.strides[op][d];
    i /= s;
  }
  return off;
}

template <class T, BinaryOp Op>
__device__ __forceinline__ T binary_op(T a, T b) {
  if constexpr (Op == BinaryOp::Add)
    return a + b;
  else if constexpr (Op == BinaryOp::Sub)
    return a - b;
  else if constexpr (Op == BinaryOp::Mul)
    return a * b;
  else if constexpr (Op == BinaryOp::Div)
    return a / b;
  else if constexpr (Op == BinaryOp::ReluBackward)
    return b > T(0) ? a : T(0);  // gradient a where the output b is positive
  else if constexpr (Op == BinaryOp::Pow)
    return pow(a, b);
  else if constexpr (Op == BinaryOp::Maximum)
    return (a > b || a != a) ? a : b;  // NaN propagates, as on the CPU
  else if constexpr (Op == BinaryOp::Minimum)
    return (a < b || a != a) ? a : b;
  else if constexpr (Op == BinaryOp::MaxWeight)
    return a == b ? T(0.5) : T(!(a < b));
  else if constexpr (Op == BinaryOp::MinWeight)
    return a == b ? T(0.5) : T(!(a > b));
  else if constexpr (Op == BinaryOp::EqMask)
    return a == b ? T(1) : T(0);
  else  // DivOrZero
    return b > T(0) ? a / b : T(0);
}

// The ops added for unary.hpp / activation.hpp / arith.hpp. Formulas follow the CPU kernels
// term by term (same operation order), so the two agree to a few ulps. *GradY ops take the
// forward output y; the others take x. s and s2 are the op's scalars (see UnaryOp).
template <class T, UnaryOp Op>
__device__ __forceinline__ T unary_extra(T x, T s, T s2) {
  if constexpr (Op == UnaryOp::Sqrt)
    return sqrt(x);
  else if constexpr (Op == UnaryOp::Rsqrt)
    return T(1) / sqrt(x);  // not rsqrt(): matches the CPU's 1 / sqrt to the ulp
  else if constexpr (Op == UnaryOp::Square)
    return x * x;
  else if constexpr (Op == UnaryOp::Abs)
    return fabs(x);
  else if constexpr (Op == UnaryOp::Sign)
    return T((x > T(0)) - (x < T(0)));  // 0 at 0 and at NaN
  else if constexpr (Op == UnaryOp::Tanh)
    return tanh(x);
  else if constexpr (Op == UnaryOp::Sin)
    return sin(x);
  else if constexpr (Op == UnaryOp::Cos)
    return cos(x);
  else if constexpr (Op == UnaryOp::NegSin)
    return -sin(x);
  else if constexpr (Op == UnaryOp::Erf)
    return erf(x);
  else if constexpr (Op == UnaryOp::ErfGrad)
    return T(1.12837916709551257390) * exp(-x * x);  // 2 / sqrt(pi) exp(-x^2)
  else if constexpr (Op == UnaryOp::Reciprocal)
    return T(1) / x;
  else if constexpr (Op == UnaryOp::SqrtGradY)
    return T(1) / (T(2) * x);
  else if constexpr (Op == UnaryOp::RsqrtGradY)
    return T(-0.5) * x * x * x;
  else if constexpr (Op == UnaryOp::ReciprocalGradY)
    return -(x * x);
  else if constexpr (Op == UnaryOp::TanhGradY)
    return T(1) - x * x;
  else if constexpr (Op == UnaryOp::Sigmoid)
    return T(1) / (T(1) + exp(-x));
  else if constexpr (Op == UnaryOp::SigmoidGradY)
    return x * (T(1) - x);
  else if constexpr (Op == UnaryOp::Silu)
    return x / (T(1) + exp(-x));
  else if constexpr (Op == UnaryOp::SiluGrad) {
    const T sg = T(1) / (T(1) + exp(-x));
    return sg * (T(1) + x * (T(1) - sg));
  } else if constexpr (Op == UnaryOp::Clamp) {  // [s, s2]; an absent bound is -inf / +inf
    const T a = x < s ? s : x;                   // keeps NaN: comparisons with NaN are false
    return s2 < a ? s2 : a;
  } else if constexpr (Op == UnaryOp::ClampMask)
    return T(x >= s && x <= s2);
  else if constexpr (Op == UnaryOp::Softplus) {  // beta s, threshold s2
    const T bx = x * s;
    return bx > s2 ? x : log1p(exp(bx)) / s;
  } else if constexpr (Op == UnaryOp::SoftplusGrad) {
    const T bx = x * s;
    return bx > s2 ? T(1) : T(1) / (T(1) + exp(-bx));
  } else if constexpr (Op == UnaryOp::Elu)  // alpha s
    return x > T(0) ? x : s * expm1(x);
  else if constexpr (Op == UnaryOp::EluGrad)
    return x > T(0) ? T(1) : s * exp(x);
  else if constexpr (Op == UnaryOp::LeakyRelu)  // negative slope s
    return x > T(0) ? x : x * s;
  else if constexpr (Op == UnaryOp::LeakyReluGrad)
    return x > T(0) ? T(1) : s;
  else if constexpr (Op == UnaryOp::PowScalar)
    return s == T(2) ? x * x : pow(x, s);
  else {  // SafeLog: log with 0 at 0 (pow's exponent gradient, as the CPU rule)
    static_assert(Op == UnaryOp::SafeLog, "unary_extra: unhandled op");
    return x == T(0) ? T(0) : log(x);
  }
}

template <class T, UnaryOp Op>
__device__ __forceinline__ T unary_op(T x, T s, T s2) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
  constexpr T kBeta = T(0.79788456080286535588);  // sqrt(2 / pi)
  constexpr T kKappa = T(0.044715);
  if constexpr (Op == UnaryOp::Neg)
    return -x;
  else if constexpr (Op == UnaryOp::Exp)
    return exp(x);
  else if constexpr (Op == UnaryOp::Log)
    return log(x);
  else if constexpr (Op == UnaryOp::Relu)
    return x < T(0) ? T(0) : x;  // NaN stays NaN
  else if constexpr (Op == UnaryOp::Gelu)
    return T(0.5) * x * (T(1) + erf(x * kInvSqrt2));
  else if constexpr (Op == UnaryOp::GeluTanh)
    return x / (T(1) + exp(T(-2) * kBeta * (x + kKappa * x * x * x)));
  else if constexpr (Op == UnaryOp::AddScalar)
    return x + s;
  else if constexpr (Op == UnaryOp::MulScalar)
    return x * s;
  else if constexpr (Op == UnaryOp::RSubScalar)
    return s - x;
  else if constexpr (Op == UnaryOp::RDivScalar)
    return s / x;
  else if constexpr (Op == UnaryOp::Step)
    return x > T(0) ? T(1) : T(0);
  else if constexpr (Op == UnaryOp::GeluGrad) {
    const T cdf = T(0.5) * (T(1) + erf(x * kInvSqrt2));
    return cdf + x * kInvSqrt2Pi * exp(T(-0.5) * x * x);
  } else if constexpr (Op == UnaryOp::GeluTanhGrad) {  // as the CPU kernel (ops/activation.hpp)
    const T x2 = x * x;
    const T e = exp(T(-2) * kBeta * (x + kKappa * x2 * x));
    const T sg = T(1) / (T(1) + e);
    const T one_minus_s = sg < T(0.5) ? T(1) - sg : e * sg;
    return sg + T(2) * x * sg * one_minus_s * kBeta * (T(1) + T(3) * kKappa * x2);
  } else {
    return unary_extra<T, Op>(x, s, s2);
  }
}

// 16 bytes of T.
template <class T>
struct Vec16;
template <>
struct Vec16<float> {
  using type = float4;
  static constexpr int n = 4;
};
template <>
struct Vec16<double> {
  using type = double2;
  static constexpr int n = 2;
};

template <class T, BinaryOp Op>
__global__ void binary_contiguous(T* __restrict__ out, const T* __restrict__ a,
                                  const T* __restrict__ b, int64_t n, bool vec) {
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if (vec) {
    using V = typename Vec16<T>::type;
    constexpr int W = Vec16<T>::n;
    const int64_t nv = n / W;
    for (int64_t i = tid; i < nv; i += stride) {
      V va = reinterpret_cast<const V*>(a)[i], vb = reinterpret_cast<const V*>(b)[i], vo;
      T* pa = reinterpret_cast<T*>(&va);
      T* pb = reinterpret_cast<T*>(&vb);
      T* po = reinterpret_cast<T*>(&vo);
#pragma unroll
      for (int j = 0; j < W; ++j) po[j] = binary_op<T, Op>(pa[j], pb[j]);
      reinterpret_cast<V*>(out)[i] = vo;
    }
    done = nv * W;
  }
  for (int64_t i = done + tid; i < n; i += stride) out[i] = binary_op<T, Op>(a[i], b[i]);
}

template <class T, BinaryOp Op>
__global__ void binary_strided(T* __restrict__ out, const T* __restrict__ a,
                               const T* __restrict__ b, const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] = binary_op<T, Op>(a[offset_of(l, 1, i)], b[offset_of(l, 2, i)]);
}

template <class T, UnaryOp Op>
__global__ void unary_contiguous(T* __restrict__ out, const T* __restrict__ x, T s, T s2,
                                 int64_t n, bool vec) {
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if (vec) {
    using V = typename Vec16<T>::type;
    constexpr int W = Vec16<T>::n;
    const int64_t nv = n / W;
    for (int64_t i = tid; i < nv; i += stride) {
      V vx = reinterpret_cast<const V*>(x)[i], vo;
      T* px = reinterpret_cast<T*>(&vx);
      T* po = reinterpret_cast<T*>(&vo);
#pragma unroll
      for (int j = 0; j < W; ++j) po[j] = unary_op<T, Op>(px[j], s, s2);
      reinterpret_cast<V*>(out)[i] = vo;
    }
    done = nv * W;
  }
  for (int64_t i = done + tid; i < n; i += stride) out[i] = unary_op<T, Op>(x[i], s, s2);
}

template <class T, UnaryOp Op>
__global__ void unary_strided(T* __restrict__ out, const T* __restrict__ x, T s, T s2,
                              const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] = unary_op<T, Op>(x[offset_of(l, 1, i)], s, s2);
}

// Typeless element of E bytes (E = 1, 2, 4, 8, 16).
template <int E>
struct Bytes;
template <>
struct Bytes<1> {
  using type = uint8_t;
};
template <>
struct Bytes<2> {
  using type = uint16_t;
};
template <>
struct Bytes<4> {
  using type = uint32_t;
};
template <>
struct Bytes<8> {
  using type = uint64_t;
};
template <>
struct Bytes<16> {
  using type = ulonglong2;
};

template <class E>
__global__ void fill_kernel(E* __restrict__ out, E value, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = value;
}

template <class E>
__global__ void copy_kernel(E* __restrict__ out, const E* __restrict__ in, const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] = in[offset_of(l, 1, i)];
}

}  // namespace ember::cuda::kernels
