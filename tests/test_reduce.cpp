// Reductions beyond sum/mean: var, std, max / min (with indices), amax / amin, argmax /
// argmin, logsumexp. Values, ties, NaN, gradients (first and second order) and bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/reduce_more.hpp>

using namespace ember;

namespace {

using Inputs = std::vector<Tensor<double>>;

Tensor<double> leaf(const Shape& shape, Generator& gen) {
  return Tensor<double>::randn(shape, gen).requires_grad_();
}

// Distinct values (no ties), so max / min are differentiable everywhere finite differences look.
Tensor<double> distinct(const Shape& shape, Generator& gen) {
  Tensor<double> t = Tensor<double>::randn(shape, gen);
  double* p = t.data_ptr();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] += 0.01 * double(i % 97);
  return t.requires_grad_();
}

template <class T>
std::vector<T> values(const Tensor<T>& t) {
  return t.to_vector();
}

std::string thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

double max_rel_err(const Tensor<float>& a, const Tensor<double>& b) {
  const std::vector<float> va = a.to_vector();
  const std::vector<double> vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (double(va[i]) - vb[i]) * (double(va[i]) - vb[i]);
    den += vb[i] * vb[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

}  // namespace

TEST_CASE("reduce_more: var and std values") {
  const Tensor<double> x{1, 2, 3, 4};
  CHECK(var(x).item() == doctest::Approx(5.0 / 3.0));
  CHECK(var(x, {}, {.correction = 0}).item() == doctest::Approx(1.25));
  CHECK(ember::std(x).item() == doctest::Approx(1.2909944487358056));
  CHECK(ember::std(x, {0}, {.correction = 0}).item() == doctest::Approx(std::sqrt(1.25)));

  // Rows [1, 2, 3] and [2, 4, 9]; columns [1, 2], [2, 4], [3, 9].
  const Tensor<double> m = Tensor<double>::from_vector({1, 2, 3, 2, 4, 9}, {2, 3});
  const Tensor<double> rows = var(m, {1}, {.keepdim = true});
  CHECK(rows.shape() == Shape{2, 1});
  CHECK(values(rows)[0] == doctest::Approx(1.0));
  CHECK(values(rows)[1] == doctest::Approx(13.0));
  const std::vector<double> cols = values(var(m, {0}));
  CHECK(cols[0] == doctest::Approx(0.5));
  CHECK(cols[1] == doctest::Approx(2.0));
  CHECK(cols[2] == doctest::Approx(18.0));

  // Large offset: the shifted sums keep the digits a naive E[x²] - E[x]² would lose.
  const Tensor<double> big{1e9 + 1, 1e9 + 2, 1e9 + 3};
  CHECK(var(big).item() == doctest::Approx(1.0));
  const Tensor<float> bigf{1e4f + 1, 1e4f + 2, 1e4f + 3};
  CHECK(var(bigf).item() == doctest::Approx(1.0));

  // One element with correction 1: 0 / 0, as in PyTorch.
  CHECK(std::isnan(var(Tensor<double>{3.0}).item()));
}

TEST_CASE("reduce_more: var and std agree between float and double on a long reduction") {
  Generator gen(11);
  const Tensor<double> x = Tensor<double>::randn({3, 70000}, gen, 5.0, 2.0);
  const Tensor<float> xf = x.to<float>();
  CHECK(max_rel_err(var(xf, {1}), var(x, {1})) < 1e-5);
  CHECK(max_rel_err(ember::std(xf), ember::std(x)) < 1e-5);
  CHECK(max_rel_err(var(xf, {0}), var(x, {0})) < 1e-5);  // the reduced-leading-dims path
  // One long reduction splits across threads; the partial sums merge.
  const Tensor<double> flat = x.reshape({-1});
  CHECK(var(flat).item() == doctest::Approx(var(x).item()).epsilon(1e-12));
  CHECK(var(flat).item() == doctest::Approx(4.0).epsilon(0.05));
}

TEST_CASE("reduce_more: var and std gradients") {
  Generator gen(1);
  const Tensor<double> x = leaf({3, 4, 5}, gen);
  for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {1}, {0, 2}, {-1}}) {
    CAPTURE(dims.size());
    auto fv = [dims](const Inputs& in) { return var(in[0], dims); };
    auto fs = [dims](const Inputs& in) {
      return ember::std(in[0], dims, {.correction = 0, .keepdim = true});
    };
    CHECK(gradcheck_report(fv, {x}) == "");
    CHECK(gradgradcheck_report(fv, {x}) == "");
    CHECK(gradcheck_report(fs, {x}) == "");
    CHECK(gradgradcheck_report(fs, {x}) == "");
  }
  // Non-contiguous input.
  const Tensor<double> xt = Tensor<double>::randn({5, 3}, gen).t().detach().requires_grad_();
  CHECK(gradcheck_report([](const Inputs& in) { return var(in[0], {1}); }, {xt}) == "");
  CHECK(gradgradcheck_report([](const Inputs& in) { return ember::std(in[0], {0}); }, {xt}) == "");
  // Broadcast input: var over an expanded view.
  const Tensor<double> b = leaf({4, 1}, gen);
  CHECK(gradcheck_report([](const Inputs& in) { return var(add(in[0], in[1]), {0}); },
                         {b, leaf({4, 3}, gen)}) == "");
}

TEST_CASE("reduce_more: max and min along a dim route the gradient to the returned index") {
  const Tensor<double> x = Tensor<double>::from_vector({1, 3, 3, 2, 2, 0}, {2, 3}).requires_grad_();
  ValuesIndices<double> r = max_with_indices(x, 1);
  CHECK(values(r.values) == std::vector<double>{3, 2});
  CHECK(values(r.indices) == std::vector<int64_t>{1, 0});  // first occurrence of each tie
  sum(max(x, 1)).backward();
  CHECK(values(x.grad()) == std::vector<double>{0, 1, 0, 1, 0, 0});

  ValuesIndices<double> mn = min_with_indices(x.detach(), 0, true);
  CHECK(mn.values.shape() == Shape{1, 3});
  CHECK(values(mn.values) == std::vector<double>{1, 2, 0});
  CHECK(values(mn.indices) == std::vector<int64_t>{0, 1, 1});
  CHECK(min(x.detach(), -1).shape() == Shape{2});

  // Integers work too (no gradient).
  const Tensor<int64_t> xi = Tensor<int64_t>::from_vector({4, 9, 9, 1}, {2, 2});
  CHECK(values(max(xi, 1)) == std::vector<int64_t>{9, 9});
  CHECK(max(xi).item() == 9);
  CHECK(values(argmin(xi, 0)) == std::vector<int64_t>{0, 1});
}

TEST_CASE("reduce_more: max / min gradients") {
  Generator gen(2);
  const Tensor<double> x = distinct({3, 4, 5}, gen);
  for (int64_t d : {0, 1, 2, -1}) {
    CAPTURE(d);
    // Squared, so that the second derivative is not identically zero.
    auto fmax = [d](const Inputs& in) {
      Tensor<double> m = max(in[0], d);
      return mul(m, m);
    };
    auto fmin = [d](const Inputs& in) {
      Tensor<double> m = min(in[0], d, true);
      return mul(m, m);
    };
    CHECK(gradcheck_report(fmax, {x}) == "");
    CHECK(gradgradcheck_report(fmax, {x}) == "");
    CHECK(gradcheck_report(fmin, {x}) == "");
    CHECK(gradgradcheck_report(fmin, {x}) == "");
  }
  const Tensor<double> xt = distinct({5, 4}, gen).detach().t().detach().requires_grad_();
  CHECK(gradcheck_report([](const Inputs& in) { return max(in[0], 0); }, {xt}) == "");
  CHECK(gradcheck_report([](const Inputs& in) { return amax(in[0], {0, 1}, true); }, {xt}) == "");
  CHECK(gradcheck_report(
            [](const Inputs& in) {
              Tensor<double> m = amin(in[0], {1});
              return mul(m, m);
            },
            {x}) == "");
  CHECK(gradgradcheck_report(
            [](const Inputs& in) {
              Tensor<double> m = amin(in[0], {1});
              return mul(m, m);
            },
            {x}) == "");
  CHECK(gradcheck_report([](const Inputs& in) { return max(in[0]); }, {x}) == "");
}

TEST_CASE("reduce_more: full max / min and amax share the gradient evenly among ties") {
  const Tensor<double> x = Tensor<double>{1, 3, 3, -2}.requires_grad_();
  Tensor<double> m = max(x);
  CHECK(m.dim() == 0);
  CHECK(m.item() == 3);
  m.backward();
  CHECK(values(x.grad()) == std::vector<double>{0, 0.5, 0.5, 0});
  x.zero_grad();
  min(x).backward();
  CHECK(values(x.grad()) == std::vector<double>{0, 0, 0, 1});

  const Tensor<double> y = Tensor<double>::from_vector({5, 1, 5, 2, 2, 2}, {2, 3}).requires_grad_();
  sum(amax(y, {1})).backward();
  CHECK(values(y.grad()) == std::vector<double>{0.5, 0, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  CHECK(values(amin(y.detach(), {0}, true)) == std::vector<double>{2, 1, 2});
}

TEST_CASE("reduce_more: argmax / argmin return the first occurrence") {
  const Tensor<double> x = Tensor<double>::from_vector({1, 5, 5, 7, 7, 1}, {2, 3});
  CHECK(values(argmax(x, 1)) == std::vector<int64_t>{1, 0});
  CHECK(values(argmax(x, 0)) == std::vector<int64_t>{1, 1, 0});
  CHECK(argmax(x, 1, true).shape() == Shape{2, 1});
  CHECK(argmax(x).item() == 3);  // index into the flattened tensor
  CHECK(argmax(x).dim() == 0);
  CHECK(argmin(x).item() == 0);
  CHECK(values(argmin(x, -1)) == std::vector<int64_t>{0, 2});
  // The same over a transposed view, and over a long run that splits across threads.
  CHECK(values(argmax(x.t(), 0)) == std::vector<int64_t>{1, 0});
  Tensor<float> longrun = Tensor<float>::zeros({200000});
  longrun.data_ptr()[150001] = 2;
  longrun.data_ptr()[170000] = 2;
  longrun.data_ptr()[3] = -1;
  CHECK(argmax(longrun).item() == 150001);
  CHECK(argmin(longrun).item() == 3);
  CHECK(argmax(longrun, 0).item() == 150001);
}

TEST_CASE("reduce_more: NaN propagates through max and argmax") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor<double> x{1, nan, 3, nan};
  CHECK(std::isnan(max(x).item()));
  CHECK(std::isnan(min(x).item()));
  CHECK(argmax(x).item() == 1);
  CHECK(argmin(x).item() == 1);
  CHECK(std::isnan(max(x, 0).item()));
  CHECK(std::isnan(logsumexp(x).item()));
}

TEST_CASE("reduce_more: logsumexp values, stability and gradients") {
  CHECK(logsumexp(Tensor<double>{1, 2, 3}).item() == doctest::Approx(3.4076059644443806));
  CHECK(logsumexp(Tensor<float>{1000, 1000}).item() == doctest::Approx(1000.6931472));
  CHECK(logsumexp(Tensor<double>{-1000, -1000}).item() == doctest::Approx(-999.3068528));
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(logsumexp(Tensor<double>{-inf, -inf}).item() == -inf);
  CHECK(logsumexp(Tensor<double>{-inf, 0.0}).item() == 0.0);
  CHECK(logsumexp(Tensor<double>{inf, 1.0, inf}).item() == inf);
  const Tensor<double> m = Tensor<double>::from_vector({0, 0, 1, 1, 2, 2}, {3, 2});
  const Tensor<double> l = logsumexp(m, {1}, true);
  CHECK(l.shape() == Shape{3, 1});
  CHECK(values(l)[2] == doctest::Approx(2 + std::log(2.0)));

  Generator gen(3);
  const Tensor<double> x = leaf({3, 4, 5}, gen);
  for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {1}, {0, 2}, {2, 0}, {-1}}) {
    CAPTURE(dims.size());
    auto f = [dims](const Inputs& in) { return logsumexp(in[0], dims); };
    CHECK(gradcheck_report(f, {x}) == "");
    CHECK(gradgradcheck_report(f, {x}) == "");
  }
  const Tensor<double> xt = Tensor<double>::randn({4, 3}, gen).t().detach().requires_grad_();
  CHECK(gradcheck_report([](const Inputs& in) { return logsumexp(in[0], {1}, true); }, {xt}) == "");
  CHECK(gradgradcheck_report([](const Inputs& in) { return logsumexp(in[0], {0}); }, {xt}) == "");

  // Against the float64 result, float accumulates in double.
  const Tensor<double> big = Tensor<double>::randn({16, 5000}, gen, 0.0, 10.0);
  CHECK(max_rel_err(logsumexp(big.to<float>(), {1}), logsumexp(big, {1})) < 1e-6);
}

TEST_CASE("reduce_more: bad input throws with the shape") {
  const Tensor<double> x = Tensor<double>::zeros({2, 3});
  const std::string msg = thrown_message([&] { var(x, {2}); });
  CHECK(msg.find("var") != std::string::npos);
  CHECK_THROWS_AS(logsumexp(x, {0, 0}), Error);
  CHECK_THROWS_AS(max(x, 5), Error);
  CHECK_THROWS_AS(argmax(x, -3), Error);
  const Tensor<double> empty = Tensor<double>::zeros({2, 0});
  const std::string e = thrown_message([&] { max(empty, 1); });
  CHECK(e.find("[2, 0]") != std::string::npos);
  CHECK_THROWS_AS(max(empty), Error);
  CHECK_THROWS_AS(argmin(empty), Error);
  CHECK(max(empty, 0).shape() == Shape{0});  // reducing a non-empty dim of an empty tensor is fine
}
