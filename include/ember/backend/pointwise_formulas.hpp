// The formula of every pointwise op, written once: its value and its derivative as scalar
// functions that compile for the host (the CPU map in backend/pointwise.hpp) and, under nvcc,
// for the device (the CUDA kernel in cuda/ember/cuda/pointwise.cuh). No tensor headers here,
// so the CUDA translation units include it alone.
//
// Each op is a struct Formula<Op::Name> with
//   value(x, s)        the op at x, with the op's scalars s (bounds, slopes; see each op);
//   derivative(v, s)   d value / d x, written in v = the input x, or v = the output y when
//                      from_output is true (cheaper: exp, sqrt, tanh, sigmoid...);
//   piecewise_constant the derivative is a step function of x (relu, abs, clamp, leaky_relu):
//                      under create_graph the rule multiplies by it as a constant mask, whose
//                      own derivative is zero almost everywhere, exactly the second derivative.
// Ops without a derivative (SafeLog, a kernel of pow's rule) leave it out. The gradient rule
// itself is in ops/ (ops/unary.hpp's pointwise_op): g * conj(derivative) in a plain backward.
#pragma once

#include <cmath>
#include <complex>
#include <type_traits>

#if defined(__CUDACC__)
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif

namespace ember::pointwise {

// Every op with a formula below. The CUDA launcher switches over this list (X-macro), so an
// op added here and given a Formula gets its kernel with no other change.
#define EMBER_POINTWISE_OPS(X)                                                                  \
  X(Neg) X(AddScalar) X(MulScalar) X(RSubScalar) X(RDivScalar) X(PowScalar) X(SafeLog) X(Exp)   \
  X(Log) X(Sqrt) X(Rsqrt) X(Square) X(Reciprocal) X(Sin) X(Cos) X(Tanh) X(Erf) X(Abs) X(Clamp)  \
  X(Relu) X(LeakyRelu) X(Elu) X(Gelu) X(GeluTanh) X(Sigmoid) X(Softplus) X(Silu) X(Round)     \
  X(Floor) X(Ceil)

enum class Op : int {
#define EMBER_POINTWISE_ENUM(name) name,
  EMBER_POINTWISE_OPS(EMBER_POINTWISE_ENUM)
#undef EMBER_POINTWISE_ENUM
};

// The op's scalars: a and b (e.g. clamp's bounds, softplus's beta and threshold).
template <class T>
struct Scalars {
  T a{}, b{};
};

template <Op>
struct Formula;

// erf for gelu. For float: Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, about one
// float ulp of 1), the approximation PyTorch's vectorised CPU kernel uses too; about 3x faster
// than std::erf(float) on the CPU. Double keeps erf. The same on both devices.
template <class T>
EMBER_HOST_DEVICE T gelu_erf(T x) {
  using std::copysign;
  using std::erf;
  using std::exp;
  using std::fabs;
  if constexpr (std::is_same_v<T, float>) {
    // fabs and copysign, not branches: the CPU loop then vectorises (1.2x on fno2d_step).
    const float a = fabs(x);
    const float t = 1.0f / (0.3275911f * a + 1.0f);
    const float r =
        (((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t +
        0.254829592f;
    return copysign(1.0f - r * t * exp(-x * x), x);
  } else {
    return erf(x);
  }
}

// The constants of gelu and erf's derivative.
template <class T>
struct GeluConstants {
  static constexpr T beta = T(0.79788456080286535588);           // sqrt(2 / pi)
  static constexpr T kappa = T(0.044715);
  static constexpr T inv_sqrt2 = T(0.70710678118654752440);      // 1 / sqrt(2)
  static constexpr T inv_sqrt2pi = T(0.39894228040143267794);    // 1 / sqrt(2 pi)
  static constexpr T two_over_sqrtpi = T(1.12837916709551257390);  // 2 / sqrt(pi)
};

// ---------------------------------------------------------------- arithmetic with a scalar

template <>
struct Formula<Op::Neg> {
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) { return -x; }
};

template <>
struct Formula<Op::AddScalar> {  // x + a
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) { return x + s.a; }
};

template <>
struct Formula<Op::MulScalar> {  // x * a
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) { return x * s.a; }
};

template <>
struct Formula<Op::RSubScalar> {  // a - x
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) { return s.a - x; }
};

template <>
struct Formula<Op::RDivScalar> {  // a / x
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) { return s.a / x; }
};

template <>
struct Formula<Op::PowScalar> {  // x ** a (x * x for a == 2: exact, and faster)
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) {
    using std::pow;
    if constexpr (std::is_floating_point_v<T>)
      if (s.a == T(2)) return x * x;
    return T(pow(x, s.a));
  }
};

template <>
struct Formula<Op::SafeLog> {  // log x, and 0 at x == 0 (pow's exponent gradient)
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::log;
    return x == T(0) ? T(0) : T(log(x));
  }
};

// ---------------------------------------------------------------- exp, log, powers

template <>
struct Formula<Op::Exp> {
  static constexpr bool from_output = true, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::exp;
    return exp(x);
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T y, Scalars<T>) { return y; }
};

template <>
struct Formula<Op::Log> {  // NaN below 0 for real x, -inf at 0
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::log;
    return log(x);
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) { return T(1) / x; }
};

template <>
struct Formula<Op::Sqrt> {
  static constexpr bool from_output = true, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::sqrt;
    return sqrt(x);
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T y, Scalars<T>) { return T(1) / (T(2) * y); }
};

template <>
struct Formula<Op::Rsqrt> {  // 1 / sqrt(x), not the device's rsqrt: the same to the ulp
  static constexpr bool from_output = true, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::sqrt;
    return T(1) / sqrt(x);
  }
  template <class T>  // d x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
  EMBER_HOST_DEVICE static T derivative(T y, Scalars<T>) { return T(-0.5) * y * y * y; }
};

template <>
struct Formula<Op::Square> {
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) { return x * x; }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) { return T(2) * x; }
};

template <>
struct Formula<Op::Reciprocal> {
  static constexpr bool from_output = true, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) { return T(1) / x; }
  template <class T>  // d (1/x) = -1/x^2 = -y^2
  EMBER_HOST_DEVICE static T derivative(T y, Scalars<T>) { return -(y * y); }
};

// ---------------------------------------------------------------- trigonometric, hyperbolic

template <>
struct Formula<Op::Sin> {
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::sin;
    return sin(x);
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) {
    using std::cos;
    return cos(x);
  }
};

template <>
struct Formula<Op::Cos> {
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::cos;
    return cos(x);
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) {
    using std::sin;
    return -sin(x);
  }
};

template <>
struct Formula<Op::Tanh> {
  static constexpr bool from_output = true, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::tanh;
    return tanh(x);
  }
  template <class T>  // 1 - tanh^2
  EMBER_HOST_DEVICE static T derivative(T y, Scalars<T>) { return T(1) - y * y; }
};

template <>
struct Formula<Op::Erf> {  // real only: the C++ library has no complex erf
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::erf;
    return erf(x);
  }
  template <class T>  // 2/sqrt(pi) exp(-x^2)
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) {
    using std::exp;
    return GeluConstants<T>::two_over_sqrtpi * exp(-x * x);
  }
};

// ---------------------------------------------------------------- piecewise

template <>
struct Formula<Op::Abs> {  // real x (complex abs is real-valued: ops/unary.hpp)
  static constexpr bool from_output = false, piecewise_constant = true;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::fabs;
    if constexpr (std::is_unsigned_v<T> || std::is_same_v<T, bool>)
      return x;
    else if constexpr (std::is_floating_point_v<T>)
      return fabs(x);  // clears the sign of -0.0 and of NaN, as std::abs
    else
      return x < T(0) ? T(-x) : x;
  }
  template <class T>  // sign(x), 0 at 0 (PyTorch's choice) and at NaN
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) { return T((x > T(0)) - (x < T(0))); }
};

// Rounding to an integer value, in x's type. A step function: the derivative is 0 wherever it
// exists, and PyTorch takes 0 at the jumps too, so the gradient is zero everywhere (and, as a
// constant mask, under create_graph). NaN and +-inf pass through; integer x is unchanged.
template <>
struct Formula<Op::Round> {  // to nearest, ties to even (torch.round): 0.5 -> 0, 1.5 -> 2
  static constexpr bool from_output = false, piecewise_constant = true;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::nearbyint;  // the default rounding mode is to nearest, ties to even
    if constexpr (std::is_floating_point_v<T>)
      return nearbyint(x);
    else
      return x;
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T, Scalars<T>) { return T(0); }
};

template <>
struct Formula<Op::Floor> {  // the largest integer value <= x
  static constexpr bool from_output = false, piecewise_constant = true;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::floor;
    if constexpr (std::is_floating_point_v<T>)
      return floor(x);
    else
      return x;
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T, Scalars<T>) { return T(0); }
};

template <>
struct Formula<Op::Ceil> {  // the smallest integer value >= x
  static constexpr bool from_output = false, piecewise_constant = true;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::ceil;
    if constexpr (std::is_floating_point_v<T>)
      return ceil(x);
    else
      return x;
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T, Scalars<T>) { return T(0); }
};

template <>
struct Formula<Op::Clamp> {  // into [a, b]; an absent bound is -inf / +inf
  static constexpr bool from_output = false, piecewise_constant = true;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) {
    const T lo = x < s.a ? s.a : x;  // keeps NaN: comparisons with NaN are false
    return s.b < lo ? s.b : lo;      // min > max: every element becomes max, as PyTorch
  }
  template <class T>  // passes where a <= x <= b, boundaries included (PyTorch's tie rule)
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T> s) { return T(x >= s.a && x <= s.b); }
};

template <>
struct Formula<Op::Relu> {  // max(x, 0); NaN stays NaN
  static constexpr bool from_output = true, piecewise_constant = true;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) { return x < T(0) ? T(0) : x; }
  template <class T>  // as PyTorch's threshold_backward: 0 where y <= 0 (the kink too), else 1
  EMBER_HOST_DEVICE static T derivative(T y, Scalars<T>) { return T(!(y <= T(0))); }
};

template <>
struct Formula<Op::LeakyRelu> {  // negative slope a
  static constexpr bool from_output = false, piecewise_constant = true;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) { return x > T(0) ? x : x * s.a; }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T> s) { return x > T(0) ? T(1) : s.a; }
};

template <>
struct Formula<Op::Elu> {  // x for x > 0, a (exp(x) - 1) otherwise
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) {
    using std::expm1;
    return x > T(0) ? x : s.a * expm1(x);
  }
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T> s) {
    using std::exp;
    return x > T(0) ? T(1) : s.a * exp(x);
  }
};

// ---------------------------------------------------------------- gelu, sigmoid family

template <>
struct Formula<Op::Gelu> {  // exact: 0.5 x (1 + erf(x / sqrt 2))
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    return T(0.5) * x * (T(1) + gelu_erf(x * GeluConstants<T>::inv_sqrt2));
  }
  template <class T>  // Phi(x) + x phi(x), Phi the normal CDF and phi its density
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) {
    using std::exp;
    const T cdf = T(0.5) * (T(1) + gelu_erf(x * GeluConstants<T>::inv_sqrt2));
    const T pdf = GeluConstants<T>::inv_sqrt2pi * exp(T(-0.5) * x * x);
    return cdf + x * pdf;
  }
};

template <>
struct Formula<Op::GeluTanh> {  // 0.5 x (1 + tanh(u)), u = beta (x + kappa x^3)
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>  // as x * sigmoid(2u): the same function, faster than tanh, and without
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {  // the cancellation in 1 + tanh(u) < 0
    using std::exp;
    using C = GeluConstants<T>;
    return x / (T(1) + exp(T(-2) * C::beta * (x + C::kappa * x * x * x)));
  }
  // 0.5 (1 + t) + 0.5 x (1 - t^2) beta (1 + 3 kappa x^2), t = tanh(u); with s = sigmoid(2u),
  // 0.5 (1 + t) = s and 0.5 (1 - t^2) = 2 s (1 - s). 1 - s is taken as e s (e = exp(-2u))
  // where s is near 1, as 1 - s would cancel there (error times ~20 for |x| of a few units).
  template <class T>
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) {
    using std::exp;
    using C = GeluConstants<T>;
    const T x2 = x * x;
    const T e = exp(T(-2) * C::beta * (x + C::kappa * x2 * x));
    const T s = T(1) / (T(1) + e);
    const T one_minus_s = s < T(0.5) ? T(1) - s : e * s;
    return s + T(2) * x * s * one_minus_s * C::beta * (T(1) + T(3) * C::kappa * x2);
  }
};

template <>
struct Formula<Op::Sigmoid> {
  static constexpr bool from_output = true, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::exp;
    return T(1) / (T(1) + exp(-x));
  }
  template <class T>  // s (1 - s)
  EMBER_HOST_DEVICE static T derivative(T y, Scalars<T>) { return y * (T(1) - y); }
};

template <>
struct Formula<Op::Softplus> {  // log(1 + exp(a x)) / a, and x where a x > b (the threshold)
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T> s) {
    using std::exp;
    using std::log1p;
    const T bx = x * s.a;
    return bx > s.b ? x : log1p(exp(bx)) / s.a;
  }
  template <class T>  // sigmoid(a x) below the threshold, 1 above it
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T> s) {
    using std::exp;
    const T bx = x * s.a;
    return bx > s.b ? T(1) : T(1) / (T(1) + exp(-bx));
  }
};

template <>
struct Formula<Op::Silu> {  // x sigmoid(x)
  static constexpr bool from_output = false, piecewise_constant = false;
  template <class T>
  EMBER_HOST_DEVICE static T value(T x, Scalars<T>) {
    using std::exp;
    return x / (T(1) + exp(-x));
  }
  template <class T>  // s (1 + x (1 - s)), s = sigmoid(x)
  EMBER_HOST_DEVICE static T derivative(T x, Scalars<T>) {
    using std::exp;
    const T s = T(1) / (T(1) + exp(-x));
    return s * (T(1) + x * (T(1) - s));
  }
};

}  // namespace ember::pointwise
