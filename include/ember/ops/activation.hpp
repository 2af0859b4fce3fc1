// Activation functions: relu, leaky_relu, elu, gelu, sigmoid, softplus, silu (and tanh, which
// is the math op from ops/unary.hpp). Real floating-point tensors only.
//
// Each is one pointwise_op (ops/unary.hpp): the value and the derivative come from the op's
// Formula (backend/pointwise_formulas.hpp), the same on the CPU and on CUDA; the graph rule
// below is the derivative written with differentiable ops, used under create_graph. Formulas
// match PyTorch's exactly.
#pragma once

#include <string_view>
#include <type_traits>

#include <ember/core/tensor.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/unary.hpp>

namespace ember {

namespace detail {

template <class T>
void check_activation() {
  static_assert(std::is_floating_point_v<T>,
                "activations need a real floating-point tensor (float or double)");
}

}  // namespace detail

// max(x, 0); NaN stays NaN. Gradient 0 at x <= 0 (PyTorch's choice at the kink).
template <class T>
Tensor<T> relu(const Tensor<T>& x) {
  detail::check_activation<T>();
  return detail::pointwise_op<pointwise::Op::Relu>(x, "relu");
}

// x for x > 0, negative_slope * x otherwise.
template <class T>
Tensor<T> leaky_relu(const Tensor<T>& x, double negative_slope = 0.01) {
  detail::check_activation<T>();
  return detail::pointwise_op<pointwise::Op::LeakyRelu>(x, "leaky_relu", {T(negative_slope)});
}

// x for x > 0, alpha * (exp(x) - 1) otherwise.
template <class T>
Tensor<T> elu(const Tensor<T>& x, double alpha = 1.0) {
  detail::check_activation<T>();
  const T a = T(alpha);
  return detail::pointwise_op<pointwise::Op::Elu>(
      x, "elu", {a}, [a](const Tensor<T>& g, const Tensor<T>& x) {
        // exp of clamp_max(x, 0): the branch not taken must stay finite, or its zero
        // gradient times an infinite exp(x) would give NaN in the second derivative.
        const Tensor<T> neg_branch = mul(exp(clamp_max(x, T(0))), a);
        return where(gt(x, T(0)), g, mul(g, neg_branch));
      });
}

// ---------------------------------------------------------------- gelu

enum class GeluApproximate { None, Tanh };

// Exact:  0.5 x (1 + erf(x / sqrt 2)).
// Tanh:   0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <class T>
Tensor<T> gelu(const Tensor<T>& x, GeluApproximate approximate = GeluApproximate::None) {
  detail::check_activation<T>();
  using C = pointwise::GeluConstants<T>;
  if (approximate == GeluApproximate::None)
    return detail::pointwise_op<pointwise::Op::Gelu>(
        x, "gelu", {}, [](const Tensor<T>& g, const Tensor<T>& x) {
          // d/dx = Phi(x) + x phi(x), Phi the normal CDF and phi its density.
          const Tensor<T> cdf = mul(add(erf(mul(x, C::inv_sqrt2)), T(1)), T(0.5));
          const Tensor<T> pdf = mul(exp(mul(mul(x, x), T(-0.5))), C::inv_sqrt2pi);
          return mul(g, add(cdf, mul(x, pdf)));
        });
  return detail::pointwise_op<pointwise::Op::GeluTanh>(
      x, "gelu", {}, [](const Tensor<T>& g, const Tensor<T>& x) {
        // With u = beta (x + kappa x^3), t = tanh(u):
        // d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) beta (1 + 3 kappa x^2).
        const Tensor<T> x2 = mul(x, x);
        const Tensor<T> t = tanh(mul(add(x, mul(mul(x2, x), C::kappa)), C::beta));
        const Tensor<T> du = mul(add(mul(x2, T(3) * C::kappa), T(1)), C::beta);
        const Tensor<T> left = mul(add(t, T(1)), T(0.5));
        const Tensor<T> right = mul(mul(mul(x, rsub(mul(t, t), T(1))), du), T(0.5));
        return mul(g, add(left, right));
      });
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
  detail::check_activation<T>();
  return detail::pointwise_op<pointwise::Op::Sigmoid>(
      x, "sigmoid", {}, [](const Tensor<T>& g, const Tensor<T>& x) {
        const Tensor<T> s = sigmoid(x);  // d sigmoid = s (1 - s)
        return mul(g, mul(s, rsub(s, T(1))));
      });
}

struct SoftplusOptions {
  double beta = 1.0;
  double threshold = 20.0;  // above beta * x > threshold the result is x itself
};

// log(1 + exp(beta x)) / beta, and x where beta x > threshold (for numerical stability).
template <class T>
Tensor<T> softplus(const Tensor<T>& x, SoftplusOptions options = {}) {
  detail::check_activation<T>();
  const T beta = T(options.beta), threshold = T(options.threshold);
  return detail::pointwise_op<pointwise::Op::Softplus>(
      x, "softplus", {beta, threshold}, [beta, threshold](const Tensor<T>& g, const Tensor<T>& x) {
        // d/dx = sigmoid(beta x) below the threshold, 1 above it.
        const Tensor<T> bx = mul(x, beta);
        return where(gt(bx, threshold), g, mul(g, sigmoid(bx)));
      });
}

// x * sigmoid(x) (also called swish).
template <class T>
Tensor<T> silu(const Tensor<T>& x) {
  detail::check_activation<T>();
  return detail::pointwise_op<pointwise::Op::Silu>(
      x, "silu", {}, [](const Tensor<T>& g, const Tensor<T>& x) {
        const Tensor<T> s = sigmoid(x);  // d/dx = s (1 + x (1 - s))
        return mul(g, mul(s, add(mul(x, rsub(s, T(1))), T(1))));
      });
}

}  // namespace ember
