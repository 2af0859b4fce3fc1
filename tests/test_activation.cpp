// Tests for ops/activation.hpp: relu, leaky_relu, elu, gelu (exact and tanh), sigmoid, tanh,
// softplus, silu.
#include <doctest/doctest.h>

#include "unary_checks.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/activation.hpp>

using namespace ember;

namespace {

using T64 = Tensor<double>;
using ember_test::Make;
using ember_test::Op;

// Normal values with standard deviation `scale`, pushed at least 0.1 away from 0 (the kink
// of relu, leaky_relu and elu).
Make randn_away(double scale = 1.0) {
  return [scale](const Shape& shape, Generator& gen) {
    T64 x = T64::randn(shape, gen, 0.0, scale);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double& v = x.data_ptr()[i];
      v += v >= 0 ? 0.1 : -0.1;
    }
    return x;
  };
}

using ember_test::check_float32;
using ember_test::check_grads;

double value(const T64& y) { return y.item(); }

// d op / dx at x, by backward.
double slope(const Op& op, double x) {
  T64 p = T64::scalar(x).requires_grad_();
  return grad<double>({op(p)}, {p})[0].item();
}

// d^2 op / dx^2 at x, by double backward.
double curvature(const Op& op, double x) {
  T64 p = T64::scalar(x).requires_grad_();
  const T64 d = grad<double>({op(p)}, {p}, {}, {.create_graph = true})[0];
  return grad<double>({d}, {p})[0].item();
}

}  // namespace

TEST_CASE("activation: values against hand-computed numbers") {
  CHECK(relu(T64{-1.0, 0.0, 2.0}).to_vector() == std::vector<double>{0.0, 0.0, 2.0});
  CHECK(std::isnan(relu(T64{std::nan("")}).item()));
  CHECK(leaky_relu(T64{-2.0, 3.0}).to_vector() == std::vector<double>{-0.02, 3.0});
  CHECK(leaky_relu(T64{-2.0}, 0.2).item() == doctest::Approx(-0.4));
  CHECK(value(elu(T64::scalar(-1.0))) == doctest::Approx(-0.6321205588285577).epsilon(1e-15));
  CHECK(value(elu(T64::scalar(-1.0), 2.0)) == doctest::Approx(-1.2642411176571153).epsilon(1e-15));
  CHECK(value(elu(T64::scalar(1.5), 2.0)) == 1.5);

  CHECK(value(gelu(T64::scalar(1.0))) == doctest::Approx(0.8413447460685429).epsilon(1e-15));
  CHECK(value(gelu(T64::scalar(-1.0))) == doctest::Approx(-0.15865525393145707).epsilon(1e-15));
  CHECK(value(gelu(T64::scalar(1.0), GeluApproximate::Tanh)) ==
        doctest::Approx(0.8411919906082768).epsilon(1e-15));
  CHECK(value(gelu(T64::scalar(1.0), "tanh")) ==
        doctest::Approx(0.8411919906082768).epsilon(1e-15));
  CHECK(value(gelu(T64::scalar(1.0), "none")) ==
        doctest::Approx(0.8413447460685429).epsilon(1e-15));

  CHECK(value(sigmoid(T64::scalar(0.0))) == 0.5);
  CHECK(value(sigmoid(T64::scalar(2.0))) == doctest::Approx(0.8807970779778823).epsilon(1e-15));
  CHECK(value(tanh(T64::scalar(0.5))) == doctest::Approx(0.46211715726000974).epsilon(1e-15));
  CHECK(value(softplus(T64::scalar(0.0))) == doctest::Approx(std::log(2.0)).epsilon(1e-15));
  CHECK(value(softplus(T64::scalar(1.0), {.beta = 2.0})) ==
        doctest::Approx(1.0634640055214863).epsilon(1e-15));
  // Linear above the threshold: beta * x = 30 > 20 gives x itself.
  CHECK(value(softplus(T64::scalar(15.0), {.beta = 2.0})) == 15.0);
  CHECK(value(softplus(T64::scalar(2.0), {.threshold = 1.0})) == 2.0);
  CHECK(value(silu(T64::scalar(1.0))) == doctest::Approx(0.7310585786300049).epsilon(1e-15));
  CHECK(value(silu(T64::scalar(0.0))) == 0.0);
}

TEST_CASE("activation: derivatives against hand-computed numbers") {
  const Op r = [](const T64& x) { return relu(x); };
  CHECK(slope(r, -1.0) == 0.0);
  CHECK(slope(r, 0.0) == 0.0);  // PyTorch's choice at the kink
  CHECK(slope(r, 2.0) == 1.0);
  CHECK(slope(r, std::nan("")) == 1.0);  // threshold_backward passes the gradient at NaN
  CHECK(slope([](const T64& x) { return leaky_relu(x, 0.2); }, -1.0) == doctest::Approx(0.2));
  CHECK(slope([](const T64& x) { return leaky_relu(x, 0.2); }, 0.0) == doctest::Approx(0.2));
  CHECK(slope([](const T64& x) { return elu(x, 2.0); }, -1.0) ==
        doctest::Approx(2.0 * std::exp(-1.0)));
  CHECK(slope([](const T64& x) { return elu(x, 2.0); }, 1.0) == 1.0);
  // gelu'(1) = Phi(1) + phi(1)
  CHECK(slope([](const T64& x) { return gelu(x); }, 1.0) == doctest::Approx(1.0833154705876864));
  CHECK(slope([](const T64& x) { return sigmoid(x); }, 0.0) == 0.25);
  CHECK(slope([](const T64& x) { return softplus(x); }, 0.0) == 0.5);
  CHECK(slope([](const T64& x) { return softplus(x, {.beta = 2.0}); }, 15.0) ==
        1.0);  // linear part
  CHECK(slope([](const T64& x) { return silu(x); }, 0.0) == 0.5);

  // Second derivatives by hand: sigmoid'' = s(1-s)(1-2s); silu''(0) = 1/2; gelu''(0) = 2 phi(0).
  const double s = 1 / (1 + std::exp(-1.0));
  CHECK(curvature([](const T64& x) { return sigmoid(x); }, 1.0) ==
        doctest::Approx(s * (1 - s) * (1 - 2 * s)));
  CHECK(curvature([](const T64& x) { return silu(x); }, 0.0) == doctest::Approx(0.5));
  CHECK(curvature([](const T64& x) { return gelu(x); }, 0.0) ==
        doctest::Approx(2 / std::sqrt(2 * M_PI)));
  CHECK(curvature([](const T64& x) { return elu(x, 2.0); }, -1.0) ==
        doctest::Approx(2.0 * std::exp(-1.0)));
}

TEST_CASE("activation: extreme inputs stay finite, in values and derivatives") {
  const T64 x = T64{-1000.0, 1000.0};
  CHECK(sigmoid(x).to_vector() == std::vector<double>{0.0, 1.0});
  CHECK(softplus(x).to_vector() == std::vector<double>{0.0, 1000.0});
  CHECK(silu(x).to_vector() == std::vector<double>{0.0, 1000.0});
  CHECK(elu(x).to_vector() == std::vector<double>{-1.0, 1000.0});
  CHECK(gelu(x).to_vector() == std::vector<double>{0.0, 1000.0});
  CHECK(gelu(x, GeluApproximate::Tanh).to_vector() == std::vector<double>{0.0, 1000.0});
  const std::vector<Op> ops = {[](const T64& t) { return sigmoid(t); },
                               [](const T64& t) { return softplus(t); },
                               [](const T64& t) { return silu(t); },
                               [](const T64& t) { return elu(t); },
                               [](const T64& t) { return gelu(t); },
                               [](const T64& t) { return gelu(t, GeluApproximate::Tanh); }};
  for (size_t k = 0; k < ops.size(); ++k) {
    INFO("op #", k);
    for (double v : {-1000.0, 1000.0}) {
      CHECK(std::isfinite(slope(ops[k], v)));
      CHECK(std::isfinite(curvature(ops[k], v)));
    }
  }
}

TEST_CASE("activation: gradcheck and gradgradcheck, contiguous and not") {
  check_grads(
      "relu", [](const T64& x) { return relu(x); }, randn_away(), true);
  check_grads(
      "leaky_relu", [](const T64& x) { return leaky_relu(x, 0.2); }, randn_away(), true);
  check_grads(
      "elu", [](const T64& x) { return elu(x); }, randn_away());
  check_grads(
      "elu(alpha=0.5)", [](const T64& x) { return elu(x, 0.5); }, randn_away());
  check_grads(
      "gelu", [](const T64& x) { return gelu(x); }, randn_away(2.0));
  check_grads(
      "gelu(tanh)", [](const T64& x) { return gelu(x, GeluApproximate::Tanh); }, randn_away(2.0));
  check_grads(
      "sigmoid", [](const T64& x) { return sigmoid(x); }, randn_away(2.0));
  check_grads(
      "tanh", [](const T64& x) { return tanh(x); }, randn_away(2.0));
  check_grads(
      "softplus", [](const T64& x) { return softplus(x); }, randn_away(2.0));
  // beta * x crosses the threshold for some inputs, so both branches are checked.
  check_grads(
      "softplus(beta=2, threshold=3)",
      [](const T64& x) { return softplus(x, {.beta = 2.0, .threshold = 3.0}); }, randn_away(2.0));
  check_grads(
      "silu", [](const T64& x) { return silu(x); }, randn_away(2.0));
}

TEST_CASE("activation: float32 forward agrees with float64") {
  Generator gen(23);
  const T64 x = T64::randn({1000}, gen, 0.0, 3.0);
  check_float32(
      "relu", [](const auto& t) { return relu(t); }, x);
  check_float32(
      "leaky_relu", [](const auto& t) { return leaky_relu(t); }, x);
  check_float32(
      "elu", [](const auto& t) { return elu(t); }, x);
  check_float32(
      "gelu", [](const auto& t) { return gelu(t); }, x);
  check_float32(
      "gelu(tanh)", [](const auto& t) { return gelu(t, GeluApproximate::Tanh); }, x);
  check_float32(
      "sigmoid", [](const auto& t) { return sigmoid(t); }, x);
  check_float32(
      "tanh", [](const auto& t) { return tanh(t); }, x);
  check_float32(
      "softplus", [](const auto& t) { return softplus(t); }, x);
  check_float32(
      "silu", [](const auto& t) { return silu(t); }, x);
}

TEST_CASE("activation: float32 backward agrees with float64") {
  Generator gen(29);
  const T64 x = T64::randn({300}, gen, 0.0, 2.0);
  const Tensor<float> xf = x.to<float>();
  const T64 xd = xf.to<double>();
  auto grads = [](auto leaf, auto op) {
    leaf = leaf.detach().requires_grad_();
    sum(op(leaf)).backward();
    return leaf.grad();
  };
  auto each = [&](const std::string& name, auto op) {
    INFO("op: ", name);
    const std::vector<float> got = grads(xf, op).to_vector();
    const std::vector<double> want = grads(xd, op).to_vector();
    for (size_t i = 0; i < got.size(); ++i) CHECK(std::abs(double(got[i]) - want[i]) <= 1e-6);
  };
  each("gelu", [](const auto& t) { return gelu(t); });
  each("gelu(tanh)", [](const auto& t) { return gelu(t, GeluApproximate::Tanh); });
  each("silu", [](const auto& t) { return silu(t); });
  each("softplus", [](const auto& t) { return softplus(t); });
  each("elu", [](const auto& t) { return elu(t); });
}

TEST_CASE("activation: bad input throws") {
  CHECK_THROWS_AS(gelu(T64{1.0}, "fast"), ember::Error);
  CHECK_THROWS_WITH(gelu(T64{1.0}, "Tanh"), doctest::Contains("gelu"));
}
