// Every collective against the same computation done on one process: each rank makes every
// rank's input (seeded by the rank), so it knows the answer without communicating.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ember/dist/collectives.hpp>
#include <ember/ops/shape.hpp>
#include <vector>

using namespace ember;
using namespace ember::dist;

namespace {

template <class T>
Tensor<T> input_of(int rank, const Shape& shape) {
  Generator gen(1000 + uint64_t(rank));
  return Tensor<T>::randn(shape, gen);
}

template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(double(x[i]) - double(y[i])));
  return m;
}

}  // namespace

TEST_CASE_TEMPLATE("all_reduce sum, avg and max equal the one-process reduction", T, float,
                   double) {
  ProcessGroup& g = group();
  const Shape shape{3, 5};
  Tensor<T> sum = Tensor<T>::zeros(shape), max = input_of<T>(0, shape);
  for (int r = 0; r < g.world_size(); ++r) {
    const auto x = input_of<T>(r, shape).to_vector();
    auto s = sum.data_ptr();
    auto m = max.data_ptr();
    for (size_t i = 0; i < x.size(); ++i) {
      s[i] += x[i];
      m[i] = std::max(m[i], x[i]);
    }
  }
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  Tensor<T> a = input_of<T>(g.rank(), shape);
  all_reduce(a, ReduceOp::Sum);
  CHECK(max_abs_diff(a, sum) < tol);
  Tensor<T> b = input_of<T>(g.rank(), shape);
  all_reduce(b, ReduceOp::Avg);
  Tensor<T> avg = sum.clone();
  for (T* p = avg.data_ptr(); p != avg.data_ptr() + avg.numel(); ++p) *p /= T(g.world_size());
  CHECK(max_abs_diff(b, avg) < tol);
  Tensor<T> c = input_of<T>(g.rank(), shape);
  all_reduce(c, ReduceOp::Max);
  CHECK(max_abs_diff(c, max) == 0.0);
}

TEST_CASE("all_reduce of a non-contiguous view writes through to the view") {
  ProcessGroup& g = group();
  Tensor<double> base = input_of<double>(g.rank(), {4, 6});
  Tensor<double> view = base.transpose(0, 1);  // not contiguous
  REQUIRE_FALSE(view.is_contiguous());
  all_reduce(view, ReduceOp::Sum);
  Tensor<double> expected = Tensor<double>::zeros({4, 6});
  for (int r = 0; r < g.world_size(); ++r) {
    const auto x = input_of<double>(r, {4, 6}).to_vector();
    for (size_t i = 0; i < x.size(); ++i) expected.data_ptr()[i] += x[i];
  }
  CHECK(max_abs_diff(base, expected) < 1e-13);
}

TEST_CASE_TEMPLATE("broadcast copies the root's tensor to every rank", T, float, double) {
  ProcessGroup& g = group();
  const int root = g.world_size() - 1;  // not only rank 0
  Tensor<T> x = input_of<T>(g.rank(), {7});
  broadcast(x, root);
  CHECK(max_abs_diff(x, input_of<T>(root, {7})) == 0.0);
  CHECK_THROWS_AS(broadcast(x, g.world_size()), Error);
}

TEST_CASE_TEMPLATE("all_gather stacks every rank's tensor in rank order", T, float, double) {
  ProcessGroup& g = group();
  Tensor<T> out = all_gather(input_of<T>(g.rank(), {2, 3}));
  CHECK(out.shape() == Shape{2 * g.world_size(), 3});
  for (int r = 0; r < g.world_size(); ++r)
    CHECK(max_abs_diff(out.narrow(0, 2 * r, 2), input_of<T>(r, {2, 3})) == 0.0);
}

TEST_CASE_TEMPLATE("reduce_scatter gives rank r slice r of the sum (and of the average)", T, float,
                   double) {
  ProcessGroup& g = group();
  const int w = g.world_size();
  const Shape shape{2 * w, 3};
  Tensor<T> sum = Tensor<T>::zeros(shape);
  for (int r = 0; r < w; ++r) {
    const auto x = input_of<T>(r, shape).to_vector();
    for (size_t i = 0; i < x.size(); ++i) sum.data_ptr()[i] += x[i];
  }
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  Tensor<T> mine = reduce_scatter(input_of<T>(g.rank(), shape), ReduceOp::Sum);
  CHECK(max_abs_diff(mine, sum.narrow(0, 2 * g.rank(), 2)) < tol);
  Tensor<T> avg = reduce_scatter(input_of<T>(g.rank(), shape), ReduceOp::Avg);
  Tensor<T> expected = sum.narrow(0, 2 * g.rank(), 2).contiguous();
  for (T* p = expected.data_ptr(); p != expected.data_ptr() + expected.numel(); ++p) *p /= T(w);
  CHECK(max_abs_diff(avg, expected) < tol);
  if (w > 1)  // with one rank every size divides
    CHECK_THROWS_WITH_AS(reduce_scatter(Tensor<T>::zeros({2 * w + 1})),
                         doctest::Contains("divisible by the world size"), Error);
}

TEST_CASE("barrier, ranks and the async all_reduce") {
  ProcessGroup& g = group();
  CHECK(g.rank() >= 0);
  CHECK(g.rank() < g.world_size());
  CHECK(g.local_rank() == g.rank());  // one machine
  barrier();
  Tensor<double> x = Tensor<double>::full({1000}, double(g.rank() + 1));
  Work w = all_reduce_async(x, ReduceOp::Sum);
  w.wait();
  w.wait();  // a second wait is a no-op
  CHECK(x.data_ptr()[999] == double(g.world_size() * (g.world_size() + 1) / 2));
}
