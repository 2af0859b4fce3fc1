// The ops of the sort family (sort, argsort, topk), cumsum, round / floor / ceil and
// multinomial: values against hand-computed results, stability with ties, NaN, non-contiguous
// inputs and dims other than the last, gradients (first and second order) and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/sampling.hpp>
#include <ember/ops/sort.hpp>
#include <ember/ops/unary.hpp>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace ember;

namespace {

using Inputs = std::vector<Tensor<double>>;
using I = std::vector<int64_t>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Equal as bit patterns of meaning: NaN equals NaN, and -0.0 differs from 0.0.
bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}
template <class T>
bool same(const std::vector<T>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same(double(a[i]), b[i])) return false;
  return true;
}

// Random values with no ties, so sort / topk are differentiable where finite differences look.
Tensor<double> distinct(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  Tensor<double> t = Tensor<double>::randn(shape, gen);
  double* p = t.data_ptr();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] += 0.01 * double(i % 97);
  return t;
}

std::string thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Counts of each category in a tensor of samples.
std::vector<int64_t> counts(const Tensor<int64_t>& samples, int64_t categories) {
  std::vector<int64_t> c(size_t(categories), 0);
  for (int64_t v : samples.to_vector()) ++c[size_t(v)];
  return c;
}

// |count - n p| within 4 standard deviations of the binomial count.
bool within_4_sigma(int64_t count, int64_t n, double p) {
  return std::abs(double(count) - double(n) * p) <= 4.0 * std::sqrt(double(n) * p * (1.0 - p));
}

}  // namespace

// ---------------------------------------------------------------- round, floor, ceil

TEST_CASE("round / floor / ceil: values, halves to even, negatives, signed zeros, NaN") {
  const Tensor<double> x{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.0, 2.7, -2.7, 3.0};
  // numpy: np.round (ties to even), np.floor, np.ceil of the same values.
  CHECK(same(round(x).to_vector(), {-2, -2, -0.0, 0, 2, 2, -0.0, 3, -3, 3}));
  CHECK(same(floor(x).to_vector(), {-3, -2, -1, 0, 1, 2, -0.0, 2, -3, 3}));
  CHECK(same(ceil(x).to_vector(), {-2, -1, -0.0, 1, 2, 3, -0.0, 3, -2, 3}));
  const Tensor<double> special{kNaN, kInf, -kInf};
  CHECK(same(round(special).to_vector(), {kNaN, kInf, -kInf}));
  CHECK(same(floor(special).to_vector(), {kNaN, kInf, -kInf}));
  // float, and a non-contiguous input.
  const Tensor<float> xf =
      Tensor<float>::from_vector({0.5f, 1.5f, -1.25f, 2.5f, 3.75f, -3.5f}, {2, 3});
  CHECK(same(round(xf.t()).to_vector(), {0, 2, 2, 4, -1, -4}));
  CHECK(same(ceil(xf.t()).to_vector(), {1, 3, 2, 4, -1, -3}));
}

TEST_CASE("round / floor / ceil: the gradient is zero, also under create_graph") {
  for (int op = 0; op < 3; ++op) {
    CAPTURE(op);
    const auto f = [op](const Tensor<double>& v) {
      return op == 0 ? round(v) : op == 1 ? floor(v) : ceil(v);
    };
    auto x = Tensor<double>::from_vector({0.3, 1.7, -2.2, 2.5, -0.5}, {5}).requires_grad_();
    sum(mul(f(x), 3.0)).backward();
    REQUIRE(x.grad().defined());
    CHECK(same(x.grad().to_vector(), {0, 0, 0, 0, 0}));
    const auto gx = grad<double>({sum(f(x))}, {x}, {}, {.create_graph = true})[0];
    CHECK(same(gx.to_vector(), {0, 0, 0, 0, 0}));
    // Away from the jumps the finite differences are zero too.
    const Tensor<double> away = Tensor<double>::from_vector({0.3, 1.7, -2.2, 0.9}, {2, 2});
    CHECK(gradcheck_report([f](const Inputs& in) { return f(in[0]); },
                           {away.t().detach().requires_grad_()}) == "");
  }
}

// ---------------------------------------------------------------- sort, argsort

TEST_CASE("sort: values and indices, stable with ties, NaN largest") {
  const Tensor<double> x{3, 1, 2, 1, kNaN, -kInf, 0};
  const auto up = sort(x);
  CHECK(same(up.values.to_vector(), {-kInf, 0, 1, 1, 2, 3, kNaN}));
  CHECK(up.indices.to_vector() == I{5, 6, 1, 3, 2, 0, 4});
  const auto down = sort(x, 0, true);
  CHECK(same(down.values.to_vector(), {kNaN, 3, 2, 1, 1, 0, -kInf}));
  CHECK(down.indices.to_vector() == I{4, 0, 2, 1, 3, 6, 5});  // the tied 1s keep their order
  CHECK(argsort(x).to_vector() == I{5, 6, 1, 3, 2, 0, 4});
  CHECK(argsort(x, -1, true).to_vector() == I{4, 0, 2, 1, 3, 6, 5});

  // Several NaNs, and -0.0 equal to 0.0: ties in position order, signs kept.
  const Tensor<double> nans{kNaN, 1, -kNaN, 0.0, -0.0, 0.0};
  const auto a = sort(nans);
  CHECK(a.indices.to_vector() == I{3, 4, 5, 1, 0, 2});
  CHECK(same(a.values.to_vector(), {0.0, -0.0, 0.0, 1, kNaN, kNaN}));
  CHECK(sort(nans, 0, true).indices.to_vector() == I{0, 2, 1, 3, 4, 5});

  // Many equal keys: a stable sort keeps them in position order.
  std::vector<double> keys;
  for (int i = 0; i < 200; ++i) keys.push_back(double((i * 7) % 3));
  const auto s = sort(Tensor<double>::from_vector(keys, {200}));
  const std::vector<int64_t> idx = s.indices.to_vector();
  for (size_t j = 1; j < idx.size(); ++j) {
    const bool tie = keys[size_t(idx[j])] == keys[size_t(idx[j - 1])];
    CHECK((!tie || idx[j] > idx[j - 1]));
  }
}

TEST_CASE("sort: dims other than the last, non-contiguous inputs, 0-d and empty") {
  const auto m = Tensor<double>::from_vector({3, 1, 2, 0, 5, 4}, {2, 3});
  const auto d0 = sort(m, 0);
  CHECK(d0.values.shape() == Shape{2, 3});
  CHECK(same(d0.values.to_vector(), {0, 1, 2, 3, 5, 4}));
  CHECK(d0.indices.to_vector() == I{1, 0, 0, 0, 1, 1});
  const auto t = sort(m.t(), -1, true);  // rows [3, 0], [1, 5], [2, 4]
  CHECK(same(t.values.to_vector(), {3, 0, 5, 1, 4, 2}));
  CHECK(t.indices.to_vector() == I{0, 1, 1, 0, 1, 0});

  // A 3-D input sorted along the middle dim of a permuted view: each row is ordered, the indices
  // are a permutation, and gather with them gives the values.
  const Tensor<double> x = distinct({4, 5, 6}, 3).detach().permute({2, 0, 1});  // [6, 4, 5]
  const auto r = sort(x, 1);
  CHECK(r.values.shape() == Shape{6, 4, 5});
  CHECK(same(gather(x, 1, r.indices).to_vector(), r.values.to_vector()));
  for (int64_t a = 0; a < 6; ++a)
    for (int64_t c = 0; c < 5; ++c) {
      std::set<int64_t> seen;
      for (int64_t j = 0; j < 4; ++j) {
        seen.insert(r.indices.select(0, a).select(1, c).to_vector()[size_t(j)]);
        if (j > 0)
          CHECK(r.values.select(0, a).select(1, c).to_vector()[size_t(j - 1)] <
                r.values.select(0, a).select(1, c).to_vector()[size_t(j)]);
      }
      CHECK(seen.size() == 4);
    }

  const auto scalar = sort(Tensor<double>::scalar(2.5));
  CHECK(scalar.values.shape() == Shape{});
  CHECK(scalar.values.item() == 2.5);
  CHECK(scalar.indices.item() == 0);
  CHECK(sort(Tensor<double>::zeros({3, 0})).values.shape() == Shape{3, 0});

  // int and float tensors sort too.
  CHECK(sort(Tensor<int64_t>{4, -1, 4, 2}).indices.to_vector() == I{1, 3, 0, 2});
  CHECK(same(sort(Tensor<float>{2.5f, -1.0f}).values.to_vector(), {-1.0, 2.5}));
  CHECK_THROWS_AS(sort(m, 2), ember::Error);
}

TEST_CASE("sort: many rows (split over threads) match a stable sort of each row, with ties") {
  Generator gen(9);
  const Tensor<double> x = round(mul(Tensor<double>::randn({300, 50}, gen), 3.0));  // ties
  const auto r = sort(x, 1, true);
  const std::vector<double> xs = x.to_vector();
  std::vector<double> want_values;
  std::vector<int64_t> want_indices;
  for (int64_t row = 0; row < 300; ++row) {
    std::vector<int64_t> order(50);
    for (int64_t j = 0; j < 50; ++j) order[size_t(j)] = j;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return xs[size_t(row * 50 + a)] > xs[size_t(row * 50 + b)];
    });
    for (int64_t j : order) {
      want_indices.push_back(j);
      want_values.push_back(xs[size_t(row * 50 + j)]);
    }
  }
  CHECK(r.indices.to_vector() == want_indices);
  CHECK(same(r.values.to_vector(), want_values));
}

// ---------------------------------------------------------------- topk

TEST_CASE("topk: largest and smallest, ties in position order, NaN largest") {
  const Tensor<double> x{1, 3, 3, 2, kNaN};
  const auto big = topk(x, 2);
  CHECK(same(big.values.to_vector(), {kNaN, 3}));
  CHECK(big.indices.to_vector() == I{4, 1});
  const auto small = topk(x, 3, 0, false);
  CHECK(same(small.values.to_vector(), {1, 2, 3}));
  CHECK(small.indices.to_vector() == I{0, 3, 1});
  CHECK(topk(x, 3, 0, true, false).indices.to_vector() == I{4, 1, 2});  // sorted anyway

  const auto m = Tensor<double>::from_vector({3, 1, 2, 0, 5, 4, 6, 2, 2}, {3, 3});
  const auto cols = topk(m, 2, 0);  // columns [3, 0, 6], [1, 5, 2], [2, 4, 2]
  CHECK(cols.values.shape() == Shape{2, 3});
  CHECK(same(cols.values.to_vector(), {6, 5, 4, 3, 2, 2}));
  CHECK(cols.indices.to_vector() == I{2, 1, 1, 0, 2, 0});
  const auto rows = topk(m.t(), 1, -1, false);  // rows of m.t() are m's columns
  CHECK(same(rows.values.to_vector(), {0, 1, 2}));
  CHECK(rows.indices.to_vector() == I{1, 0, 0});
  CHECK(topk(m, 0).values.shape() == Shape{3, 0});

  const std::string msg = thrown_message([&] { topk(m, 4, 1); });
  CHECK(msg.find("topk") != std::string::npos);
  CHECK(msg.find("[3, 3]") != std::string::npos);
  CHECK_THROWS_AS(topk(m, -1), ember::Error);
}

// ---------------------------------------------------------------- gradients of sort / topk

TEST_CASE("sort / topk: gradients go back to the sorted positions, first and second order") {
  const Tensor<double> x = distinct({3, 5}, 1);
  const Tensor<double> xt = distinct({6, 4}, 2).t().detach().requires_grad_();  // non-contiguous
  const auto sort_last = [](const Inputs& in) { return sort(in[0], -1).values; };
  const auto sort_first_desc = [](const Inputs& in) { return sort(in[0], 0, true).values; };
  const auto top2 = [](const Inputs& in) { return topk(in[0], 2, -1).values; };
  const auto bottom3_dim0 = [](const Inputs& in) { return topk(in[0], 3, 0, false).values; };
  for (const Tensor<double>& input : {x.detach().requires_grad_(), xt}) {
    CHECK(gradcheck_report(sort_last, {input}) == "");
    CHECK(gradgradcheck_report(sort_last, {input}) == "");
    CHECK(gradcheck_report(sort_first_desc, {input}) == "");
    CHECK(gradgradcheck_report(sort_first_desc, {input}) == "");
    CHECK(gradcheck_report(top2, {input}) == "");
    CHECK(gradgradcheck_report(top2, {input}) == "");
    CHECK(gradcheck_report(bottom3_dim0, {input}) == "");
    CHECK(gradgradcheck_report(bottom3_dim0, {input}) == "");
  }

  // By hand: topk's gradient lands on the picked positions only.
  auto v = Tensor<double>::from_vector({0.5, 2.0, -1.0, 3.0}, {4}).requires_grad_();
  sum(mul(topk(v, 2).values, Tensor<double>{10.0, 1.0})).backward();
  CHECK(same(v.grad().to_vector(), {0, 1, 0, 10}));
  CHECK_FALSE(topk(v, 2).indices.requires_grad());
}

// ---------------------------------------------------------------- cumsum

TEST_CASE("cumsum: values along any dim, float accumulates in double, complex") {
  CHECK(same(cumsum(Tensor<double>{1, 2, 3, 4}, 0).to_vector(), {1, 3, 6, 10}));
  const auto m = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(same(cumsum(m, 0).to_vector(), {1, 2, 3, 5, 7, 9}));
  CHECK(same(cumsum(m, -1).to_vector(), {1, 3, 6, 4, 9, 15}));
  CHECK(same(cumsum(m.t(), 1).to_vector(), {1, 5, 2, 7, 3, 9}));  // non-contiguous
  CHECK(cumsum(Tensor<double>::scalar(2.0), 0).item() == 2.0);
  CHECK(cumsum(Tensor<double>::zeros({2, 0}), 1).shape() == Shape{2, 0});
  // 2^24 + 1 + 1: a float running sum would stay at 2^24; in double it reaches 2^24 + 2.
  const auto f = cumsum(Tensor<float>{16777216.0f, 1.0f, 1.0f}, 0).to_vector();
  CHECK(f[2] == 16777218.0f);
  using C = std::complex<double>;
  const auto z = cumsum(Tensor<C>::from_vector({C(1, 1), C(2, -1), C(0, 3)}, {3}), 0).to_vector();
  CHECK(z == std::vector<C>{C(1, 1), C(3, 0), C(3, 3)});
  CHECK_THROWS_AS(cumsum(m, 2), ember::Error);
}

TEST_CASE("cumsum: gradients, first and second order, and the complex rule") {
  Generator gen(5);
  const Tensor<double> x = Tensor<double>::randn({3, 4, 5}, gen).requires_grad_();
  const Tensor<double> xt = Tensor<double>::randn({5, 3}, gen).t().detach().requires_grad_();
  for (int64_t dim : {0, 1, -1}) {
    CAPTURE(dim);
    const auto f = [dim](const Inputs& in) { return cumsum(in[0], dim); };
    CHECK(gradcheck_report(f, {x}) == "");
    CHECK(gradgradcheck_report(f, {x}) == "");
  }
  const auto g = [](const Inputs& in) { return mul(cumsum(in[0], 1), cumsum(in[0], 0)); };
  CHECK(gradcheck_report(g, {xt}) == "");
  CHECK(gradgradcheck_report(g, {xt}) == "");
  CHECK(gradcheck_report([](const Inputs& in) { return cumsum(in[0], 0); },
                         {Tensor<double>::scalar(1.5).requires_grad_()}) == "");

  // By hand: each input feeds the outputs at and after it.
  auto v = Tensor<double>::from_vector({1, 2, 3}, {3}).requires_grad_();
  cumsum(v, 0).backward(Tensor<double>{1, 10, 100});
  CHECK(same(v.grad().to_vector(), {111, 110, 100}));
  using C = std::complex<double>;
  auto z = Tensor<C>::from_vector({C(1, 1), C(2, -1), C(0, 3)}, {3}).requires_grad_();
  cumsum(z, 0).backward(Tensor<C>::from_vector({C(1, 0), C(0, 1), C(2, 0)}, {3}));
  CHECK(z.grad().to_vector() == std::vector<C>{C(3, 1), C(2, 1), C(2, 0)});
}

// ---------------------------------------------------------------- multinomial

TEST_CASE("multinomial: bad input throws, naming the problem") {
  Generator gen(1);
  const Tensor<double> ok{1, 2, 3};
  CHECK_THROWS_AS(multinomial(Tensor<double>{1, -1, 2}, 1, true, gen), ember::Error);
  CHECK_THROWS_AS(multinomial(Tensor<double>{1, kNaN}, 1, true, gen), ember::Error);
  CHECK_THROWS_AS(multinomial(Tensor<double>{1, kInf}, 1, true, gen), ember::Error);
  CHECK_THROWS_AS(multinomial(Tensor<double>::zeros({2, 3, 4}), 1, true, gen), ember::Error);
  CHECK_THROWS_AS(multinomial(Tensor<double>::zeros({2, 0}), 1, true, gen), ember::Error);
  CHECK_THROWS_AS(multinomial(ok, 0, true, gen), ember::Error);
  CHECK_THROWS_AS(multinomial(ok, 4, false, gen), ember::Error);
  const std::string zero_row = thrown_message([&] {
    multinomial(Tensor<double>::from_vector({1, 2, 0, 0}, {2, 2}), 1, true, gen);
  });
  CHECK(zero_row.find("row 1") != std::string::npos);
  CHECK(zero_row.find("sum to 0") != std::string::npos);
  const std::string few = thrown_message([&] {
    multinomial(Tensor<double>{0, 1, 0, 2}, 3, false, gen);
  });
  CHECK(few.find("2 positive weights") != std::string::npos);
  CHECK(multinomial(ok, 5, true, gen).shape() == Shape{5});  // more samples than categories
}

TEST_CASE("multinomial: without replacement every row's samples are distinct") {
  Generator init(2);
  const Tensor<double> probs = Tensor<double>::rand({50, 10}, init, 0.01, 1.0);
  Generator gen(3);
  const Tensor<int64_t> all = multinomial(probs, 10, false, gen);
  REQUIRE(all.shape() == Shape{50, 10});
  for (int64_t r = 0; r < 50; ++r) {
    const std::vector<int64_t> row = all.select(0, r).to_vector();
    CHECK(std::set<int64_t>(row.begin(), row.end()).size() == 10);
  }
  // Zero weights are never drawn, with or without replacement.
  const Tensor<float> sparse{0, 1, 0, 3};
  const Tensor<int64_t> two = multinomial(sparse, 2, false, gen);
  CHECK(std::set<int64_t>{two.to_vector()[0], two.to_vector()[1]} == std::set<int64_t>{1, 3});
  const std::vector<int64_t> c = counts(multinomial(sparse, 1000, true, gen), 4);
  CHECK(c[0] == 0);
  CHECK(c[2] == 0);
}

TEST_CASE("multinomial: frequencies within 4 sigma of the probabilities") {
  const int64_t n = 20000;
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.4};
  Generator gen(4);
  // Unnormalised weights (x 2.5): only the ratios matter.
  const Tensor<double> w = Tensor<double>::from_vector({0.25, 0.5, 0.75, 1.0}, {4});
  const std::vector<int64_t> c = counts(multinomial(w, n, true, gen), 4);
  for (size_t k = 0; k < 4; ++k) CHECK(within_4_sigma(c[k], n, p[k]));

  // Without replacement over n rows: the first draw follows p, the second
  // P(j) = sum_{i != j} p_i p_j / (1 - p_i).
  const Tensor<float> rows = w.to<float>().unsqueeze(0).expand({n, 4});
  const Tensor<int64_t> two = multinomial(rows, 2, false, gen);
  const std::vector<int64_t> first = counts(two.select(1, 0).contiguous(), 4);
  const std::vector<int64_t> second = counts(two.select(1, 1).contiguous(), 4);
  for (size_t j = 0; j < 4; ++j) {
    CHECK(within_4_sigma(first[j], n, p[j]));
    double q = 0;
    for (size_t i = 0; i < 4; ++i)
      if (i != j) q += p[i] * p[j] / (1 - p[i]);
    CHECK(within_4_sigma(second[j], n, q));
  }
}

TEST_CASE("multinomial: the same seed gives the same samples") {
  const Tensor<double> w{1, 2, 3, 4, 5};
  Generator a(42), b(42), c(43);
  const auto sa = multinomial(w, 50, true, a).to_vector();
  CHECK(sa == multinomial(w, 50, true, b).to_vector());
  CHECK(sa != multinomial(w, 50, true, c).to_vector());
  Generator d(7), e(7);
  CHECK(multinomial(w, 5, false, d).to_vector() == multinomial(w, 5, false, e).to_vector());
}
