// Tests for ops/indexing.hpp (index_select, index_add, gather, scatter_add, masked_fill,
// one_hot) and ops/dropout.hpp (a random mask, so it lives next to masked_fill).
#include <doctest/doctest.h>

#include <cmath>
#include <ember/autograd/gradcheck.hpp>
#include <ember/ops/dropout.hpp>
#include <ember/ops/indexing.hpp>
#include <string>
#include <vector>

using namespace ember;

namespace {

using TD = Tensor<double>;
using TI = Tensor<int64_t>;

TD leaf(const Shape& shape, Generator& gen) { return TD::randn(shape, gen).requires_grad_(); }

TD strided_leaf(const Shape& shape, Generator& gen) {
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  TD t = TD::randn(swapped, gen).transpose(-1, -2).detach().requires_grad_();
  REQUIRE(!t.is_contiguous());
  return t;
}

TI ints(const std::vector<int64_t>& v, const Shape& shape) { return TI::from_vector(v, shape); }

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::vector<double> values(const TD& t) { return t.to_vector(); }

}  // namespace

// ---------------------------------------------------------------------- index_select / index_add

TEST_CASE("index_select: values") {
  const TD x = TD::arange(1.0, 10.0).reshape({3, 3});  // [[1,2,3],[4,5,6],[7,8,9]]
  const TI idx{2, 0, 2};
  const TD r = index_select(x, 0, idx);
  CHECK(r.shape() == Shape{3, 3});
  CHECK(values(r) == std::vector<double>{7, 8, 9, 1, 2, 3, 7, 8, 9});
  CHECK(values(index_select(x, 1, idx)) == std::vector<double>{3, 1, 3, 6, 4, 6, 9, 7, 9});
  CHECK(values(index_select(x, -1, Tensor<int32_t>{1})) == std::vector<double>{2, 5, 8});  // int32
  CHECK(values(index_select(x.t(), 0, TI::from_vector({1}, {1}))) == std::vector<double>{2, 5, 8});
  CHECK(index_select(x, 0, TI::scalar(1)).shape() == Shape{1, 3});  // a 0-D index keeps the dim
  CHECK(index_select(x, 1, TI::zeros({0})).shape() == Shape{3, 0});
  CHECK(index_select(Tensor<int64_t>{5, 6, 7}, 0, TI{2, 2}).to_vector() ==
        std::vector<int64_t>{7, 7});
}

TEST_CASE("index_add: values (PyTorch's example) and repeated indices") {
  const TD x = TD::ones({5, 3});
  const TD t = TD::arange(1.0, 10.0).reshape({3, 3});
  const TD r = index_add(x, 0, TI{0, 4, 2}, t);
  CHECK(values(r) == std::vector<double>{2, 3, 4, 1, 1, 1, 8, 9, 10, 1, 1, 1, 5, 6, 7});
  CHECK(values(x) == std::vector<double>(15, 1.0));  // out of place
  const TD rep = index_add(TD::zeros({2, 3}), 0, TI{1, 1, 0}, t);
  CHECK(values(rep) == std::vector<double>{7, 8, 9, 5, 7, 9});
  const TD cols = index_add(TD::zeros({3, 2}), 1, Tensor<int32_t>{1, 1, 0}, t);
  CHECK(values(cols) == std::vector<double>{3, 3, 6, 9, 9, 15});
}

TEST_CASE("index_select and index_add: gradients") {
  Generator gen(11);
  const TI idx{3, 0, 3, 1, 3};  // repeated indices, one row (2) never picked
  for (int64_t dim : {0, 1, -1}) {
    CAPTURE(dim);
    auto f = [&idx, dim](const auto& t) {
      const TD y = index_select(t[0], dim, idx);
      return mul(y, y);
    };
    CHECK(gradcheck_report(f, {strided_leaf({4, 4}, gen)}) == "");
    CHECK(gradgradcheck_report(f, {leaf({4, 4}, gen)}) == "");
  }
  auto f3 = [&idx](const auto& t) { return mul(index_select(t[0], 1, idx), t[1]); };
  const TD x3 = leaf({2, 4, 3}, gen), w3 = leaf({2, 5, 3}, gen);
  CHECK(gradcheck_report(f3, {x3, w3}) == "");
  CHECK(gradgradcheck_report(f3, {x3, w3}) == "");

  // index_add: gradients for both x and source; source non-contiguous.
  auto g = [&idx](const auto& t) {
    const TD y = index_add(t[0], 0, idx, t[1]);
    return mul(y, y);
  };
  const TD x = leaf({4, 3}, gen);
  const TD src = TD::randn({3, 5}, gen).t().detach().requires_grad_();
  CHECK(gradcheck_report(g, {x, src}) == "");
  CHECK(gradgradcheck_report(g, {x, src}) == "");
  auto g1 = [&idx](const auto& t) {
    const TD y = index_add(t[0], -1, idx, t[1]);
    return mul(y, t[0]);
  };
  const TD x1 = leaf({2, 4}, gen), s1 = leaf({2, 5}, gen);
  CHECK(gradcheck_report(g1, {x1, s1}) == "");
  CHECK(gradgradcheck_report(g1, {x1, s1}) == "");
  // Only the source requires grad.
  const TD s2 = leaf({5, 3}, gen);
  CHECK(gradcheck_report(
            [&idx](const auto& t) {
              return index_add(TD::zeros({4, 3}), 0, idx, t[0]);
            },
            {s2}) == "");
}

// ---------------------------------------------------------------------- gather / scatter_add

TEST_CASE("gather: values (PyTorch's example) and an index smaller than the input") {
  const TD t = TD::from_vector({1, 2, 3, 4}, {2, 2});
  CHECK(values(gather(t, 1, ints({0, 0, 1, 0}, {2, 2}))) == std::vector<double>{1, 1, 4, 3});
  CHECK(values(gather(t, 0, ints({1, 0, 0, 0}, {2, 2}))) == std::vector<double>{3, 2, 1, 2});
  const TD x = TD::arange(12.0).reshape({3, 4});
  const TD r = gather(x, 1, Tensor<int32_t>::from_vector({3, 0, 2}, {1, 3}));  // only row 0
  CHECK(r.shape() == Shape{1, 3});
  CHECK(values(r) == std::vector<double>{3, 0, 2});
  const TD r0 = gather(x, 0, ints({2, 1, 0, 2, 0, 0}, {2, 3}));  // index narrower than x in dim 1
  CHECK(values(r0) == std::vector<double>{8, 5, 2, 8, 1, 2});
  CHECK(values(gather(x.t(), 1, ints({2, 0}, {1, 2}))) == std::vector<double>{8, 0});  // strided x
  // An expanded index (stride 0): pick the same column from every row.
  const TI col = ints({1, 3}, {1, 2}).expand({3, 2});
  CHECK(values(gather(x, 1, col)) == std::vector<double>{1, 3, 5, 7, 9, 11});
  CHECK(gather(TD::scalar(4), 0, TI::scalar(0)).item() == 4);
}

TEST_CASE("scatter_add: values (PyTorch's examples)") {
  const TD src = TD::ones({2, 5});
  const TD r1 = scatter_add(TD::zeros({3, 5}), 0, ints({0, 1, 2, 0, 0}, {1, 5}), src);
  CHECK(values(r1) == std::vector<double>{1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0});
  const TD r2 =
      scatter_add(TD::zeros({3, 5}), 0, ints({0, 1, 2, 0, 0, 0, 1, 2, 2, 2}, {2, 5}), src);
  CHECK(values(r2) == std::vector<double>{2, 0, 0, 1, 1, 0, 2, 0, 0, 0, 0, 0, 2, 1, 1});
  // Along dim 1 with repeated indices, onto a non-zero input.
  const TD s = TD::arange(1.0, 7.0).reshape({2, 3});
  const TD r3 =
      scatter_add(TD::ones({2, 2}), 1, Tensor<int32_t>::from_vector({1, 1, 0, 0, 0, 0}, {2, 3}), s);
  CHECK(values(r3) == std::vector<double>{4, 4, 16, 1});
}

TEST_CASE("gather and scatter_add: gradients, with repeated indices") {
  Generator gen(12);
  // x [3, 4], dim 1, index [3, 5] with repeats.
  const TI idx = ints({0, 3, 3, 1, 0, 2, 2, 2, 0, 1, 3, 1, 0, 3, 3}, {3, 5});
  auto f = [&idx](const auto& t) {
    const TD y = gather(t[0], 1, idx);
    return mul(y, y);
  };
  CHECK(gradcheck_report(f, {strided_leaf({3, 4}, gen)}) == "");
  CHECK(gradgradcheck_report(f, {leaf({3, 4}, gen)}) == "");
  // dim 0 with an index smaller than x in the other dim, and an expanded index.
  const TI idx0 = ints({2, 0, 2, 1, 1, 1}, {2, 3});
  auto f0 = [&idx0](const auto& t) { return mul(gather(t[0], 0, idx0), t[1]); };
  const TD x0 = leaf({3, 4}, gen), w0 = leaf({2, 3}, gen);
  CHECK(gradcheck_report(f0, {x0, w0}) == "");
  CHECK(gradgradcheck_report(f0, {x0, w0}) == "");
  const TI rows = ints({1, 1, 0, 2}, {4, 1}).expand({4, 3});
  auto fe = [&rows](const auto& t) { return mul(gather(t[0], 0, rows), gather(t[0], 0, rows)); };
  CHECK(gradcheck_report(fe, {leaf({3, 3}, gen)}) == "");
  CHECK(gradgradcheck_report(fe, {leaf({3, 3}, gen)}) == "");

  // scatter_add: x and src both require grad; src larger than the index in both dims.
  const TI sidx = ints({1, 1, 0, 1, 1, 1, 0, 0}, {2, 4});  // repeated targets
  auto g = [&sidx](const auto& t) {
    const TD y = scatter_add(t[0], 0, sidx, t[1]);
    return mul(y, y);
  };
  const TD x = leaf({2, 4}, gen);
  const TD src = strided_leaf({3, 5}, gen);
  CHECK(gradcheck_report(g, {x, src}) == "");
  CHECK(gradgradcheck_report(g, {x, src}) == "");
  auto g1 = [&idx](const auto& t) {
    const TD y = scatter_add(t[0], -1, idx, t[1]);
    return mul(y, t[0]);
  };
  const TD x1 = leaf({3, 4}, gen), s1 = leaf({3, 5}, gen);
  CHECK(gradcheck_report(g1, {x1, s1}) == "");
  CHECK(gradgradcheck_report(g1, {x1, s1}) == "");
  // The src gradient outside the index's shape is exactly zero.
  const TD s2 = leaf({3, 5}, gen);
  const TD y2 = scatter_add(TD::zeros({2, 4}), 0, sidx, s2);
  sum(y2).backward();
  const TD gs = s2.grad();
  CHECK(gs.at({2, 0}) == 0.0);
  CHECK(gs.at({0, 4}) == 0.0);
  CHECK(gs.at({1, 3}) == 1.0);
}

// The parallel kernel (big enough to be split across threads, with a chunked inner dim) must
// agree with a plain serial loop, for every dim.
TEST_CASE("gather, scatter_add, index_select, index_add: large inputs match a serial reference") {
  Generator gen(13);
  const int64_t A = 60, B = 700, K = 90;
  const TD x = TD::randn({A, B}, gen);
  const TD xt = TD::randn({B, A}, gen).t();  // a strided input
  {
    const TI idx = TI::randint(0, A, {K, B}, gen);
    const TD r = gather(x, 0, idx), rt = gather(xt, 0, idx);
    bool ok = true;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t b = 0; b < B; ++b) {
        ok = ok && r.at({k, b}) == x.at({idx.at({k, b}), b});
        ok = ok && rt.at({k, b}) == xt.at({idx.at({k, b}), b});
      }
    CHECK(ok);
    const TD src = TD::randn({K, B}, gen);
    const TD s = scatter_add(x, 0, idx, src);
    TD ref = x.clone();
    for (int64_t k = 0; k < K; ++k)
      for (int64_t b = 0; b < B; ++b) ref.at({idx.at({k, b}), b}) += src.at({k, b});
    CHECK(values(s) == values(ref));  // same order of summation: bit-identical
  }
  {
    const TI idx = TI::randint(0, B, {A, K * 10}, gen);
    const TD r = gather(x, 1, idx);
    const TD src = TD::randn({A, K * 10}, gen);
    const TD s = scatter_add(x, 1, idx, src);
    TD ref = x.clone();
    bool ok = true;
    for (int64_t a = 0; a < A; ++a)
      for (int64_t k = 0; k < K * 10; ++k) {
        ok = ok && r.at({a, k}) == x.at({a, idx.at({a, k})});
        ref.at({a, idx.at({a, k})}) += src.at({a, k});
      }
    CHECK(ok);
    CHECK(values(s) == values(ref));
  }
  {
    const TI idx = TI::randint(0, B, {2000}, gen);
    const TD r = index_select(xt, 1, idx);
    const TD src = TD::randn({A, 2000}, gen);
    const TD s = index_add(x, 1, idx, src);
    TD ref = x.clone();
    bool ok = true;
    for (int64_t a = 0; a < A; ++a)
      for (int64_t k = 0; k < 2000; ++k) {
        ok = ok && r.at({a, k}) == xt.at({a, idx.at({k})});
        ref.at({a, idx.at({k})}) += src.at({a, k});
      }
    CHECK(ok);
    CHECK(values(s) == values(ref));
    const TI rows = TI::randint(0, A, {500}, gen);
    const TD src0 = TD::randn({500, B}, gen);
    const TD s0 = index_add(x, 0, rows, src0);
    TD ref0 = x.clone();
    for (int64_t k = 0; k < 500; ++k)
      for (int64_t b = 0; b < B; ++b) ref0.at({rows.at({k}), b}) += src0.at({k, b});
    CHECK(values(s0) == values(ref0));
  }
}

TEST_CASE("indexing ops: bad input") {
  const TD x = TD::zeros({3, 4});
  // Out-of-range and negative indices name the op, the value, the size and the shapes.
  const std::string m1 = error_of([&] { index_select(x, 1, TI{0, 4}); });
  CHECK(has(m1, "index_select"));
  CHECK(has(m1, "index 4"));
  CHECK(has(m1, "size 4"));
  CHECK(has(m1, "[3, 4]"));
  CHECK(has(m1, "[2]"));
  CHECK(has(error_of([&] { index_select(x, 0, TI{-1}); }), "index -1"));
  CHECK(has(error_of([&] { index_select(x, 0, Tensor<int32_t>{3}); }), "index 3"));
  const std::string m2 = error_of([&] { gather(x, 0, ints({0, 3}, {1, 2})); });
  CHECK(has(m2, "gather"));
  CHECK(has(m2, "index 3"));
  CHECK(has(m2, "size 3"));
  CHECK(has(m2, "[1, 2]"));
  // Found even in a strided (expanded) index.
  CHECK(has(error_of([&] { gather(x, 1, ints({0, 9}, {1, 2}).expand({3, 2})); }), "index 9"));
  const std::string m3 = error_of([&] { scatter_add(x, 1, ints({5}, {1, 1}), TD::ones({1, 1})); });
  CHECK(has(m3, "scatter_add"));
  CHECK(has(m3, "index 5"));
  CHECK(has(m3, "size 4"));
  CHECK(has(error_of([&] { index_add(x, 0, TI{0, -2}, TD::ones({2, 4})); }), "index -2"));
  // Bad dims.
  CHECK_THROWS_AS(index_select(x, 2, TI{0}), Error);
  CHECK_THROWS_AS(gather(x, -3, ints({0}, {1, 1})), Error);
  CHECK_THROWS_AS(scatter_add(x, 2, ints({0}, {1, 1}), TD::ones({1, 1})), Error);
  CHECK_THROWS_AS(index_add(x, 5, TI{0}, TD::ones({1, 4})), Error);
  // Bad shapes.
  CHECK(has(error_of([&] { index_select(x, 0, ints({0, 1}, {1, 2})); }), "1-D"));
  CHECK(has(error_of([&] { gather(x, 0, TI{0, 1}); }), "[3, 4]"));                 // rank
  CHECK_THROWS_AS(gather(x, 0, TI::zeros({2, 5})), Error);                         // too wide
  CHECK_THROWS_AS(scatter_add(x, 0, TI::zeros({2, 3}), TD::ones({2, 2})), Error);  // src too small
  CHECK_THROWS_AS(scatter_add(x, 0, TI::zeros({2, 5}), TD::ones({2, 5})), Error);  // wider than x
  const std::string m4 = error_of([&] { index_add(x, 0, TI{0, 1}, TD::ones({2, 3})); });
  CHECK(has(m4, "index_add"));
  CHECK(has(m4, "[2, 3]"));
  CHECK_THROWS_AS(index_add(x, 0, TI{0, 1}, TD::ones({3, 4})), Error);  // length != index
  CHECK_THROWS_AS(index_select(TD::scalar(1), 0, TI{0}), Error);
}

// ---------------------------------------------------------------------- masked_fill, one_hot

TEST_CASE("masked_fill: values and broadcasting") {
  const TD x = TD::arange(6.0).reshape({2, 3});
  const Tensor<bool> m = Tensor<bool>::from_vector({true, false, true, false, false, true}, {2, 3});
  CHECK(values(masked_fill(x, m, -1.0)) == std::vector<double>{-1, 1, -1, 3, 4, -1});
  const Tensor<bool> row = Tensor<bool>::from_vector({false, true, false}, {3});  // broadcast mask
  CHECK(values(masked_fill(x, row, 9.0)) == std::vector<double>{0, 9, 2, 3, 9, 5});
  CHECK(values(masked_fill(x.t(), Tensor<bool>{true, false}, 0.0)) ==
        std::vector<double>{0, 3, 0, 4, 0, 5});
  // The input broadcasts too: x [3] with a [2, 3] mask gives [2, 3].
  const TD v{1, 2, 3};
  const TD b = masked_fill(v, m, 0.0);
  CHECK(b.shape() == Shape{2, 3});
  CHECK(values(b) == std::vector<double>{0, 2, 0, 1, 2, 0});
  CHECK_THROWS_AS(masked_fill(x, Tensor<bool>{true, false}, 0.0), Error);
  CHECK(has(error_of([&] { masked_fill(x, Tensor<bool>::zeros({4}), 0.0); }), "[2, 3]"));
}

TEST_CASE("masked_fill: gradients with a broadcast mask") {
  Generator gen(14);
  const Tensor<bool> col = Tensor<bool>::from_vector({true, false, false, true}, {4, 1});
  auto f = [&col](const auto& t) {
    const TD y = masked_fill(t[0], col, 2.5);
    return mul(y, y);
  };
  const TD x = strided_leaf({4, 3}, gen);
  CHECK(gradcheck_report(f, {x}) == "");
  CHECK(gradgradcheck_report(f, {leaf({4, 3}, gen)}) == "");
  // Broadcast input: the gradient is summed back to x's shape, zero where masked.
  const Tensor<bool> m =
      Tensor<bool>::from_vector({true, false, false, false, false, false}, {2, 3});
  auto g = [&m](const auto& t) {
    const TD y = masked_fill(t[0], m, 0.0);
    return mul(y, y);
  };
  const TD v = leaf({3}, gen);
  CHECK(gradcheck_report(g, {v}) == "");
  CHECK(gradgradcheck_report(g, {v}) == "");
  const TD u = TD::ones({3}).requires_grad_();
  sum(masked_fill(u, m, 0.0)).backward();
  CHECK(values(u.grad()) == std::vector<double>{1, 2, 2});
}

TEST_CASE("one_hot") {
  const Tensor<int64_t> r = one_hot(TI{0, 2, 1}, 3);
  CHECK(r.shape() == Shape{3, 3});
  CHECK(r.to_vector() == std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 1, 0});
  CHECK(one_hot(TI{1, 3}).shape() == Shape{2, 4});  // inferred num_classes
  const Tensor<int64_t> r2 = one_hot(Tensor<int32_t>::from_vector({1, 0, 0, 1}, {2, 2}), 2);
  CHECK(r2.shape() == Shape{2, 2, 2});
  CHECK(r2.to_vector() == std::vector<int64_t>{0, 1, 1, 0, 1, 0, 0, 1});
  CHECK(one_hot(TI{0, 1}, 2).to<float>().to_vector() == std::vector<float>{1, 0, 0, 1});
  const std::string msg = error_of([&] { one_hot(TI{0, 3}, 3); });
  CHECK(has(msg, "one_hot"));
  CHECK(has(msg, "index 3"));
  CHECK_THROWS_AS(one_hot(TI{-1, 0}, 3), Error);
  CHECK_THROWS_AS(one_hot(TI::zeros({0})), Error);
}

// ---------------------------------------------------------------------- dropout

TEST_CASE("dropout: deterministic for a seed; keeps about 1 - p; preserves the mean") {
  const int64_t n = 100000;
  const double p = 0.3, q = 1.0 - p;
  const TD x = TD::ones({n});
  Generator g1(42), g2(42), g3(43);
  const TD a = dropout(x, p, true, g1), b = dropout(x, p, true, g2), c = dropout(x, p, true, g3);
  CHECK(values(a) == values(b));
  CHECK(values(a) != values(c));
  int64_t kept = 0;
  bool scaled = true;
  for (double v : values(a)) {
    if (v != 0.0) ++kept;
    scaled = scaled && (v == 0.0 || v == 1.0 / q);
  }
  CHECK(scaled);
  const double sigma = std::sqrt(double(n) * p * q);
  CHECK(std::abs(double(kept) - double(n) * q) < 3 * sigma);
  // Each output is 0 or 1/q: mean 1, variance p/q.
  CHECK(std::abs(mean(a).item() - 1.0) < 3 * std::sqrt(p / q / double(n)));
  // Float works the same way; p = 0.9 keeps about a tenth.
  Generator g4(5);
  const Tensor<float> f = dropout(Tensor<float>::ones({n}), 0.9, true, g4);
  int64_t kept_f = 0;
  for (float v : f.to_vector()) kept_f += v != 0.0f;
  CHECK(std::abs(double(kept_f) - 0.1 * double(n)) < 3 * std::sqrt(double(n) * 0.09));
}

TEST_CASE("dropout: eval mode, p = 0 and p = 1") {
  Generator gen(7);
  const TD x = leaf({4, 5}, gen);
  const TD e = dropout(x, 0.5, false, gen);
  CHECK(e.impl() == x.impl());  // the identity: the same tensor
  CHECK(dropout(x, 0.0, true, gen).impl() == x.impl());
  const TD z = dropout(x, 1.0, true, gen);
  CHECK(values(z) == std::vector<double>(20, 0.0));
  sum(z).backward();
  CHECK(values(x.grad()) == std::vector<double>(20, 0.0));  // zeros, not missing
}

TEST_CASE("dropout: the gradient is mask / (1 - p), and twice differentiable") {
  const double p = 0.4;
  const TD x = TD::ones({50}).requires_grad_();
  Generator gen(9);
  const TD y = dropout(x, p, true, gen);
  sum(y).backward();
  const std::vector<double> gy = values(x.grad()), yv = values(y);
  int64_t zeros = 0;
  for (size_t i = 0; i < yv.size(); ++i) {
    CHECK(gy[i] == (yv[i] != 0.0 ? 1.0 / (1.0 - p) : 0.0));
    zeros += yv[i] == 0.0;
  }
  CHECK(zeros > 0);
  CHECK(zeros < 50);

  // A fresh generator with the same seed on every call gives the same mask, so finite
  // differences see a fixed function.
  auto f = [p](const auto& t) {
    Generator g(3);
    return mul(dropout(t[0], p, true, g), t[0]);
  };
  Generator g0(10);
  const TD s = strided_leaf({4, 5}, g0);
  CHECK(gradcheck_report(f, {s}) == "");
  CHECK(gradgradcheck_report(f, {s}) == "");
}

TEST_CASE("dropout: p outside [0, 1] is an error") {
  const TD x = TD::ones({3});
  const std::string msg = error_of([&] { dropout(x, 1.5); });
  CHECK(has(msg, "dropout"));
  CHECK(has(msg, "1.5"));
  CHECK_THROWS_AS(dropout(x, -0.1), Error);
  CHECK_THROWS_AS(dropout(x, std::nan(""), false), Error);
  CHECK_THROWS_AS(dropout_mask<double>({3}, 1.0), Error);
}
