// Tests for ops/shape.hpp: cat, stack, split, chunk, flip, repeat.
#include <doctest/doctest.h>

#include <ember/autograd/gradcheck.hpp>
#include <ember/ops/shape.hpp>
#include <string>
#include <vector>

using namespace ember;

namespace {

using TD = Tensor<double>;

TD leaf(const Shape& shape, Generator& gen) { return TD::randn(shape, gen).requires_grad_(); }

// A non-contiguous leaf of the given 2-D or 3-D shape: the transpose of a contiguous tensor.
TD strided_leaf(const Shape& shape, Generator& gen) {
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  TD t = TD::randn(swapped, gen).transpose(-1, -2).detach().requires_grad_();
  REQUIRE(!t.is_contiguous());
  return t;
}

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

}  // namespace

// ---------------------------------------------------------------------- cat

TEST_CASE("cat: values") {
  CHECK(cat(std::vector{TD{1, 2}, TD::from_vector({3}, {1}), TD{4, 5, 6}}).to_vector() ==
        std::vector<double>{1, 2, 3, 4, 5, 6});
  const TD a = TD::from_vector({1, 2, 3, 4}, {2, 2});
  const TD b = TD::from_vector({5, 6}, {2, 1});
  const TD c1 = cat(std::vector{a, b}, 1);
  CHECK(c1.shape() == Shape{2, 3});
  CHECK(c1.to_vector() == std::vector<double>{1, 2, 5, 3, 4, 6});
  CHECK(cat(std::vector{a, b}, -1).to_vector() == c1.to_vector());
  const TD c0 = cat(std::vector{a, a.t()}, 0);  // the second input is non-contiguous
  CHECK(c0.shape() == Shape{4, 2});
  CHECK(c0.to_vector() == std::vector<double>{1, 2, 3, 4, 1, 3, 2, 4});
  // Empty pieces and integer tensors work too.
  const TD e = TD::zeros({2, 0});
  CHECK(cat(std::vector{e, b, e}, 1).to_vector() == std::vector<double>{5, 6});
  CHECK(
      cat(std::vector{Tensor<int64_t>::from_vector({7}, {1}), Tensor<int64_t>{8, 9}}).to_vector() ==
      std::vector<int64_t>{7, 8, 9});
  // The result is a fresh tensor, not a view of an input.
  const TD one = cat(std::vector{a});
  CHECK(!one.shares_storage_with(a));
}

TEST_CASE("cat: gradients along each dim, with a non-contiguous input") {
  Generator gen(1);
  // Dim 1: three inputs of sizes 3, 1, 2, the last one a transposed (non-contiguous) leaf.
  const TD a = leaf({2, 3, 4}, gen), b = leaf({2, 1, 4}, gen);
  const TD c = TD::randn({2, 4, 2}, gen).transpose(1, 2).detach().requires_grad_();
  REQUIRE(!c.is_contiguous());
  auto f1 = [](const auto& x) { return cat(std::vector{x[0], x[1], x[2]}, 1); };
  CHECK(f1(std::vector{a, b, c}).shape() == Shape{2, 6, 4});
  CHECK(gradcheck_report(f1, {a, b, c}) == "");
  CHECK(gradgradcheck_report(f1, {a, b, c}) == "");
  // A nonlinear use, so second derivatives are not trivially zero.
  auto f2 = [](const auto& x) {
    const TD y = cat(std::vector{x[0], x[1], x[2]}, 0);
    return mul(y, y);
  };
  const TD d = leaf({1, 3}, gen), e = strided_leaf({4, 3}, gen), h = leaf({2, 3}, gen);
  CHECK(gradcheck_report(f2, {d, e, h}) == "");
  CHECK(gradgradcheck_report(f2, {d, e, h}) == "");
  CHECK(gradcheck_report(
            [](const auto& x) {
              return cat(std::vector{x[0], x[1]}, -1);
            },
            {leaf({3, 2}, gen), strided_leaf({3, 4}, gen)}) == "");
}

TEST_CASE("cat: only inputs that require grad get gradients") {
  Generator gen(2);
  const TD a = leaf({2, 2}, gen);
  const TD k = TD::randn({3, 2}, gen);  // constant
  const TD y = cat(std::vector{k, a, k}, 0);
  REQUIRE(y.requires_grad());
  const TD w = TD::randn({8, 2}, gen);
  sum(mul(y, w)).backward();
  CHECK(a.grad().to_vector() == w.narrow(0, 3, 2).to_vector());
  CHECK(!k.requires_grad());
  NoGradGuard no_grad;
  CHECK(!cat(std::vector{a, k}, 0).requires_grad());
}

TEST_CASE("cat: bad input") {
  const TD a = TD::zeros({2, 3}), b = TD::zeros({3, 3}), v = TD::zeros({3});
  const std::string msg = error_of([&] { cat(std::vector{a, b}, 1); });
  CHECK(has(msg, "cat"));
  CHECK(has(msg, "[2, 3]"));
  CHECK(has(msg, "[3, 3]"));
  CHECK(has(msg, "[2, *]"));
  CHECK_NOTHROW(cat(std::vector{a, b}, 0));
  CHECK_THROWS_AS(cat(std::vector{a, v}, 0), Error);  // different ranks
  CHECK_THROWS_AS(cat(std::vector{a, b}, 2), Error);  // bad dim
  CHECK_THROWS_AS(cat(std::vector{a, b}, -3), Error);
  CHECK_THROWS_AS(cat(std::vector<TD>{}, 0), Error);
  CHECK_THROWS_AS(cat(std::vector{TD::scalar(1), TD::scalar(2)}, 0), Error);
  CHECK_THROWS_AS(cat(std::vector{a, TD()}, 0), Error);
}

// ---------------------------------------------------------------------- stack

TEST_CASE("stack: values, gradients, bad input") {
  const TD a{1, 2, 3}, b{4, 5, 6};
  const TD s0 = stack(std::vector{a, b});
  CHECK(s0.shape() == Shape{2, 3});
  CHECK(s0.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
  const TD s1 = stack(std::vector{a, b}, -1);
  CHECK(s1.shape() == Shape{3, 2});
  CHECK(s1.to_vector() == std::vector<double>{1, 4, 2, 5, 3, 6});

  Generator gen(3);
  const TD x = leaf({3, 4}, gen), y = strided_leaf({3, 4}, gen), z = leaf({3, 4}, gen);
  for (int64_t dim : {0, 1, 2, -1}) {
    CAPTURE(dim);
    auto f = [dim](const auto& t) {
      const TD s = stack(std::vector{t[0], t[1], t[2]}, dim);
      return mul(s, s);
    };
    CHECK(f(std::vector{x, y, z}).dim() == 3);
    CHECK(gradcheck_report(f, {x, y, z}) == "");
    CHECK(gradgradcheck_report(f, {x, y, z}) == "");
  }

  const std::string msg = error_of([&] { stack(std::vector{a, TD{1, 2}}); });
  CHECK(has(msg, "stack"));
  CHECK(has(msg, "[3]"));
  CHECK(has(msg, "[2]"));
  CHECK_THROWS_AS(stack(std::vector{a, b}, 2), Error);
  CHECK_THROWS_AS(stack(std::vector<TD>{}), Error);
}

// ---------------------------------------------------------------------- split, chunk

namespace {
std::vector<int64_t> sizes_along(const std::vector<TD>& pieces, int64_t dim) {
  std::vector<int64_t> s;
  for (const TD& p : pieces) s.push_back(p.shape()[dim]);
  return s;
}
}  // namespace

TEST_CASE("split: sizes, views and values") {
  const TD x = TD::arange(10.0);
  CHECK(sizes_along(split(x, 3), 0) == std::vector<int64_t>{3, 3, 3, 1});
  CHECK(sizes_along(split(x, 5), 0) == std::vector<int64_t>{5, 5});
  CHECK(sizes_along(split(x, 20), 0) == std::vector<int64_t>{10});
  CHECK(sizes_along(split(x, {2, 0, 8}), 0) == std::vector<int64_t>{2, 0, 8});
  CHECK(sizes_along(split(x, std::vector<int64_t>{4, 6}), 0) == std::vector<int64_t>{4, 6});
  CHECK(sizes_along(split(x, {10}), 0) == std::vector<int64_t>{10});  // a braced list is sizes
  const auto pieces = split(x, 4);
  CHECK(pieces[1].to_vector() == std::vector<double>{4, 5, 6, 7});
  CHECK(pieces[2].to_vector() == std::vector<double>{8, 9});
  CHECK(pieces[1].shares_storage_with(x));  // views, as in PyTorch

  const TD m = TD::arange(12.0).reshape({3, 4});
  const auto cols = split(m, {1, 3}, 1);
  CHECK(cols[0].shape() == Shape{3, 1});
  CHECK(cols[0].to_vector() == std::vector<double>{0, 4, 8});
  CHECK(cols[1].to_vector() == std::vector<double>{1, 2, 3, 5, 6, 7, 9, 10, 11});
  CHECK(sizes_along(split(m, 2, -1), 1) == std::vector<int64_t>{2, 2});
  CHECK(split(TD::zeros({0, 3}), 2).size() == 1);
}

TEST_CASE("chunk: PyTorch's ceil-sized pieces") {
  CHECK(sizes_along(chunk(TD::zeros({10}), 3), 0) == std::vector<int64_t>{4, 4, 2});
  CHECK(sizes_along(chunk(TD::zeros({6}), 4), 0) == std::vector<int64_t>{2, 2, 2});
  CHECK(sizes_along(chunk(TD::zeros({5}), 5), 0) == std::vector<int64_t>{1, 1, 1, 1, 1});
  CHECK(sizes_along(chunk(TD::zeros({3}), 8), 0) == std::vector<int64_t>{1, 1, 1});
  CHECK(sizes_along(chunk(TD::zeros({2, 7}), 2, 1), 1) == std::vector<int64_t>{4, 3});
  CHECK(sizes_along(chunk(TD::zeros({0}), 3), 0) == std::vector<int64_t>{0, 0, 0});
  const auto c = chunk(TD::arange(6.0), 3);
  CHECK(c[2].to_vector() == std::vector<double>{4, 5});
}

TEST_CASE("split and chunk: pieces used in a loss have correct gradients") {
  Generator gen(4);
  const TD x = leaf({7, 3}, gen);
  auto f = [](const auto& t) {
    const auto p = split(t[0], {2, 2, 3}, 0);
    return add(mul(p[0], p[1]), sum(mul(p[2], p[2])));
  };
  CHECK(gradcheck_report(f, {x}) == "");
  CHECK(gradgradcheck_report(f, {x}) == "");

  const TD y = strided_leaf({4, 6}, gen);  // non-contiguous input
  auto g = [](const auto& t) {
    const auto p = chunk(t[0], 3, 1);  // three [4, 2] pieces
    return sub(mul(p[0], p[2]), p[1]);
  };
  CHECK(gradcheck_report(g, {y}) == "");
  CHECK(gradgradcheck_report(g, {y}) == "");
  auto h = [](const auto& t) {
    const auto p = split(t[0], 3, 0);  // sizes 3, 1: only part of the input is used
    return mul(p[1], p[1]);
  };
  CHECK(gradcheck_report(h, {y}) == "");
  CHECK(gradgradcheck_report(h, {y}) == "");
}

TEST_CASE("split and chunk: bad input") {
  const TD x = TD::zeros({4, 5});
  const std::string msg = error_of([&] { split(x, {2, 2}, 1); });
  CHECK(has(msg, "split"));
  CHECK(has(msg, "[4, 5]"));
  CHECK(has(msg, "[2, 2]"));
  CHECK_THROWS_AS(split(x, {5, -1}, 0), Error);
  CHECK_THROWS_AS(split(x, 0), Error);
  CHECK_THROWS_AS(split(x, -2), Error);
  CHECK_THROWS_AS(split(x, 2, 2), Error);
  CHECK_THROWS_AS(split(TD::scalar(1), 1), Error);
  CHECK_THROWS_AS(chunk(x, 0), Error);
  CHECK_THROWS_AS(chunk(x, 2, -3), Error);
}

// ---------------------------------------------------------------------- flip, repeat

TEST_CASE("flip: values, gradients, bad input") {
  const TD m = TD::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(flip(m, {0}).to_vector() == std::vector<double>{4, 5, 6, 1, 2, 3});
  CHECK(flip(m, {1}).to_vector() == std::vector<double>{3, 2, 1, 6, 5, 4});
  CHECK(flip(m, {0, -1}).to_vector() == std::vector<double>{6, 5, 4, 3, 2, 1});
  CHECK(flip(m, {}).to_vector() == m.to_vector());
  CHECK(flip(m.t(), {0}).to_vector() == std::vector<double>{3, 6, 2, 5, 1, 4});  // non-contiguous
  const TD c = TD::arange(24.0).reshape({2, 3, 4});
  const TD fc = flip(c, {1});
  CHECK(fc.at({1, 0, 2}) == c.at({1, 2, 2}));
  CHECK(fc.at({0, 1, 3}) == c.at({0, 1, 3}));
  CHECK(flip(TD::scalar(5), {0}).item() == 5);

  Generator gen(5);
  for (const std::vector<int64_t>& dims : {std::vector<int64_t>{0}, {1}, {0, 1}, {-1}}) {
    auto f = [dims](const auto& t) { return mul(flip(t[0], dims), t[0]); };
    CHECK(gradcheck_report(f, {strided_leaf({3, 4}, gen)}) == "");
    CHECK(gradgradcheck_report(f, {leaf({4, 4}, gen)}) == "");
  }
  CHECK(has(error_of([&] { flip(m, {1, -1}); }), "repeated"));
  CHECK_THROWS_AS(flip(m, {2}), Error);
}

TEST_CASE("repeat: values, gradients, bad input") {
  const TD v{1, 2, 3};
  CHECK(repeat(v, {2}).to_vector() == std::vector<double>{1, 2, 3, 1, 2, 3});
  const TD r = repeat(v, {2, 2});
  CHECK(r.shape() == Shape{2, 6});
  CHECK(r.to_vector() == std::vector<double>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
  const TD m = TD::from_vector({1, 2, 3, 4}, {2, 2});
  CHECK(repeat(m, {2, 1}).to_vector() == std::vector<double>{1, 2, 3, 4, 1, 2, 3, 4});
  CHECK(repeat(m, {1, 2}).to_vector() == std::vector<double>{1, 2, 1, 2, 3, 4, 3, 4});
  CHECK(repeat(m.t(), {1, 2}).to_vector() == std::vector<double>{1, 3, 1, 3, 2, 4, 2, 4});
  CHECK(repeat(m, {0, 3}).shape() == Shape{0, 6});
  const TD same = repeat(m, {1, 1});
  CHECK(!same.shares_storage_with(m));  // always a copy

  Generator gen(6);
  auto f = [](const auto& t) {
    const TD y = repeat(t[0], {2, 1, 3});
    return mul(y, y);
  };
  CHECK(gradcheck_report(f, {strided_leaf({2, 3}, gen)}) == "");
  CHECK(gradgradcheck_report(f, {leaf({2, 3}, gen)}) == "");
  CHECK(has(error_of([&] { repeat(m, {2}); }), "[2, 2]"));
  CHECK_THROWS_AS(repeat(m, {2, -1}), Error);
}
