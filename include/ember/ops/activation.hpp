// Activation functions: relu, leaky_relu, elu, gelu, sigmoid, softplus, silu (and tanh, which
// is the math op from ops/unary.hpp). Real floating-point tensors only.
//
// Forward passes are one map_unary pass over the data (parallel). Backward rules follow
// ops/unary.hpp: a fused single pass in a plain backward; under create_graph, differentiable
// ops recomputed from the input (or a constant mask where the derivative is piecewise
// constant), so second derivatives are right. Formulas match PyTorch's exactly.
#pragma once

#include <cmath>
#include <string_view>
#include <type_traits>

#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cuda/dispatch.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/unary.hpp>

namespace ember {

namespace detail {

template <class T>
void check_activation(const Tensor<T>& x, const char* op) {
  static_assert(std::is_floating_point_v<T>,
                "activations need a real floating-point tensor (float or double)");
  check_cpu(x.device(), op);
}

// erf for gelu. For float: Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, about one
// float ulp of 1), the approximation PyTorch's vectorised CPU kernel uses too; about 3x faster
// than std::erf(float), which dominates gelu's cost. Double keeps std::erf.
template <class T>
T gelu_erf(T x) {
  if constexpr (std::is_same_v<T, float>) {
    const float a = std::abs(x);
    const float t = 1.0f / (0.3275911f * a + 1.0f);
    const float r =
        (((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t +
        0.254829592f;
    return std::copysign(1.0f - r * t * std::exp(-x * x), x);
  } else {
    return std::erf(x);
  }
}

}  // namespace detail

// max(x, 0); NaN stays NaN. Gradient 0 at x <= 0 (PyTorch's choice at the kink).
template <class T>
Tensor<T> relu(const Tensor<T>& x) {
  if (cuda::use_cuda("relu", x)) {
    Tensor<T> out = cuda::unary(cuda::UnaryOp::Relu, x, 0.0, "relu");
    if (any_requires_grad(x))
      record(out, "relu", {x}, [y = out.detach()](const Tensor<T>& g) -> Grads {
        // As the CPU rule: g where y > 0; under create_graph g times a constant mask.
        if (GradMode::is_enabled())
          return {mul(g, cuda::unary(cuda::UnaryOp::Step, y, 0.0, "relu"))};
        return {cuda::binary(cuda::BinaryOp::ReluBackward, g, y, "relu_backward")};
      });
    return out;
  }
  detail::check_activation(x, "relu");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return v < T(0) ? T(0) : v; });
  if (any_requires_grad(x))
    record(out, "relu", {x}, [y = out.detach()](const Tensor<T>& g) -> Grads {
      // From the output, as PyTorch's threshold_backward: 0 where y <= 0, g elsewhere (NaN too).
      return {
          detail::mul_const_derivative(g, y, "relu_backward", [](T v) { return T(!(v <= T(0))); })};
    });
  return out;
}

// x for x > 0, negative_slope * x otherwise.
template <class T>
Tensor<T> leaky_relu(const Tensor<T>& x, double negative_slope = 0.01) {
  if (cuda::use_cuda("leaky_relu", x)) {  // the derivative is a constant mask in both modes
    const double s = double(T(negative_slope));
    const auto mask =
        detail::cuda_derivative<T, false>(cuda::UnaryOp::LeakyReluGrad, "leaky_relu_backward", s);
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::LeakyRelu, x, s, "leaky_relu"), "leaky_relu", mask,
        [mask](const Tensor<T>& x, const Tensor<T>& g) { return mul(g, mask(x.detach(), x)); });
  }
  detail::check_activation(x, "leaky_relu");
  const T s = T(negative_slope);
  Tensor<T> out = cpu::map_unary<T>(x, [s](T v) { return v > T(0) ? v : v * s; });
  if (any_requires_grad(x))
    record(out, "leaky_relu", {x}, [x, s](const Tensor<T>& g) -> Grads {
      return {detail::mul_const_derivative(g, x, "leaky_relu_backward",
                                           [s](T v) { return v > T(0) ? T(1) : s; })};
    });
  return out;
}

// x for x > 0, alpha * (exp(x) - 1) otherwise.
template <class T>
Tensor<T> elu(const Tensor<T>& x, double alpha = 1.0) {
  if (cuda::use_cuda("elu", x)) {
    const T a = T(alpha);
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Elu, x, double(a), "elu"), "elu",
        detail::cuda_derivative<T, false>(cuda::UnaryOp::EluGrad, "elu_backward", double(a)),
        [a](const Tensor<T>& x, const Tensor<T>& g) {  // as the CPU rule, see there
          const Tensor<T> neg_branch = mul(exp(clamp_max(x, T(0))), a);
          return where(gt(x, T(0)), g, mul(g, neg_branch));
        });
  }
  detail::check_activation(x, "elu");
  const T a = T(alpha);
  Tensor<T> out = cpu::map_unary<T>(x, [a](T v) { return v > T(0) ? v : a * std::expm1(v); });
  if (any_requires_grad(x))
    record(out, "elu", {x}, [x, a](const Tensor<T>& g) -> Grads {
      if (GradMode::is_enabled()) {
        // exp of clamp_max(x, 0): the branch not taken must stay finite, or its zero
        // gradient times an infinite exp(x) would give NaN in the second derivative.
        const Tensor<T> neg_branch = mul(exp(clamp_max(x, T(0))), a);
        return {where(gt(x, T(0)), g, mul(g, neg_branch))};
      }
      return {detail::mul_derivative(g, x.detach(), "elu_backward",
                                     [a](T v) { return v > T(0) ? T(1) : a * std::exp(v); })};
    });
  return out;
}

// ---------------------------------------------------------------- gelu

enum class GeluApproximate { None, Tanh };

namespace detail {

// d gelu / dx from differentiable ops, for the CUDA rule under create_graph (the same formulas
// as the CPU rule below): exact Phi(x) + x phi(x); tanh 0.5 (1 + t) + 0.5 x (1 - t^2) u'.
template <class T>
Tensor<T> gelu_derivative_graph(const Tensor<T>& x, bool exact) {
  constexpr T kBeta = T(M_SQRT2 * M_2_SQRTPI * 0.5);  // sqrt(2 / pi)
  constexpr T kKappa = T(0.044715);
  constexpr T kInvSqrt2 = T(M_SQRT1_2);
  constexpr T kInvSqrt2Pi = T(M_2_SQRTPI * M_SQRT1_2 * 0.5);  // 1 / sqrt(2 pi)
  if (exact) {
    const Tensor<T> cdf = mul(add(erf(mul(x, kInvSqrt2)), T(1)), T(0.5));
    const Tensor<T> pdf = mul(exp(mul(mul(x, x), T(-0.5))), kInvSqrt2Pi);
    return add(cdf, mul(x, pdf));
  }
  const Tensor<T> x2 = mul(x, x);
  const Tensor<T> t = tanh(mul(add(x, mul(mul(x2, x), kKappa)), kBeta));
  const Tensor<T> du = mul(add(mul(x2, T(3) * kKappa), T(1)), kBeta);
  const Tensor<T> left = mul(add(t, T(1)), T(0.5));
  const Tensor<T> right = mul(mul(mul(x, rsub(mul(t, t), T(1))), du), T(0.5));
  return add(left, right);
}

}  // namespace detail

// Exact:  0.5 x (1 + erf(x / sqrt 2)).
// Tanh:   0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <class T>
Tensor<T> gelu(const Tensor<T>& x, GeluApproximate approximate = GeluApproximate::None) {
  if (cuda::use_cuda("gelu", x)) {
    const bool exact = approximate == GeluApproximate::None;
    Tensor<T> out =
        cuda::unary(exact ? cuda::UnaryOp::Gelu : cuda::UnaryOp::GeluTanh, x, 0.0, "gelu");
    if (any_requires_grad(x))
      record(out, "gelu", {x}, [x, exact](const Tensor<T>& g) -> Grads {
        if (GradMode::is_enabled()) return {mul(g, detail::gelu_derivative_graph(x, exact))};
        return {mul(g, cuda::unary(exact ? cuda::UnaryOp::GeluGrad : cuda::UnaryOp::GeluTanhGrad,
                                   x.detach(), 0.0, "gelu_backward"))};
      });
    return out;
  }
  detail::check_activation(x, "gelu");
  constexpr T kBeta = T(M_SQRT2 * M_2_SQRTPI * 0.5);  // sqrt(2 / pi)
  constexpr T kKappa = T(0.044715);
  constexpr T kInvSqrt2 = T(M_SQRT1_2);
  constexpr T kInvSqrt2Pi = T(M_2_SQRTPI * M_SQRT1_2 * 0.5);  // 1 / sqrt(2 pi)
  const bool exact = approximate == GeluApproximate::None;
  Tensor<T> out;
  if (exact) {
    out = cpu::map_unary<T>(
        x, [](T v) { return T(0.5) * v * (T(1) + detail::gelu_erf(v * kInvSqrt2)); });
  } else {
    // 0.5 v (1 + tanh(u)) == v * sigmoid(2u): the same function, several times faster than the
    // C library's tanh, and without the cancellation in 1 + tanh(u) for negative u.
    out = cpu::map_unary<T>(
        x, [](T v) { return v / (T(1) + std::exp(T(-2) * kBeta * (v + kKappa * v * v * v))); });
  }
  if (any_requires_grad(x))
    record(out, "gelu", {x}, [x, exact](const Tensor<T>& g) -> Grads {
      if (exact) {
        // d/dx = Phi(x) + x phi(x), Phi the normal CDF and phi its density.
        if (GradMode::is_enabled()) {
          const Tensor<T> cdf = mul(add(erf(mul(x, kInvSqrt2)), T(1)), T(0.5));
          const Tensor<T> pdf = mul(exp(mul(mul(x, x), T(-0.5))), kInvSqrt2Pi);
          return {mul(g, add(cdf, mul(x, pdf)))};
        }
        return {detail::mul_derivative(g, x.detach(), "gelu_backward", [](T v) {
          const T cdf = T(0.5) * (T(1) + detail::gelu_erf(v * kInvSqrt2));
          const T pdf = kInvSqrt2Pi * std::exp(T(-0.5) * v * v);
          return cdf + v * pdf;
        })};
      }
      // With u = beta (x + kappa x^3), t = tanh(u):
      // d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) beta (1 + 3 kappa x^2).
      if (GradMode::is_enabled()) {
        const Tensor<T> x2 = mul(x, x);
        const Tensor<T> t = tanh(mul(add(x, mul(mul(x2, x), kKappa)), kBeta));
        const Tensor<T> du = mul(add(mul(x2, T(3) * kKappa), T(1)), kBeta);
        const Tensor<T> left = mul(add(t, T(1)), T(0.5));
        const Tensor<T> right = mul(mul(mul(x, rsub(mul(t, t), T(1))), du), T(0.5));
        return {mul(g, add(left, right))};
      }
      // Fused, with s = sigmoid(2u): 0.5 (1 + t) = s and 0.5 (1 - t^2) = 2 s (1 - s). 1 - s is
      // taken as e s (e = exp(-2u)) where s is near 1, as 1 - s would cancel there and the
      // error is multiplied by up to ~20 for |x| of a few units.
      return {detail::mul_derivative(g, x.detach(), "gelu_backward", [](T v) {
        const T v2 = v * v;
        const T e = std::exp(T(-2) * kBeta * (v + kKappa * v2 * v));
        const T s = T(1) / (T(1) + e);
        const T one_minus_s = s < T(0.5) ? T(1) - s : e * s;
        return s + T(2) * v * s * one_minus_s * kBeta * (T(1) + T(3) * kKappa * v2);
      })};
    });
  return out;
}

// approximate as PyTorch spells it: "none" or "tanh".
template <class T>
Tensor<T> gelu(const Tensor<T>& x, std::string_view approximate) {
  EMBER_CHECK(approximate == "none" || approximate == "tanh",
              "gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
  return gelu(x, approximate == "tanh" ? GeluApproximate::Tanh : GeluApproximate::None);
}

// ---------------------------------------------------------------- sigmoid family

// 1 / (1 + exp(-x))
template <class T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  if (cuda::use_cuda("sigmoid", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Sigmoid, x, 0.0, "sigmoid"), "sigmoid",
        detail::cuda_derivative<T, true>(cuda::UnaryOp::SigmoidGradY, "sigmoid_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) {
          const Tensor<T> s = sigmoid(x);
          return mul(g, mul(s, rsub(s, T(1))));
        });
  detail::check_activation(x, "sigmoid");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return T(1) / (T(1) + std::exp(-v)); });
  if (any_requires_grad(x))
    record(out, "sigmoid", {x}, [x, y = out.detach()](const Tensor<T>& g) -> Grads {
      // d sigmoid = s (1 - s)
      if (GradMode::is_enabled()) {
        const Tensor<T> s = sigmoid(x);
        return {mul(g, mul(s, rsub(s, T(1))))};
      }
      return {detail::mul_derivative(g, y, "sigmoid_backward", [](T s) { return s * (T(1) - s); })};
    });
  return out;
}

struct SoftplusOptions {
  double beta = 1.0;
  double threshold = 20.0;  // above beta * x > threshold the result is x itself
};

// log(1 + exp(beta x)) / beta, and x where beta x > threshold (for numerical stability).
template <class T>
Tensor<T> softplus(const Tensor<T>& x, SoftplusOptions options = {}) {
  if (cuda::use_cuda("softplus", x)) {
    const T beta = T(options.beta), threshold = T(options.threshold);
    const double b = double(beta), th = double(threshold);
    return detail::cuda_pointwise(
        x, cuda::unary2(cuda::UnaryOp::Softplus, x, b, th, "softplus"), "softplus",
        [b, th](const Tensor<T>& xd, const Tensor<T>&) {
          return cuda::unary2(cuda::UnaryOp::SoftplusGrad, xd, b, th, "softplus_backward");
        },
        [beta, threshold](const Tensor<T>& x, const Tensor<T>& g) {  // as the CPU rule
          const Tensor<T> bx = mul(x, beta);
          return where(gt(bx, threshold), g, mul(g, sigmoid(bx)));
        });
  }
  detail::check_activation(x, "softplus");
  const T beta = T(options.beta), threshold = T(options.threshold);
  Tensor<T> out = cpu::map_unary<T>(x, [beta, threshold](T v) {
    const T bx = v * beta;
    return bx > threshold ? v : std::log1p(std::exp(bx)) / beta;
  });
  if (any_requires_grad(x))
    record(out, "softplus", {x}, [x, beta, threshold](const Tensor<T>& g) -> Grads {
      // d/dx = sigmoid(beta x) below the threshold, 1 above it.
      if (GradMode::is_enabled()) {
        const Tensor<T> bx = mul(x, beta);
        return {where(gt(bx, threshold), g, mul(g, sigmoid(bx)))};
      }
      return {detail::mul_derivative(g, x.detach(), "softplus_backward", [beta, threshold](T v) {
        const T bx = v * beta;
        return bx > threshold ? T(1) : T(1) / (T(1) + std::exp(-bx));
      })};
    });
  return out;
}

// x * sigmoid(x) (also called swish).
template <class T>
Tensor<T> silu(const Tensor<T>& x) {
  if (cuda::use_cuda("silu", x))
    return detail::cuda_pointwise(
        x, cuda::unary(cuda::UnaryOp::Silu, x, 0.0, "silu"), "silu",
        detail::cuda_derivative<T, false>(cuda::UnaryOp::SiluGrad, "silu_backward"),
        [](const Tensor<T>& x, const Tensor<T>& g) {
          const Tensor<T> s = sigmoid(x);
          return mul(g, mul(s, add(mul(x, rsub(s, T(1))), T(1))));
        });
  detail::check_activation(x, "silu");
  Tensor<T> out = cpu::map_unary<T>(x, [](T v) { return v / (T(1) + std::exp(-v)); });
  if (any_requires_grad(x))
    record(out, "silu", {x}, [x](const Tensor<T>& g) -> Grads {
      // d/dx = s (1 + x (1 - s)), s = sigmoid(x)
      if (GradMode::is_enabled()) {
        const Tensor<T> s = sigmoid(x);
        return {mul(g, mul(s, add(mul(x, rsub(s, T(1))), T(1))))};
      }
      return {detail::mul_derivative(g, x.detach(), "silu_backward", [](T v) {
        const T s = T(1) / (T(1) + std::exp(-v));
        return s * (T(1) + v * (T(1) - s));
      })};
    });
  return out;
}

}  // namespace ember
