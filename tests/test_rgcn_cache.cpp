// RGCNConv's `cached` option: outputs and gradients equal to the uncached layer's (bit for
// bit: the same matrices, built once instead of per call), the cache reused while the node
// count matches and rebuilt when it changes, and the one-pass relation bucketing on edges in
// any order, with empty relations and repeated edges.
#include <doctest/doctest.h>

#include <cstdint>
#include <ember/autograd/gradcheck.hpp>
#include <ember/ember.hpp>
#include <ember/graph.hpp>
#include <optional>
#include <vector>

using namespace ember;

namespace {

// Two layers with the same parameters (same generator seed), one cached.
struct Pair {
  Generator ga{77}, gb{77};
  nn::RGCNConv<double> plain, cached;
  Pair(int64_t in, int64_t out, int64_t r, std::optional<int64_t> bases)
      : plain(in, out, r, {.num_bases = bases}, ga),
        cached(in, out, r, {.num_bases = bases, .cached = true}, gb) {}
};

}  // namespace

TEST_CASE("RGCNConv cached: outputs and gradients identical to uncached") {
  Generator gen(5);
  const int64_t n = 40, e = 300, R = 4;
  // Relation 3 gets no edges (an empty relation must contribute nothing in both paths), edges
  // are in random order and include repeats.
  const auto ei = Tensor<int64_t>::randint(0, n, {2, e}, gen);
  const auto et = Tensor<int64_t>::randint(0, R - 1, {e}, gen);
  for (std::optional<int64_t> bases : {std::optional<int64_t>(), std::optional<int64_t>(2)}) {
    Pair p(6, 5, R, bases);
    REQUIRE(p.plain.weight.to_vector() == p.cached.weight.to_vector());
    for (int call = 0; call < 3; ++call) {  // call 0 builds the cache, 1 and 2 reuse it
      const auto x = Tensor<double>::randn({n, 6}, gen);
      const auto xa = x.clone().requires_grad_(), xb = x.clone().requires_grad_();
      const auto ya = p.plain.forward(xa, ei, et), yb = p.cached.forward(xb, ei, et);
      CHECK(ya.to_vector() == yb.to_vector());
      const auto g = Tensor<double>::randn({n, 5}, gen);
      sum(mul(ya, g)).backward();
      sum(mul(yb, g)).backward();
      CHECK(xa.grad().to_vector() == xb.grad().to_vector());
      CHECK(p.plain.weight.grad().to_vector() == p.cached.weight.grad().to_vector());
      CHECK(p.plain.root.grad().to_vector() == p.cached.root.grad().to_vector());
      CHECK(p.plain.bias.grad().to_vector() == p.cached.bias.grad().to_vector());
      if (bases) CHECK(p.plain.comp.grad().to_vector() == p.cached.comp.grad().to_vector());
    }
    // The cached layer's gradients are right, not just equal (a dense-reference check of the
    // uncached layer lives in test_gnn.cpp).
    auto x = Tensor<double>::randn({n, 6}, gen).requires_grad_();
    CHECK(gradcheck_report([&](const auto& in) { return p.cached.forward(in[0], ei, et); }, {x}) ==
          "");
  }
}

TEST_CASE("RGCNConv cached: later edges are ignored until the node count changes") {
  Generator gen(6);
  const int64_t R = 2;
  const auto ei = Tensor<int64_t>::from_vector({0, 1, 2, 1, 2, 0}, {2, 3});
  const auto et = Tensor<int64_t>::from_vector({0, 1, 0}, {3});
  const auto other = Tensor<int64_t>::from_vector({2, 2, 2, 0, 0, 1}, {2, 3});
  Pair p(3, 2, R, std::nullopt);
  const auto x = Tensor<double>::randn({3, 3}, gen);
  const auto first = p.cached.forward(x, ei, et).to_vector();
  // Same node count: the cache answers, so different edges give the first graph's result.
  CHECK(p.cached.forward(x, other, et).to_vector() == first);
  CHECK(p.plain.forward(x, other, et).to_vector() != first);
  // A different node count rebuilds from the edges given.
  const auto x4 = Tensor<double>::randn({4, 3}, gen);
  CHECK(p.cached.forward(x4, other, et).to_vector() == p.plain.forward(x4, other, et).to_vector());
  // Bad edge types are still caught on a (re)build.
  nn::RGCNConv<double> fresh(3, 2, R, {.cached = true}, gen);
  CHECK_THROWS_AS(fresh.forward(x, ei, Tensor<int64_t>::from_vector({0, 2, 0}, {3})), Error);
}
