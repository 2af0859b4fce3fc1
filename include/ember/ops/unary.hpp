// Elementwise math of one tensor: exp, log, sqrt, rsqrt, square, reciprocal, sin, cos, tanh,
// erf, abs, clamp, clamp_min, clamp_max, round, floor, ceil.
//
// Every op here (and in ops/activation.hpp) is one call of pointwise_op: the value on the
// tensor's device (backend/pointwise.hpp, from the op's Formula in
// backend/pointwise_formulas.hpp) and one gradient rule, grad_input = grad_output *
// conj(d out / d in):
// - in a plain backward (GradMode off), one fused pass g * conj(derivative) with the Formula's
//   derivative, on the input or on the saved output;
// - under create_graph, the op's graph rule: the derivative written with differentiable ops,
//   recomputed from the input, so second derivatives are right. Piecewise-constant
//   derivatives (abs, clamp, relu, leaky_relu, round, floor, ceil) need none: the rule multiplies
//   by the derivative as a constant mask, whose own derivative is zero almost everywhere.
#pragma once

#include <cmath>
#include <complex>
#include <limits>
#include <optional>
#include <type_traits>

#include <ember/backend/pointwise.hpp>
#include <ember/core/tensor.hpp>

namespace ember {

namespace detail {

// No graph rule: for ops whose Formula is piecewise constant.
struct MaskRule {};

// The one rule shared by every pointwise op (see the top of the file). graph_rule(g, x)
// returns the input gradient from differentiable ops, or is MaskRule.
template <pointwise::Op op, class T, class GraphRule = MaskRule>
Tensor<T> pointwise_op(const Tensor<T>& x, const char* name, pointwise::Scalars<T> s = {},
                       GraphRule graph_rule = {}) {
  using F = pointwise::Formula<op>;
  Tensor<T> out = backend::pointwise<op>(x, s, name);
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(out, name, {x}, [x, y = out.detach(), s, name, graph_rule](const Tensor<T>& g) -> Grads {
        const Tensor<T> v = F::from_output ? y : x.detach();
        if constexpr (F::piecewise_constant) {
          if (GradMode::is_enabled()) return {mul(g, backend::pointwise_derivative<op>(v, s, name))};
        } else {
          if (GradMode::is_enabled()) return {graph_rule(g, x)};
        }
        return {backend::pointwise_backward<op>(g, v, s, name)};
      });
  }
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------- exp, log

template <class T>
Tensor<T> exp(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "exp: needs a floating-point or complex tensor");
  return detail::pointwise_op<pointwise::Op::Exp>(
      x, "exp", {}, [](const Tensor<T>& g, const Tensor<T>& x) { return mul(g, conj(exp(x))); });
}

// Natural logarithm (NaN below 0 for real tensors, -inf at 0). This exact signature is
// forward-declared in ops/arith.hpp for pow's gradient.
template <class T>
Tensor<T> log(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "log: needs a floating-point or complex tensor");
  return detail::pointwise_op<pointwise::Op::Log>(
      x, "log", {}, [](const Tensor<T>& g, const Tensor<T>& x) { return div(g, conj(x)); });
}

// ---------------------------------------------------------------- powers

template <class T>
Tensor<T> sqrt(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "sqrt: needs a floating-point or complex tensor");
  return detail::pointwise_op<pointwise::Op::Sqrt>(
      x, "sqrt", {},
      [](const Tensor<T>& g, const Tensor<T>& x) { return div(g, conj(mul(sqrt(x), T(2)))); });
}

// 1 / sqrt(x)
template <class T>
Tensor<T> rsqrt(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "rsqrt: needs a floating-point or complex tensor");
  return detail::pointwise_op<pointwise::Op::Rsqrt>(
      x, "rsqrt", {}, [](const Tensor<T>& g, const Tensor<T>& x) {
        const Tensor<T> r = rsqrt(x);
        return mul(g, conj(mul(mul(r, mul(r, r)), T(-0.5))));
      });
}

// x * x, for every dtype (differentiable for floating-point and complex).
template <class T>
Tensor<T> square(const Tensor<T>& x) {
  return detail::pointwise_op<pointwise::Op::Square>(
      x, "square", {},
      [](const Tensor<T>& g, const Tensor<T>& x) { return mul(g, conj(mul(x, T(2)))); });
}

// 1 / x
template <class T>
Tensor<T> reciprocal(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "reciprocal: needs a floating-point or complex tensor");
  return detail::pointwise_op<pointwise::Op::Reciprocal>(
      x, "reciprocal", {}, [](const Tensor<T>& g, const Tensor<T>& x) {
        const Tensor<T> r = reciprocal(x);
        return mul(g, conj(neg(mul(r, r))));
      });
}

// ---------------------------------------------------------------- trigonometric, hyperbolic

template <class T>
Tensor<T> cos(const Tensor<T>& x);

template <class T>
Tensor<T> sin(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "sin: needs a floating-point or complex tensor");
  return detail::pointwise_op<pointwise::Op::Sin>(
      x, "sin", {}, [](const Tensor<T>& g, const Tensor<T>& x) { return mul(g, conj(cos(x))); });
}

template <class T>
Tensor<T> cos(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "cos: needs a floating-point or complex tensor");
  return detail::pointwise_op<pointwise::Op::Cos>(
      x, "cos", {},
      [](const Tensor<T>& g, const Tensor<T>& x) { return mul(g, conj(neg(sin(x)))); });
}

// The math function; ops/activation.hpp uses this same op as the activation.
template <class T>
Tensor<T> tanh(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "tanh: needs a floating-point or complex tensor");
  return detail::pointwise_op<pointwise::Op::Tanh>(
      x, "tanh", {}, [](const Tensor<T>& g, const Tensor<T>& x) {
        const Tensor<T> t = tanh(x);
        return mul(g, conj(rsub(mul(t, t), T(1))));
      });
}

// Gauss error function (real only: the C++ library has no complex erf). gelu uses it.
template <class T>
Tensor<T> erf(const Tensor<T>& x) {
  static_assert(std::is_floating_point_v<T>, "erf: needs a real floating-point tensor");
  return detail::pointwise_op<pointwise::Op::Erf>(
      x, "erf", {}, [](const Tensor<T>& g, const Tensor<T>& x) {
        return mul(g, mul(exp(neg(mul(x, x))), pointwise::GeluConstants<T>::two_over_sqrtpi));
      });
}

// ---------------------------------------------------------------- abs

// |x|. For complex x the result is real (Tensor<real_t<T>>), as in PyTorch; for real x it has
// x's type. The derivative of real abs is sign(x), 0 at 0 (PyTorch's choice).
template <class T>
Tensor<real_t<T>> abs(const Tensor<T>& x) {
  if constexpr (!is_complex_v<T>) {
    return detail::pointwise_op<pointwise::Op::Abs>(x, "abs");
  } else {
    using R = real_t<T>;
    check_cpu(x.device(), "abs");  // complex |x| has no CUDA kernel
    Tensor<R> out = cpu::map_unary<R>(x, [](T v) { return R(std::abs(v)); });
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
    return out;
  }
}

// ---------------------------------------------------------------- clamp

// Clamps into [min, max]; either bound may be absent, not both. NaN stays NaN, and where
// min > max every element becomes max (PyTorch's behaviour). The gradient passes where
// min <= x <= max, boundaries included (PyTorch's tie rule), and is 0 outside.
template <class T>
Tensor<T> clamp(const Tensor<T>& x, std::optional<std::type_identity_t<T>> min,
                std::optional<std::type_identity_t<T>> max) {
  static_assert(!is_complex_v<T>, "clamp: complex tensors have no order");
  EMBER_CHECK(min.has_value() || max.has_value(),
              "clamp: at least one of min and max must be given (input shape ",
              shape_str(x.shape()), ")");
  // An absent bound is the infinite one (the lowest / highest value for integer types): the
  // same comparisons give the same values, NaN and min > max included, and the same mask.
  constexpr bool inf = std::numeric_limits<T>::has_infinity;
  const T lowest = inf ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
  const T highest = inf ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
  return detail::pointwise_op<pointwise::Op::Clamp>(x, "clamp",
                                                    {min.value_or(lowest), max.value_or(highest)});
}

template <class T>
Tensor<T> clamp_min(const Tensor<T>& x, std::type_identity_t<T> min) {
  return clamp(x, std::optional<T>(min), std::nullopt);
}

template <class T>
Tensor<T> clamp_max(const Tensor<T>& x, std::type_identity_t<T> max) {
  return clamp(x, std::nullopt, std::optional<T>(max));
}

// ---------------------------------------------------------------- round, floor, ceil

// Rounding to integer values, in x's type (like torch.round / floor / ceil). round breaks ties
// to even (2.5 -> 2, -0.5 -> -0), as torch.round and std::nearbyint. The gradient is zero
// everywhere, the jumps included (PyTorch's convention), and stays zero under create_graph.
template <class T>
Tensor<T> round(const Tensor<T>& x) {
  static_assert(!is_complex_v<T>, "round: complex tensors are not supported");
  return detail::pointwise_op<pointwise::Op::Round>(x, "round");
}

template <class T>
Tensor<T> floor(const Tensor<T>& x) {
  static_assert(!is_complex_v<T>, "floor: complex tensors are not supported");
  return detail::pointwise_op<pointwise::Op::Floor>(x, "floor");
}

template <class T>
Tensor<T> ceil(const Tensor<T>& x) {
  static_assert(!is_complex_v<T>, "ceil: complex tensors are not supported");
  return detail::pointwise_op<pointwise::Op::Ceil>(x, "ceil");
}

}  // namespace ember
