// Elementwise math of one tensor: exp, log, sqrt, rsqrt, abs, sin, cos, tanh, erf, square,
// reciprocal, clamp, clamp_min, clamp_max.
//
// Gradient contract (as in arith.hpp): grad_input = grad_output * conj(d out / d in). Each
// rule has two paths. In a plain backward (GradMode off) it runs one fused pass over the
// gradient and a saved tensor (the input, or the detached output where the derivative is
// cheaper from it). Under create_graph (GradMode on) it is written with differentiable ops and
// recomputes the output from the input, so second derivatives are right. Derivatives that are
// piecewise constant (abs, clamp) multiply by a constant mask: its own derivative is zero
// almost everywhere, which is exactly the second derivative.
#pragma once

#include <cmath>
#include <complex>
#include <optional>
#include <type_traits>

#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cuda/dispatch.hpp>
#include <ember/core/tensor.hpp>

namespace ember {

namespace detail {

// g * conj(df(s)) in one pass, for backward rules when no graph is being recorded.
template <class T, class F>
Tensor<T> mul_derivative(const Tensor<T>& g, const Tensor<T>& s, const char* op, F df) {
  return cpu::map_binary<T>(g, s, op, [df](T gv, T sv) { return gv * conj_scalar(df(sv)); });
}

// g * df(s) for a derivative df that is piecewise constant in s (a mask or a sign). Under
// create_graph the derivative is a constant tensor, so the result is still differentiable
// with respect to g and has the right (zero) derivative with respect to s.
template <class T, class F>
Tensor<T> mul_const_derivative(const Tensor<T>& g, const Tensor<T>& s, const char* op, F df) {
  if (GradMode::is_enabled()) return mul(g, cpu::map_unary<T>(s.detach(), df));
  return mul_derivative(g, s, op, df);
}

// The CUDA path of a pointwise op whose forward output `out` a kernel already computed. The
// backward is g * deriv(x, y) in a plain backward (deriv: a derivative kernel on the detached
// input x or output y) and graph_rule(x, g) under create_graph (the CPU rule's differentiable
// ops, which run on the GPU too).
template <class T, class D, class G>
Tensor<T> cuda_pointwise(const Tensor<T>& x, Tensor<T> out, const char* op, D deriv,
                         G graph_rule) {
  if (any_requires_grad(x))
    record(out, op, {x}, [x, y = out.detach(), deriv, graph_rule](const Tensor<T>& g) -> Grads {
      if (GradMode::is_enabled()) return {graph_rule(x, g)};
      return {mul(g, deriv(x.detach(), y))};
    });
  return out;
}

// A derivative kernel for cuda_pointwise: f applied to the input (FromOutput false) or to the
// forward output, with the op's scalar s.
template <class T, bool FromOutput>
auto cuda_derivative(cuda::UnaryOp f, const char* op, double s = 0.0) {
  return [f, op, s](const Tensor<T>& x, const Tensor<T>& y) {
    return cuda::unary(f, FromOutput ? y : x, s, op);
  };
}

}  // namespace detail

// ---------------------------------------------------------------- exp, log

template <class T>
Tensor<T> exp(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "exp: needs a floating-point or complex tensor");
  if (cuda::use_cuda("exp", x)) {  // backward: g * exp(x), with ops that run on the GPU
    Tensor<T> out = cuda::unary(cuda::UnaryOp::Exp, x, 0.0, "exp");
    if (any_requires_grad(x))
      record(out, "exp", {x}, [x, y = out.detach()](const Tensor<T>& g) -> Grads {
        return {mul(g, GradMode::is_enabled() ? exp(x) : y)};
      });
    return out;
  }
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return std::exp(v); });
  if (any_requires_grad(x))
    record(out, "exp", {x}, [x, y = out.detach()](const Tensor<T>& g) -> Grads {
      if (GradMode::is_enabled()) return {mul(g, conj(exp(x)))};
      return {detail::mul_derivative(g, y, "exp_backward", [](T v) { return v; })};
    });
  return out;
}

// Natural logarithm (NaN below 0 for real tensors, -inf at 0). This exact signature is
// forward-declared in ops/arith.hpp for pow's gradient.
template <class T>
Tensor<T> log(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "log: needs a floating-point or complex tensor");
  if (cuda::use_cuda("log", x)) {  // backward: g / x
    Tensor<T> out = cuda::unary(cuda::UnaryOp::Log, x, 0.0, "log");
    if (any_requires_grad(x))
      record(out, "log", {x}, [x](const Tensor<T>& g) -> Grads { return {div(g, x)}; });
    return out;
  }
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return std::log(v); });
  if (any_requires_grad(x))
    record(out, "log", {x}, [x](const Tensor<T>& g) -> Grads {
      if (GradMode::is_enabled()) return {div(g, conj(x))};
      return {cpu::map_binary<T>(g, x.detach(), "log_backward",
                                 [](T gv, T xv) { return gv / conj_scalar(xv); })};
    });
  return out;
}

// ---------------------------------------------------------------- powers

template <class T>
Tensor<T> sqrt(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "sqrt: needs a floating-point or complex tensor");
  if (cuda::use_cuda("sqrt", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Sqrt, x, 0.0, "sqrt"), "sqrt",
        detail::cuda_derivative<T, true>(cuda::UnaryOp::SqrtGradY, "sqrt_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) { return div(g, conj(mul(sqrt(x), T(2)))); });
  check_cpu(x.device(), "sqrt");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return std::sqrt(v); });
  if (any_requires_grad(x))
    record(out, "sqrt", {x}, [x, y = out.detach()](const Tensor<T>& g) -> Grads {
      // d sqrt(x) = 1 / (2 sqrt(x))
      if (GradMode::is_enabled()) return {div(g, conj(mul(sqrt(x), T(2))))};
      return {cpu::map_binary<T>(g, y, "sqrt_backward",
                                 [](T gv, T yv) { return gv / conj_scalar(T(2) * yv); })};
    });
  return out;
}

// 1 / sqrt(x)
template <class T>
Tensor<T> rsqrt(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "rsqrt: needs a floating-point or complex tensor");
  if (cuda::use_cuda("rsqrt", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Rsqrt, x, 0.0, "rsqrt"), "rsqrt",
        detail::cuda_derivative<T, true>(cuda::UnaryOp::RsqrtGradY, "rsqrt_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) {
          const Tensor<T> r = rsqrt(x);
          return mul(g, conj(mul(mul(r, mul(r, r)), T(-0.5))));
        });
  check_cpu(x.device(), "rsqrt");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return T(1) / std::sqrt(v); });
  if (any_requires_grad(x))
    record(out, "rsqrt", {x}, [x, y = out.detach()](const Tensor<T>& g) -> Grads {
      // d x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
      if (GradMode::is_enabled()) {
        const Tensor<T> r = rsqrt(x);
        return {mul(g, conj(mul(mul(r, mul(r, r)), T(-0.5))))};
      }
      return {
          detail::mul_derivative(g, y, "rsqrt_backward", [](T v) { return T(-0.5) * v * v * v; })};
    });
  return out;
}

template <class T>
Tensor<T> square(const Tensor<T>& x) {
  if (cuda::use_cuda("square", x)) {
    Tensor<T> out = cuda::unary(cuda::UnaryOp::Square, x, 0.0, "square");
    if constexpr (is_differentiable_v<T>)
      return detail::cuda_pointwise(
          x, out, "square",
          detail::cuda_derivative<T, false>(cuda::UnaryOp::MulScalar, "square_backward", 2.0),
          [](const Tensor<T>& x, const Tensor<T>& g) { return mul(g, conj(mul(x, T(2)))); });
    return out;
  }
  check_cpu(x.device(), "square");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return v * v; });
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(out, "square", {x}, [x](const Tensor<T>& g) -> Grads {
        if (GradMode::is_enabled()) return {mul(g, conj(mul(x, T(2))))};
        return {
            detail::mul_derivative(g, x.detach(), "square_backward", [](T v) { return T(2) * v; })};
      });
  }
  return out;
}

// 1 / x
template <class T>
Tensor<T> reciprocal(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "reciprocal: needs a floating-point or complex tensor");
  if (cuda::use_cuda("reciprocal", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Reciprocal, x, 0.0, "reciprocal"), "reciprocal",
        detail::cuda_derivative<T, true>(cuda::UnaryOp::ReciprocalGradY, "reciprocal_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) {
          const Tensor<T> r = reciprocal(x);
          return mul(g, conj(neg(mul(r, r))));
        });
  check_cpu(x.device(), "reciprocal");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return T(1) / v; });
  if (any_requires_grad(x))
    record(out, "reciprocal", {x}, [x, y = out.detach()](const Tensor<T>& g) -> Grads {
      // d (1/x) = -1/x^2 = -y^2
      if (GradMode::is_enabled()) {
        const Tensor<T> r = reciprocal(x);
        return {mul(g, conj(neg(mul(r, r))))};
      }
      return {detail::mul_derivative(g, y, "reciprocal_backward", [](T v) { return -(v * v); })};
    });
  return out;
}

// ---------------------------------------------------------------- trigonometric, hyperbolic

template <class T>
Tensor<T> cos(const Tensor<T>& x);

template <class T>
Tensor<T> sin(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "sin: needs a floating-point or complex tensor");
  if (cuda::use_cuda("sin", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Sin, x, 0.0, "sin"), "sin",
        detail::cuda_derivative<T, false>(cuda::UnaryOp::Cos, "sin_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) { return mul(g, conj(cos(x))); });
  check_cpu(x.device(), "sin");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return std::sin(v); });
  if (any_requires_grad(x))
    record(out, "sin", {x}, [x](const Tensor<T>& g) -> Grads {
      if (GradMode::is_enabled()) return {mul(g, conj(cos(x)))};
      return {
          detail::mul_derivative(g, x.detach(), "sin_backward", [](T v) { return std::cos(v); })};
    });
  return out;
}

template <class T>
Tensor<T> cos(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "cos: needs a floating-point or complex tensor");
  if (cuda::use_cuda("cos", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Cos, x, 0.0, "cos"), "cos",
        detail::cuda_derivative<T, false>(cuda::UnaryOp::NegSin, "cos_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) { return mul(g, conj(neg(sin(x)))); });
  check_cpu(x.device(), "cos");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return std::cos(v); });
  if (any_requires_grad(x))
    record(out, "cos", {x}, [x](const Tensor<T>& g) -> Grads {
      if (GradMode::is_enabled()) return {mul(g, conj(neg(sin(x))))};
      return {
          detail::mul_derivative(g, x.detach(), "cos_backward", [](T v) { return -std::sin(v); })};
    });
  return out;
}

// The math function; ops/activation.hpp uses this same op as the activation.
template <class T>
Tensor<T> tanh(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "tanh: needs a floating-point or complex tensor");
  if (cuda::use_cuda("tanh", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Tanh, x, 0.0, "tanh"), "tanh",
        detail::cuda_derivative<T, true>(cuda::UnaryOp::TanhGradY, "tanh_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) {
          const Tensor<T> t = tanh(x);
          return mul(g, conj(rsub(mul(t, t), T(1))));
        });
  check_cpu(x.device(), "tanh");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return std::tanh(v); });
  if (any_requires_grad(x))
    record(out, "tanh", {x}, [x, y = out.detach()](const Tensor<T>& g) -> Grads {
      // d tanh = 1 - tanh^2
      if (GradMode::is_enabled()) {
        const Tensor<T> t = tanh(x);
        return {mul(g, conj(rsub(mul(t, t), T(1))))};
      }
      return {detail::mul_derivative(g, y, "tanh_backward", [](T v) { return T(1) - v * v; })};
    });
  return out;
}

// Gauss error function (real only: the C++ library has no complex erf). gelu uses it.
template <class T>
Tensor<T> erf(const Tensor<T>& x) {
  static_assert(std::is_floating_point_v<T>, "erf: needs a real floating-point tensor");
  if (cuda::use_cuda("erf", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Erf, x, 0.0, "erf"), "erf",
        detail::cuda_derivative<T, false>(cuda::UnaryOp::ErfGrad, "erf_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) {
          return mul(g, mul(exp(neg(mul(x, x))), T(M_2_SQRTPI)));
        });
  check_cpu(x.device(), "erf");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return std::erf(v); });
  if (any_requires_grad(x))
    record(out, "erf", {x}, [x](const Tensor<T>& g) -> Grads {
      // d erf = 2/sqrt(pi) exp(-x^2)
      const T c = T(M_2_SQRTPI);
      if (GradMode::is_enabled()) return {mul(g, mul(exp(neg(mul(x, x))), c))};
      return {detail::mul_derivative(g, x.detach(), "erf_backward",
                                     [c](T v) { return c * std::exp(-v * v); })};
    });
  return out;
}

// ---------------------------------------------------------------- abs

// |x|. For complex x the result is real (Tensor<real_t<T>>), as in PyTorch; for real x it has
// x's type.
template <class T>
Tensor<real_t<T>> abs(const Tensor<T>& x) {
  using R = real_t<T>;
  if constexpr (std::is_floating_point_v<T>) {
    if (cuda::use_cuda("abs", x)) {
      // d|x| = sign(x), 0 at 0: a constant mask in both modes (its derivative is zero a.e.).
      const auto sign = detail::cuda_derivative<T, false>(cuda::UnaryOp::Sign, "abs_backward");
      return detail::cuda_pointwise(
          x, cuda::unary(cuda::UnaryOp::Abs, x, 0.0, "abs"), "abs", sign,
          [sign](const Tensor<T>& x, const Tensor<T>& g) { return mul(g, sign(x.detach(), x)); });
    }
  }
  check_cpu(x.device(), "abs");
  Tensor<R> out = cpu::map_unary<R>(x, [](T v) -> R {
    if constexpr (std::is_unsigned_v<T> || std::is_same_v<T, bool>)
      return v;
    else
      return R(std::abs(v));
  });
  if constexpr (std::is_floating_point_v<T>) {
    if (any_requires_grad(x))
      record(out, "abs", {x}, [x](const Tensor<T>& g) -> Grads {
        // d|x| = sign(x), 0 at 0 (PyTorch's choice).
        return {detail::mul_const_derivative(g, x, "abs_backward",
                                             [](T v) { return T((v > T(0)) - (v < T(0))); })};
      });
  } else if constexpr (is_complex_v<T>) {
    if (any_requires_grad(x))
      record(out, "abs", {x}, [x](const Tensor<R>& g) -> Grads {
        // grad = g * sgn(x), sgn(x) = x / |x| (0 at 0). Under create_graph sgn is built from
        // differentiable ops; adding 1 to |x| where it is 0 keeps x / |x| finite there.
        const Tensor<T> gc = g.template to<T>();
        if (GradMode::is_enabled()) {
          const Tensor<T> zero_mask =
              cpu::map_unary<T>(x.detach(), [](T v) { return T(v == T(0)); });
          return {mul(gc, div(x, add(abs(x).template to<T>(), zero_mask)))};
        }
        return {cpu::map_binary<T>(gc, x.detach(), "abs_backward", [](T gv, T v) {
          const R a = std::abs(v);
          return a == R(0) ? T(0) : gv * (v / a);
        })};
      });
  }
  return out;
}

// ---------------------------------------------------------------- clamp

// Clamps into [min, max]; either bound may be absent, not both. NaN stays NaN, and where
// min > max every element becomes max (PyTorch's behaviour). The gradient passes where
// min <= x <= max, boundaries included (PyTorch's tie rule), and is 0 outside.
template <class T>
Tensor<T> clamp(const Tensor<T>& x, std::optional<std::type_identity_t<T>> min,
                std::optional<std::type_identity_t<T>> max) {
  static_assert(!is_complex_v<T>, "clamp: complex tensors have no order");
  if (cuda::use_cuda("clamp", x)) {
    EMBER_CHECK(min.has_value() || max.has_value(),
                "clamp: at least one of min and max must be given (input shape ",
                shape_str(x.shape()), ")");
    // An absent bound is an infinite one: the same comparisons as the CPU's give the same
    // values, NaN and min > max included, and the same gradient mask.
    const double lo = min ? double(*min) : -INFINITY, hi = max ? double(*max) : INFINITY;
    Tensor<T> out = cuda::unary2(cuda::UnaryOp::Clamp, x, lo, hi, "clamp");
    if constexpr (is_differentiable_v<T>) {
      if (any_requires_grad(x))
        record(out, "clamp", {x}, [x, lo, hi](const Tensor<T>& g) -> Grads {
          return {mul(g, cuda::unary2(cuda::UnaryOp::ClampMask, x.detach(), lo, hi,
                                      "clamp_backward"))};
        });
    }
    return out;
  }
  check_cpu(x.device(), "clamp");
  EMBER_CHECK(min.has_value() || max.has_value(),
              "clamp: at least one of min and max must be given (input shape ",
              shape_str(x.shape()), ")");
  Tensor<T> out;
  if (min && max) {
    out = cpu::map_unary<T>(x, [lo = *min, hi = *max](T v) {
      const T a = v < lo ? lo : v;  // keeps NaN: comparisons with NaN are false
      return hi < a ? hi : a;
    });
  } else if (min) {
    out = cpu::map_unary<T>(x, [lo = *min](T v) { return v < lo ? lo : v; });
  } else {
    out = cpu::map_unary<T>(x, [hi = *max](T v) { return hi < v ? hi : v; });
  }
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(out, "clamp", {x}, [x, min, max](const Tensor<T>& g) -> Grads {
        return {detail::mul_const_derivative(g, x, "clamp_backward", [min, max](T v) {
          const bool inside = (!min || v >= *min) && (!max || v <= *max);
          return T(inside);
        })};
      });
  }
  return out;
}

template <class T>
Tensor<T> clamp_min(const Tensor<T>& x, std::type_identity_t<T> min) {
  return clamp(x, std::optional<T>(min), std::nullopt);
}

template <class T>
Tensor<T> clamp_max(const Tensor<T>& x, std::type_identity_t<T> max) {
  return clamp(x, std::nullopt, std::optional<T>(max));
}

}  // namespace ember
