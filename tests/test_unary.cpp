// Tests for ops/unary.hpp (exp, log, sqrt, rsqrt, abs, sin, cos, tanh, erf, square,
// reciprocal, clamp) and ops/compare.hpp (comparisons, logical ops, isnan/isinf/isfinite,
// where, maximum, minimum).
#include <doctest/doctest.h>

#include "unary_checks.hpp"

#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/unary.hpp>

using namespace ember;

namespace {

using T64 = Tensor<double>;
using C128 = std::complex<double>;
using ember_test::Make;
using ember_test::Op;

// Standard normal values pushed at least `margin` away from 0 (off the kink of abs, relu, ...).
T64 randn_away(const Shape& shape, Generator& gen, double margin = 0.1) {
  T64 x = T64::randn(shape, gen);
  for (int64_t i = 0; i < x.numel(); ++i) {
    double& v = x.data_ptr()[i];
    v += v >= 0 ? margin : -margin;
  }
  return x;
}

T64 randn_plain(const Shape& shape, Generator& gen) { return T64::randn(shape, gen); }
T64 positive(const Shape& shape, Generator& gen) { return T64::rand(shape, gen, 0.5, 2.0); }

using ember_test::check_float32;
using ember_test::check_grads;

// Real and imaginary parts and z = re + i im, as differentiable test-local ops with PyTorch's
// rules, so complex gradients can be gradchecked in float64 through real leaves: grad(re) and
// grad(im) are the real and imaginary parts of PyTorch's complex gradient. (Tensor::to<C>()
// is not used for this: its backward is not differentiable, so second derivatives through it
// are lost.)
T64 real_part(const Tensor<C128>& z) {
  T64 out = cpu::map_unary<double>(z, [](C128 v) { return v.real(); });
  if (any_requires_grad(z))
    record(out, "real", {z}, [](const T64& g) -> Grads { return {g.to<C128>()}; });
  return out;
}

T64 imag_part(const Tensor<C128>& z) {
  T64 out = cpu::map_unary<double>(z, [](C128 v) { return v.imag(); });
  if (any_requires_grad(z))
    record(out, "imag", {z}, [](const T64& g) -> Grads { return {mul(g.to<C128>(), C128(0, 1))}; });
  return out;
}

Tensor<C128> complex_of(const T64& re, const T64& im) {
  Tensor<C128> out =
      cpu::map_binary<C128>(re, im, "complex", [](double a, double b) { return C128(a, b); });
  if (any_requires_grad(re, im))
    record(out, "complex", {re, im}, [](const Tensor<C128>& g) -> Grads {
      return {real_part(g), imag_part(g)};
    });
  return out;
}

void check_complex_grads(const std::string& name,
                         const std::function<Tensor<C128>(const Tensor<C128>&)>& op) {
  INFO("complex op: ", name);
  Generator gen(5);
  // Real parts in [0.3, 1.2], imaginary parts in [0.2, 1]: away from 0, the branch cut of log
  // and sqrt on the negative real axis, and z = 1 where log z (and so |log z|) is 0.
  T64 re = T64::rand({3, 4}, gen, 0.3, 1.2).requires_grad_();
  T64 im = T64::rand({3, 4}, gen, 0.2, 1.0).requires_grad_();
  const auto f = [&](const std::vector<T64>& xs) { return abs(op(complex_of(xs[0], xs[1]))); };
  CHECK(gradcheck_report(f, {re, im}) == "");
  CHECK(gradgradcheck_report(f, {re, im}) == "");
}

double at1(const T64& t) { return t.item(); }

}  // namespace

// ====================================================================== values

TEST_CASE("unary: values against hand-computed numbers") {
  const T64 x = T64::from_vector({-2.0, -0.5, 0.0, 0.5, 1.0, 4.0}, {6});
  const std::vector<double> a = abs(x).to_vector();
  CHECK(a == std::vector<double>{2.0, 0.5, 0.0, 0.5, 1.0, 4.0});
  CHECK(square(x).to_vector() == std::vector<double>{4.0, 0.25, 0.0, 0.25, 1.0, 16.0});

  CHECK(at1(exp(T64::scalar(0.0))) == 1.0);
  CHECK(at1(exp(T64::scalar(1.0))) == doctest::Approx(M_E).epsilon(1e-15));
  CHECK(at1(log(T64::scalar(M_E))) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(std::isinf(at1(log(T64::scalar(0.0)))));
  CHECK(std::isnan(at1(log(T64::scalar(-1.0)))));
  CHECK(at1(sqrt(T64::scalar(4.0))) == 2.0);
  CHECK(at1(rsqrt(T64::scalar(4.0))) == 0.5);
  CHECK(at1(reciprocal(T64::scalar(4.0))) == 0.25);
  CHECK(at1(sin(T64::scalar(M_PI / 6))) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(at1(cos(T64::scalar(M_PI / 3))) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(at1(tanh(T64::scalar(0.5))) == doctest::Approx(0.46211715726000974).epsilon(1e-15));
  CHECK(at1(erf(T64::scalar(1.0))) == doctest::Approx(0.8427007929497149).epsilon(1e-15));

  // Gradients at a point, by hand: d/dx at x = 0.5.
  T64 p = T64::scalar(0.5).requires_grad_();
  auto d = [&](const T64& y) { return grad<double>({y}, {p})[0].item(); };
  CHECK(d(exp(p)) == doctest::Approx(std::exp(0.5)));
  CHECK(d(log(p)) == doctest::Approx(2.0));
  CHECK(d(sqrt(p)) == doctest::Approx(0.5 / std::sqrt(0.5)));
  CHECK(d(rsqrt(p)) == doctest::Approx(-0.5 * std::pow(0.5, -1.5)));
  CHECK(d(reciprocal(p)) == doctest::Approx(-4.0));
  CHECK(d(square(p)) == doctest::Approx(1.0));
  CHECK(d(tanh(p)) == doctest::Approx(1 - std::tanh(0.5) * std::tanh(0.5)));
  CHECK(d(sin(p)) == doctest::Approx(std::cos(0.5)));
  CHECK(d(cos(p)) == doctest::Approx(-std::sin(0.5)));
  CHECK(d(erf(p)) == doctest::Approx(M_2_SQRTPI * std::exp(-0.25)));
}

TEST_CASE("unary: abs gradient is sign(x), 0 at 0; abs of complex is real") {
  T64 x = T64::from_vector({-2.0, 0.0, 3.0}, {3}).requires_grad_();
  sum(abs(x)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{-1.0, 0.0, 1.0});

  static_assert(std::is_same_v<decltype(abs(std::declval<Tensor<C128>>())), T64>);
  static_assert(std::is_same_v<decltype(abs(std::declval<Tensor<float>>())), Tensor<float>>);
  const Tensor<C128> z = Tensor<C128>::from_vector({C128(3, 4), C128(0, 0)}, {2});
  CHECK(abs(z).to_vector() == std::vector<double>{5.0, 0.0});
  // Integer abs works (no gradient).
  CHECK(abs(Tensor<int32_t>{-3, 2}).to_vector() == std::vector<int32_t>{3, 2});

  // The complex gradient is g * z / |z|, and 0 at z = 0.
  T64 re = T64::from_vector({3.0, 0.0}, {2}).requires_grad_();
  T64 im = T64::from_vector({4.0, 0.0}, {2}).requires_grad_();
  auto g = grad<double>({sum(abs(complex_of(re, im)))}, {re, im});
  CHECK(g[0].to_vector() == std::vector<double>{0.6, 0.0});
  CHECK(g[1].to_vector() == std::vector<double>{0.8, 0.0});
}

TEST_CASE("unary: complex forward values") {
  const Tensor<C128> z = Tensor<C128>::from_vector({C128(0, M_PI), C128(-1, 0)}, {2});
  const auto e = exp(z).to_vector();
  CHECK(e[0].real() == doctest::Approx(-1.0));
  CHECK(std::abs(e[0].imag()) < 1e-15);
  const auto l = log(z).to_vector();
  CHECK(l[1].real() == doctest::Approx(0.0));
  CHECK(l[1].imag() == doctest::Approx(M_PI));
  const auto s = sqrt(z).to_vector();
  CHECK(s[1].real() == doctest::Approx(0.0));
  CHECK(s[1].imag() == doctest::Approx(1.0));
}

// ====================================================================== gradients

TEST_CASE("unary: gradcheck and gradgradcheck, contiguous and not") {
  check_grads(
      "exp", [](const T64& x) { return exp(x); }, randn_plain);
  check_grads(
      "log", [](const T64& x) { return log(x); }, positive);
  check_grads(
      "sqrt", [](const T64& x) { return sqrt(x); }, positive);
  check_grads(
      "rsqrt", [](const T64& x) { return rsqrt(x); }, positive);
  check_grads(
      "reciprocal", [](const T64& x) { return reciprocal(x); }, positive);
  check_grads(
      "square", [](const T64& x) { return square(x); }, randn_plain);
  check_grads(
      "sin", [](const T64& x) { return sin(x); }, randn_plain);
  check_grads(
      "cos", [](const T64& x) { return cos(x); }, randn_plain);
  check_grads(
      "tanh", [](const T64& x) { return tanh(x); }, randn_plain);
  check_grads(
      "erf", [](const T64& x) { return erf(x); }, randn_plain);
  check_grads(
      "abs", [](const T64& x) { return abs(x); },
      [](const Shape& s, Generator& g) { return randn_away(s, g); }, true);
  // Bounds at +-0.5, inputs kept 0.1 away from both.
  const Make away_from_half = [](const Shape& s, Generator& g) {
    T64 x = randn_away(s, g);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double& v = x.data_ptr()[i];
      if (std::abs(std::abs(v) - 0.5) < 0.1) v = v > 0 ? 0.3 : -0.3;
    }
    return x;
  };
  check_grads(
      "clamp", [](const T64& x) { return clamp(x, -0.5, 0.5); }, away_from_half, true);
  check_grads(
      "clamp_min", [](const T64& x) { return clamp_min(x, -0.5); }, away_from_half, true);
  check_grads(
      "clamp_max", [](const T64& x) { return clamp_max(x, 0.5); }, away_from_half, true);
}

TEST_CASE("unary: complex gradients follow PyTorch's convention") {
  check_complex_grads("identity", [](const Tensor<C128>& z) { return z; });
  check_complex_grads("exp", [](const Tensor<C128>& z) { return exp(z); });
  check_complex_grads("log", [](const Tensor<C128>& z) { return log(z); });
  check_complex_grads("sqrt", [](const Tensor<C128>& z) { return sqrt(z); });
  check_complex_grads("rsqrt", [](const Tensor<C128>& z) { return rsqrt(z); });
  check_complex_grads("reciprocal", [](const Tensor<C128>& z) { return reciprocal(z); });
  check_complex_grads("square", [](const Tensor<C128>& z) { return square(z); });
  check_complex_grads("sin", [](const Tensor<C128>& z) { return sin(z); });
  check_complex_grads("cos", [](const Tensor<C128>& z) { return cos(z); });
  check_complex_grads("tanh", [](const Tensor<C128>& z) { return tanh(z); });
}

TEST_CASE("unary: complex exp and log gradients are g * conj(f'(z)), with and without a graph") {
  // One rule serves both devices and both modes: pin its conj (a CUDA copy of these rules once
  // dropped it) on values where conj changes the answer.
  const Tensor<C128> z0 =
      Tensor<C128>::from_vector({C128(0.3, 0.7), C128(-1.2, 0.4), C128(0.9, -1.1)}, {3});
  const Tensor<C128> g =
      Tensor<C128>::from_vector({C128(1.0, -0.5), C128(0.2, 0.3), C128(-0.7, 1.4)}, {3});
  for (const bool create_graph : {false, true}) {
    CAPTURE(create_graph);
    Tensor<C128> z = z0.detach().requires_grad_();
    const Tensor<C128> ge = grad<C128>({exp(z)}, {z}, {g}, {.create_graph = create_graph})[0];
    const Tensor<C128> gl = grad<C128>({log(z)}, {z}, {g}, {.create_graph = create_graph})[0];
    for (int64_t i = 0; i < 3; ++i) {
      const C128 zi = z0.to_vector()[size_t(i)], gi = g.to_vector()[size_t(i)];
      const C128 want_e = gi * std::conj(std::exp(zi)), want_l = gi / std::conj(zi);
      CHECK(std::abs(ge.to_vector()[size_t(i)] - want_e) <= 1e-14 * std::abs(want_e));
      CHECK(std::abs(gl.to_vector()[size_t(i)] - want_l) <= 1e-14 * std::abs(want_l));
    }
  }
}

TEST_CASE("unary: float32 forward agrees with float64") {
  Generator gen(3);
  const T64 x = T64::randn({257}, gen);
  const T64 p = T64::rand({257}, gen, 0.1, 5.0);
  check_float32(
      "exp", [](const auto& t) { return exp(t); }, x);
  check_float32(
      "log", [](const auto& t) { return log(t); }, p);
  check_float32(
      "sqrt", [](const auto& t) { return sqrt(t); }, p);
  check_float32(
      "rsqrt", [](const auto& t) { return rsqrt(t); }, p);
  check_float32(
      "reciprocal", [](const auto& t) { return reciprocal(t); }, p);
  check_float32(
      "square", [](const auto& t) { return square(t); }, x);
  check_float32(
      "abs", [](const auto& t) { return abs(t); }, x);
  check_float32(
      "sin", [](const auto& t) { return sin(t); }, x);
  check_float32(
      "cos", [](const auto& t) { return cos(t); }, x);
  check_float32(
      "tanh", [](const auto& t) { return tanh(t); }, x);
  check_float32(
      "erf", [](const auto& t) { return erf(t); }, x);
  check_float32(
      "clamp", [](const auto& t) { return clamp(t, -0.5, 0.5); }, x);
}

// ====================================================================== clamp

TEST_CASE("clamp: values, NaN, min > max, boundary gradient passes") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  T64 x = T64::from_vector({-2.0, -1.0, 0.0, 1.0, 2.0, nan}, {6});
  const auto c = clamp(x, -1.0, 1.0).to_vector();
  CHECK(c[0] == -1.0);
  CHECK(c[1] == -1.0);
  CHECK(c[2] == 0.0);
  CHECK(c[3] == 1.0);
  CHECK(c[4] == 1.0);
  CHECK(std::isnan(c[5]));
  CHECK(clamp_min(x, 0.5).to_vector()[0] == 0.5);
  CHECK(clamp_max(x, 0.5).to_vector()[4] == 0.5);
  CHECK(clamp(x, std::nullopt, 0.0).to_vector()[3] == 0.0);
  // min > max: everything becomes max (PyTorch).
  CHECK(clamp(T64{-3.0, 0.0, 3.0}, 2.0, 1.0).to_vector() == std::vector<double>{1.0, 1.0, 1.0});
  // Integers clamp too.
  CHECK(clamp(Tensor<int64_t>{-5, 0, 5}, int64_t(-1), int64_t(1)).to_vector() ==
        std::vector<int64_t>{-1, 0, 1});

  // Gradient: 1 inside [min, max] including the boundaries, 0 outside and at NaN.
  x.requires_grad_();
  sum(clamp(x, -1.0, 1.0)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{0.0, 1.0, 1.0, 1.0, 0.0, 0.0});
  x.zero_grad();
  sum(clamp_min(x, 0.0)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{0.0, 0.0, 1.0, 1.0, 1.0, 0.0});

  const T64 y = T64{1.0};
  CHECK_THROWS_AS(clamp(y, std::nullopt, std::nullopt), ember::Error);
}

// ====================================================================== compare

TEST_CASE("compare: comparisons with broadcasting and scalars") {
  const T64 a = T64::from_vector({1.0, 2.0, 3.0}, {3, 1});
  const T64 b = T64{1.0, 2.0};
  using B = std::vector<bool>;
  CHECK(eq(a, b).shape() == Shape{3, 2});
  CHECK(eq(a, b).to_vector() == B{1, 0, 0, 1, 0, 0});
  CHECK(ne(a, b).to_vector() == B{0, 1, 1, 0, 1, 1});
  CHECK(lt(a, b).to_vector() == B{0, 1, 0, 0, 0, 0});
  CHECK(le(a, b).to_vector() == B{1, 1, 0, 1, 0, 0});
  CHECK(gt(a, b).to_vector() == B{0, 0, 1, 0, 1, 1});
  CHECK(ge(a, b).to_vector() == B{1, 0, 1, 1, 1, 1});
  const T64 v = T64{1.0, 2.0, 3.0};
  CHECK(eq(v, 2.0).to_vector() == B{0, 1, 0});
  CHECK(ne(v, 2.0).to_vector() == B{1, 0, 1});
  CHECK(lt(v, 2.0).to_vector() == B{1, 0, 0});
  CHECK(le(v, 2.0).to_vector() == B{1, 1, 0});
  CHECK(gt(v, 2.0).to_vector() == B{0, 0, 1});
  CHECK(ge(v, 2.0).to_vector() == B{0, 1, 1});
  // Non-contiguous operand.
  const T64 m = T64::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}).t();
  CHECK(gt(m, 2.5).to_vector() == B{0, 1, 0, 1, 1, 1});
  // Complex equality.
  const Tensor<C128> z = Tensor<C128>{C128(1, 1), C128(1, 0)};
  CHECK(eq(z, C128(1, 1)).to_vector() == B{1, 0});
  // NaN compares unequal to everything, itself included.
  const T64 n = T64{std::nan("")};
  CHECK(eq(n, n).item() == false);
  CHECK(ne(n, n).item() == true);

  CHECK_THROWS_AS(eq(T64::zeros({2, 3}), T64::zeros({4})), ember::Error);
  CHECK_THROWS_AS(lt(T64::zeros({3}), T64::zeros({2})), ember::Error);
}

TEST_CASE("compare: logical ops and isnan/isinf/isfinite") {
  using B = std::vector<bool>;
  const Tensor<bool> p = Tensor<bool>{true, true, false, false};
  const Tensor<bool> q = Tensor<bool>{true, false, true, false};
  CHECK(logical_not(p).to_vector() == B{0, 0, 1, 1});
  CHECK(logical_and(p, q).to_vector() == B{1, 0, 0, 0});
  CHECK(logical_or(p, q).to_vector() == B{1, 1, 1, 0});
  CHECK(logical_and(p, Tensor<bool>{true}).to_vector() == B{1, 1, 0, 0});  // broadcast
  CHECK_THROWS_AS(logical_or(p, Tensor<bool>{true, false}), ember::Error);

  const double inf = std::numeric_limits<double>::infinity();
  const T64 x = T64{1.0, std::nan(""), inf, -inf};
  CHECK(isnan(x).to_vector() == B{0, 1, 0, 0});
  CHECK(isinf(x).to_vector() == B{0, 0, 1, 1});
  CHECK(isfinite(x).to_vector() == B{1, 0, 0, 0});
  CHECK(isnan(x.to<float>()).to_vector() == B{0, 1, 0, 0});
  const Tensor<C128> z = Tensor<C128>{C128(1, std::nan("")), C128(inf, 0), C128(1, 2)};
  CHECK(isnan(z).to_vector() == B{1, 0, 0});
  CHECK(isinf(z).to_vector() == B{0, 1, 0});
  CHECK(isfinite(z).to_vector() == B{0, 0, 1});
}

TEST_CASE("where: values, broadcasting, scalars, gradients") {
  const Tensor<bool> cond = Tensor<bool>::from_vector({true, false, true}, {3, 1});
  const T64 a = T64::from_vector({1, 2, 3, 4}, {1, 4});
  const T64 b = T64{10, 20, 30, 40};
  const T64 w = where(cond, a, b);
  CHECK(w.shape() == Shape{3, 4});
  CHECK(w.to_vector() == std::vector<double>{1, 2, 3, 4, 10, 20, 30, 40, 1, 2, 3, 4});
  CHECK(where(cond, a, 0.0).to_vector() == std::vector<double>{1, 2, 3, 4, 0, 0, 0, 0, 1, 2, 3, 4});
  CHECK(where(cond, -1.0, b).to_vector() ==
        std::vector<double>{-1, -1, -1, -1, 10, 20, 30, 40, -1, -1, -1, -1});

  // Gradients by hand: a gets the rows where cond holds (2 of them), b the other (1).
  T64 ga = a.detach().requires_grad_(), gb = b.detach().requires_grad_();
  sum(where(cond, ga, gb)).backward();
  CHECK(ga.grad().to_vector() == std::vector<double>{2, 2, 2, 2});
  CHECK(gb.grad().to_vector() == std::vector<double>{1, 1, 1, 1});

  Generator gen(11);
  const Tensor<bool> c2 = gt(T64::randn({3, 1, 4}, gen), 0.0);
  T64 x = T64::randn({1, 5, 4}, gen).requires_grad_();
  T64 y = T64::randn({5, 1}, gen).requires_grad_();
  const auto f = [&](const std::vector<T64>& xs) { return where(c2, xs[0], xs[1]); };
  CHECK(gradcheck_report(f, {x, y}) == "");
  // where is linear in a and b: its second derivative is checked through a product.
  const auto f2 = [&](const std::vector<T64>& xs) {
    return mul(where(c2, xs[0], xs[1]), mul(xs[0], xs[0]));
  };
  CHECK(gradgradcheck_report(f2, {x, y}) == "");
  T64 xt = T64::randn({4, 5}, gen).t().detach().requires_grad_();  // non-contiguous [5, 4]
  const auto fs = [&](const std::vector<T64>& xs) { return mul(where(c2, xs[0], 0.5), xs[0]); };
  CHECK(gradcheck_report(fs, {xt}) == "");
  CHECK(gradgradcheck_report(fs, {xt}) == "");
  const auto fs2 = [&](const std::vector<T64>& xs) { return mul(where(c2, 0.5, xs[0]), xs[0]); };
  CHECK(gradcheck_report(fs2, {xt}) == "");
  CHECK(gradgradcheck_report(fs2, {xt}) == "");

  CHECK_THROWS_AS(where(cond, T64::zeros({2, 4}), b), ember::Error);
  CHECK_THROWS_AS(where(Tensor<bool>::ones({2}), T64::zeros({3}), T64::zeros({3})), ember::Error);
  CHECK_THROWS_AS(where(Tensor<bool>::ones({2}), T64::zeros({3}), 1.0), ember::Error);
}

TEST_CASE("maximum/minimum: values, NaN, broadcasting, tie rule, gradients") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const T64 a = T64{1.0, 5.0, 3.0, nan};
  const T64 b = T64{2.0, 4.0, 3.0, 0.0};
  const auto mx = maximum(a, b).to_vector(), mn = minimum(a, b).to_vector();
  CHECK(mx[0] == 2.0);
  CHECK(mx[1] == 5.0);
  CHECK(mx[2] == 3.0);
  CHECK(std::isnan(mx[3]));
  CHECK(mn[0] == 1.0);
  CHECK(mn[1] == 4.0);
  CHECK(std::isnan(mn[3]));
  CHECK(std::isnan(maximum(b, a).to_vector()[3]));
  CHECK(maximum(Tensor<int32_t>{1, 7}, Tensor<int32_t>{3, 2}).to_vector() ==
        std::vector<int32_t>{3, 7});

  // Ties split the gradient 0.5 / 0.5 (PyTorch's rule for maximum and minimum).
  T64 p = T64{1.0, 5.0, 3.0}.requires_grad_(), q = T64{2.0, 4.0, 3.0}.requires_grad_();
  auto g = grad<double>({sum(maximum(p, q))}, {p, q});
  CHECK(g[0].to_vector() == std::vector<double>{0.0, 1.0, 0.5});
  CHECK(g[1].to_vector() == std::vector<double>{1.0, 0.0, 0.5});
  g = grad<double>({sum(minimum(p, q))}, {p, q});
  CHECK(g[0].to_vector() == std::vector<double>{1.0, 0.0, 0.5});
  CHECK(g[1].to_vector() == std::vector<double>{0.0, 1.0, 0.5});
  // maximum(x, x): each side gets half, so the total is 1.
  T64 s = T64{2.0}.requires_grad_();
  CHECK(grad<double>({sum(maximum(s, s))}, {s})[0].item() == 1.0);

  // Broadcast: [3, 1] against [4]; a broadcast input's gradient sums the wins.
  const T64 col = T64::from_vector({0.0, 2.5, 10.0}, {3, 1});
  const T64 row = T64{1.0, 2.0, 3.0, 4.0};
  const T64 m = maximum(col, row);
  CHECK(m.shape() == Shape{3, 4});
  CHECK(m.to_vector() == std::vector<double>{1, 2, 3, 4, 2.5, 2.5, 3, 4, 10, 10, 10, 10});
  T64 cg = col.detach().requires_grad_();
  sum(maximum(cg, row)).backward();
  CHECK(cg.grad().to_vector() == std::vector<double>{0.0, 2.0, 4.0});

  Generator gen(13);
  T64 x = T64::randn({3, 1, 4}, gen).requires_grad_();
  T64 y = T64::randn({5, 4}, gen).requires_grad_();
  T64 yt = T64::randn({4, 5}, gen).t().detach().requires_grad_();  // non-contiguous [5, 4]
  for (bool is_max : {true, false}) {
    INFO("maximum: ", is_max);
    const auto op = [is_max](const T64& u, const T64& v) {
      return is_max ? maximum(u, v) : minimum(u, v);
    };
    const auto f = [&](const std::vector<T64>& xs) { return op(xs[0], xs[1]); };
    const auto f2 = [&](const std::vector<T64>& xs) {
      return mul(op(xs[0], xs[1]), mul(xs[0], xs[1]));
    };
    CHECK(gradcheck_report(f, {x, y}) == "");
    CHECK(gradgradcheck_report(f2, {x, y}) == "");
    CHECK(gradcheck_report(f, {x, yt}) == "");
    CHECK(gradgradcheck_report(f2, {x, yt}) == "");
  }

  CHECK_THROWS_AS(maximum(T64::zeros({2, 3}), T64::zeros({2})), ember::Error);
  CHECK_THROWS_AS(minimum(T64::zeros({4}), T64::zeros({3})), ember::Error);
}
