// softmax, log_softmax and layer_norm: values, stability, float32 kernels (vector and tail
// paths) against float64, the fused first-order backward against the composite rule, and
// gradients (first and second order) on any dim and on non-contiguous input.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/softmax.hpp>

using namespace ember;

namespace {

using Inputs = std::vector<Tensor<double>>;

Tensor<double> leaf(const Shape& shape, Generator& gen) {
  return Tensor<double>::randn(shape, gen).requires_grad_();
}

std::string thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

template <class A, class B>
double rel_err(const Tensor<A>& a, const Tensor<B>& b) {
  const std::vector<A> va = a.to_vector();
  const std::vector<B> vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (double(va[i]) - double(vb[i])) * (double(va[i]) - double(vb[i]));
    den += double(vb[i]) * double(vb[i]);
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

// d(sum(f(x) * g))/dx by the first-order path (GradMode off in backward: fused kernels) or by
// the create_graph path (composite, differentiable rules).
template <class T, class F>
Tensor<T> input_grad(F f, const Tensor<T>& x, const Tensor<T>& g, bool create_graph) {
  Tensor<T> xl = x.detach().requires_grad_();
  return grad<T>({sum(mul(f(xl), g))}, {xl}, {}, {.create_graph = create_graph})[0].detach();
}

}  // namespace

TEST_CASE("softmax: hand-computed values") {
  const std::vector<double> s = softmax(Tensor<double>{1, 2, 3}, 0).to_vector();
  CHECK(s[0] == doctest::Approx(0.09003057317038046));
  CHECK(s[1] == doctest::Approx(0.24472847105479767));
  CHECK(s[2] == doctest::Approx(0.6652409557748219));
  const std::vector<float> sf = softmax(Tensor<float>{1, 2, 3}, -1).to_vector();
  CHECK(sf[0] == doctest::Approx(0.09003057));
  CHECK(sf[2] == doctest::Approx(0.66524096));
  const std::vector<double> ls = log_softmax(Tensor<double>{1, 2, 3}, 0).to_vector();
  CHECK(ls[0] == doctest::Approx(-2.40760596444438));
  CHECK(ls[2] == doctest::Approx(-0.4076059644443803));
  // Along dim 0 of a matrix: each column sums to one.
  const Tensor<double> m = Tensor<double>::from_vector({0, 0, std::log(3.0), 0}, {2, 2});
  CHECK(softmax(m, 0).to_vector() == std::vector<double>{0.25, 0.5, 0.75, 0.5});
}

TEST_CASE("softmax: stable for large inputs, exact zeros for -inf, NaN propagates") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(softmax(Tensor<float>{1000, 1000}, 0).to_vector() == std::vector<float>{0.5f, 0.5f});
  CHECK(log_softmax(Tensor<float>{1000, 1000}, 0).to_vector()[0] ==
        doctest::Approx(-std::log(2.0)));
  CHECK(softmax(Tensor<double>{-1000, 0}, 0).to_vector()[0] == 0.0);
  // A masked row (as in causal attention), long enough for the vector kernel.
  Tensor<float> row = Tensor<float>::full({1, 19}, -inf);
  row.data_ptr()[3] = 0.5f;
  row.data_ptr()[12] = 0.5f;
  const std::vector<float> p = softmax(row, 1).to_vector();
  for (int i = 0; i < 19; ++i) CHECK(p[i] == ((i == 3 || i == 12) ? 0.5f : 0.0f));
  const std::vector<float> lp = log_softmax(row, 1).to_vector();
  CHECK(lp[0] == -inf);
  CHECK(lp[3] == doctest::Approx(-std::log(2.0)));
  Tensor<float> with_nan = Tensor<float>::zeros({9});
  with_nan.data_ptr()[5] = std::numeric_limits<float>::quiet_NaN();
  for (float v : softmax(with_nan, 0).to_vector()) CHECK(std::isnan(v));
}

TEST_CASE("log_softmax: float64 keeps every digit at large offsets (high-precision reference)") {
  // Rows around m = 1e6 and 1e8: log_softmax = (x - m) - log s is exact to a few ulps of the
  // result, where x - (m + log s) loses log s's digits to m's exponent (the drift the CUDA
  // kernel once had). The reference is the same formula in long double (64-bit mantissa).
  Generator gen(21);
  for (const double offset : {1e6, 1e8}) {
    CAPTURE(offset);
    const int64_t rows = 6, n = 37;
    Tensor<double> x = Tensor<double>::randn({rows, n}, gen);
    for (int64_t i = 0; i < x.numel(); ++i) x.data_ptr()[i] = offset + 3 * x.data_ptr()[i];
    for (const int64_t dim : {1, 0}) {
      CAPTURE(dim);
      const Tensor<double> xs = dim == 1 ? x : x.t().contiguous();  // same rows, other dim
      const Tensor<double> y = log_softmax(xs, dim);
      for (int64_t r = 0; r < rows; ++r) {
        long double m = -INFINITY, s = 0;
        for (int64_t k = 0; k < n; ++k) m = std::max<long double>(m, x.at({r, k}));
        for (int64_t k = 0; k < n; ++k) s += std::exp((long double)x.at({r, k}) - m);
        for (int64_t k = 0; k < n; ++k) {
          const long double want = ((long double)x.at({r, k}) - m) - std::log(s);
          const double got = dim == 1 ? y.at({r, k}) : y.at({k, r});
          // x - m is exact (one binade); s, a sum of n exps each within u, is within (n + 1) u
          // relatively, so log s is within (n + 1) u absolutely, plus its own and the final
          // subtraction's rounding. x - (m + log s) would be off by up to ulp(m) / 2: 6e-11 at
          // 1e6, 7e-9 at 1e8.
          const double u = std::numeric_limits<double>::epsilon() / 2;
          const double bound = u * (double(n + 1) + double(std::log(s)) + std::fabs(double(want)));
          CHECK(std::fabs(double(got - want)) <= bound);
        }
      }
    }
  }
}

TEST_CASE("softmax: float32 kernels agree with float64 on every path") {
  Generator gen(1);
  // Shapes hit the row kernel (dim last) and the column-block kernel (dim not last), with
  // lengths that leave vector tails; values spread so exp covers a wide range.
  const std::vector<std::pair<Shape, int64_t>> cases = {{{7, 37}, 1},     {{5, 1030}, -1},
                                                        {{37, 7, 13}, 1}, {{3, 100, 70}, 0},
                                                        {{4, 3, 130}, 1}, {{2, 1}, 1}};
  for (const auto& c : cases) {
    // Plain copies, not structured bindings: lambdas below capture dim, which clang < 16
    // rejects for a binding (tools/sanitize.sh tsan compiles this file with clang-14).
    const Shape shape = c.first;
    const int64_t dim = c.second;
    CAPTURE(shape_str(shape));
    const Tensor<double> x = Tensor<double>::randn(shape, gen, 0.0, 8.0);
    const Tensor<double> g = Tensor<double>::randn(shape, gen);
    const Tensor<float> xf = x.to<float>(), gf = g.to<float>();
    CHECK(rel_err(softmax(xf, dim), softmax(x, dim)) < 1e-6);
    CHECK(rel_err(log_softmax(xf, dim), log_softmax(x, dim)) < 1e-6);
    auto sm = [dim](const auto& t) { return softmax(t, dim); };
    auto lsm = [dim](const auto& t) { return log_softmax(t, dim); };
    // Fused (first-order) backward: float vs double, and fused vs composite (create_graph).
    CHECK(rel_err(input_grad(sm, xf, gf, false), input_grad(sm, x, g, false)) < 1e-5);
    CHECK(rel_err(input_grad(lsm, xf, gf, false), input_grad(lsm, x, g, false)) < 1e-5);
    CHECK(rel_err(input_grad(sm, x, g, false), input_grad(sm, x, g, true)) < 1e-12);
    CHECK(rel_err(input_grad(lsm, x, g, false), input_grad(lsm, x, g, true)) < 1e-12);
  }
}

TEST_CASE("softmax: gradients on any dim and on non-contiguous input") {
  Generator gen(2);
  const Tensor<double> x = leaf({3, 4, 5}, gen);
  for (int64_t d : {0, 1, 2, -1}) {
    CAPTURE(d);
    auto sm = [d](const Inputs& in) { return softmax(in[0], d); };
    auto lsm = [d](const Inputs& in) { return log_softmax(in[0], d); };
    CHECK(gradcheck_report(sm, {x}) == "");
    CHECK(gradgradcheck_report(sm, {x}) == "");
    CHECK(gradcheck_report(lsm, {x}) == "");
    CHECK(gradgradcheck_report(lsm, {x}) == "");
  }
  const Tensor<double> xt = Tensor<double>::randn({5, 4}, gen).t().detach().requires_grad_();
  for (int64_t d : {0, 1}) {
    CHECK(gradcheck_report([d](const Inputs& in) { return softmax(in[0], d); }, {xt}) == "");
    CHECK(gradgradcheck_report([d](const Inputs& in) { return log_softmax(in[0], d); }, {xt}) ==
          "");
  }
  // Broadcast input (an expanded row) and a 0-d tensor.
  const Tensor<double> row = leaf({1, 4}, gen);
  CHECK(gradcheck_report(
            [](const Inputs& in) {
              return softmax(in[0].expand({3, 4}), 0);
            },
            {row}) == "");
  CHECK(gradcheck_report(
            [](const Inputs& in) {
              return log_softmax(in[0].expand({3, 4}), 1);
            },
            {row}) == "");
  const Tensor<double> s = Tensor<double>::scalar(0.3).requires_grad_();
  CHECK(softmax(s, 0).item() == 1.0);
  CHECK(gradcheck_report([](const Inputs& in) { return softmax(in[0], 0); }, {s}) == "");
}

TEST_CASE("softmax: bad dim throws") {
  const std::string msg = thrown_message([] { softmax(Tensor<double>::zeros({2, 3}), 2); });
  CHECK(msg.find("softmax") != std::string::npos);
  CHECK_THROWS_AS(log_softmax(Tensor<double>::zeros({2, 3}), -3), Error);
}

TEST_CASE("layer_norm: hand-computed values") {
  // x = [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
  const Tensor<double> x{1, 2, 3, 4};
  const std::vector<double> y = layer_norm(x, {4}).to_vector();
  CHECK(y[0] == doctest::Approx(-1.3416354199689269));
  CHECK(y[1] == doctest::Approx(-0.447211806656309));
  CHECK(y[3] == doctest::Approx(1.3416354199689269));
  const std::vector<double> ya =
      layer_norm(x, {4}, Tensor<double>::full({4}, 2.0), Tensor<double>::full({4}, 0.5))
          .to_vector();
  CHECK(ya[0] == doctest::Approx(-2.1832708399378538));
  CHECK(ya[3] == doctest::Approx(3.1832708399378538));
  // Two normalized dims: the same numbers as a [2, 2] block.
  const std::vector<float> y2 =
      layer_norm(Tensor<float>{1, 2, 3, 4}.reshape({1, 2, 2}), {2, 2}).to_vector();
  CHECK(y2[0] == doctest::Approx(-1.3416354f));
  CHECK(y2[3] == doctest::Approx(1.3416354f));
  // A constant row normalises to zeros (eps keeps it finite).
  for (double v : layer_norm(Tensor<double>::full({2, 5}, 7.0), {5}).to_vector()) CHECK(v == 0.0);
}

TEST_CASE(
    "layer_norm: float32 agrees with float64; fused backward agrees with the composite rule") {
  Generator gen(3);
  for (const Shape& shape : {Shape{6, 37}, Shape{3, 4, 130}, Shape{64, 17}}) {
    CAPTURE(shape_str(shape));
    const int64_t n = shape.back();
    const Tensor<double> x = Tensor<double>::randn(shape, gen, 3.0, 2.0);
    const Tensor<double> g = Tensor<double>::randn(shape, gen);
    const Tensor<double> w = Tensor<double>::randn({n}, gen), b = Tensor<double>::randn({n}, gen);
    CHECK(rel_err(layer_norm(x.to<float>(), {n}, w.to<float>(), b.to<float>()),
                  layer_norm(x, {n}, w, b)) < 1e-5);
    for (bool affine : {true, false}) {
      CAPTURE(affine);
      auto grads = [&](auto xt, auto wt, auto bt, auto gt, bool create_graph) {
        using T = typename decltype(xt)::value_type;
        Tensor<T> xl = xt.detach().requires_grad_();
        Tensor<T> wl = wt.detach().requires_grad_(), bl = bt.detach().requires_grad_();
        Tensor<T> out = affine ? layer_norm(xl, {n}, wl, bl) : layer_norm(xl, {n});
        const std::vector<Tensor<T>> ins =
            affine ? std::vector<Tensor<T>>{xl, wl, bl} : std::vector<Tensor<T>>{xl};
        return grad<T>({sum(mul(out, gt))}, ins, {}, {.create_graph = create_graph});
      };
      const auto fused = grads(x, w, b, g, false);
      const auto composite = grads(x, w, b, g, true);
      const auto single = grads(x.to<float>(), w.to<float>(), b.to<float>(), g.to<float>(), false);
      for (size_t i = 0; i < fused.size(); ++i) {
        CAPTURE(i);
        CHECK(rel_err(fused[i], composite[i].detach()) < 1e-12);
        CHECK(rel_err(single[i], fused[i]) < 1e-5);
      }
    }
  }
}

TEST_CASE("layer_norm: gradients with and without affine, over one and two dims") {
  Generator gen(4);
  const Tensor<double> x = leaf({3, 4, 5}, gen);
  const Tensor<double> w1 = leaf({5}, gen), b1 = leaf({5}, gen);
  const Tensor<double> w2 = leaf({4, 5}, gen), b2 = leaf({4, 5}, gen);
  auto affine1 = [](const Inputs& in) { return layer_norm(in[0], {5}, in[1], in[2]); };
  auto plain1 = [](const Inputs& in) { return layer_norm(in[0], {5}); };
  auto affine2 = [](const Inputs& in) { return layer_norm(in[0], {4, 5}, in[1], in[2], 1e-3); };
  auto plain2 = [](const Inputs& in) { return layer_norm(in[0], {4, 5}); };
  auto weight_only = [](const Inputs& in) { return layer_norm(in[0], {5}, in[1]); };
  auto bias_only = [](const Inputs& in) { return layer_norm(in[0], {5}, Tensor<double>(), in[1]); };
  CHECK(gradcheck_report(affine1, {x, w1, b1}) == "");
  CHECK(gradgradcheck_report(affine1, {x, w1, b1}) == "");
  CHECK(gradcheck_report(plain1, {x}) == "");
  CHECK(gradgradcheck_report(plain1, {x}) == "");
  CHECK(gradcheck_report(affine2, {x, w2, b2}) == "");
  CHECK(gradgradcheck_report(affine2, {x, w2, b2}) == "");
  CHECK(gradcheck_report(plain2, {x}) == "");
  CHECK(gradgradcheck_report(plain2, {x}) == "");
  CHECK(gradcheck_report(weight_only, {x, w1}) == "");
  CHECK(gradcheck_report(bias_only, {x, b1}) == "");
  CHECK(gradcheck_report(affine1, {x.detach(), w1, b1}) == "");  // parameters only
  // Non-contiguous input and broadcast input.
  const Tensor<double> xt = Tensor<double>::randn({5, 3}, gen).t().detach().requires_grad_();
  CHECK(gradcheck_report(affine1, {xt, w1, b1}) == "");
  CHECK(gradgradcheck_report(plain1, {xt}) == "");
  const Tensor<double> row = leaf({1, 5}, gen);
  CHECK(gradcheck_report(
            [](const Inputs& in) {
              return layer_norm(in[0].expand({3, 5}), {5}, in[1], in[2]);
            },
            {row, w1, b1}) == "");
}

TEST_CASE("layer_norm: bad shapes throw") {
  const Tensor<double> x = Tensor<double>::zeros({2, 3, 4});
  const std::string msg = thrown_message([&] { layer_norm(x, {3}); });
  CHECK(msg.find("[2, 3, 4]") != std::string::npos);
  CHECK(msg.find("[3]") != std::string::npos);
  CHECK_THROWS_AS(layer_norm(x, {}), Error);
  CHECK_THROWS_AS(layer_norm(x, {1, 2, 3, 4}), Error);
  const std::string wmsg = thrown_message([&] { layer_norm(x, {4}, Tensor<double>::ones({3})); });
  CHECK(wmsg.find("weight") != std::string::npos);
  CHECK(wmsg.find("[3]") != std::string::npos);
  CHECK_THROWS_AS(layer_norm(x, {3, 4}, Tensor<double>(), Tensor<double>::ones({4})), Error);
}
