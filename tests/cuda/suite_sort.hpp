// Agreement suites of the sort family (sort, argsort, topk), cumsum, round / floor / ceil and
// multinomial. Included by test_cuda_agreement.cpp after its helpers (check_agreement, randn,
// rel_error, tolerance, kGpu, Fn).
//
// Sorting is exact on both devices: the values and the indices must be equal, ties (stable,
// position order), -0.0 and NaN (the largest value) included. cumsum agrees to the default
// tolerance (the CUDA block scan adds in another order). multinomial's CUDA samples come from
// Philox, not from the CPU's Generator stream (as dropout's masks), so the CUDA samples are
// checked for what they promise: valid, distinct without replacement, reproducible from the
// seed, and frequencies within 4 sigma of the probabilities.
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/sampling.hpp>
#include <ember/ops/sort.hpp>
#include <ember/ops/unary.hpp>
#include <limits>
#include <set>
#include <vector>

namespace {

// Bitwise-equal as values: NaN equals NaN, -0.0 differs from 0.0.
template <class T>
bool same_values(const Tensor<T>& got, const Tensor<T>& want) {
  const std::vector<T> a = got.to(Device::cpu()).to_vector(), b = want.to_vector();
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (!(std::isnan(a[i]) && std::isnan(b[i]))) return false;
    } else if (a[i] != b[i] || std::signbit(a[i]) != std::signbit(b[i])) {
      return false;
    }
  }
  return true;
}

// x sorted (or its top k) on both devices: identical values and indices.
template <class T>
void check_sort_exact(const char* name, const Tensor<T>& x, int64_t dim, bool descending,
                      int64_t k = -1) {
  CAPTURE(name);
  const Tensor<T> g = x.to(kGpu);
  const ValuesIndices<T> cpu = k < 0 ? sort(x, dim, descending) : topk(x, k, dim, descending);
  const ValuesIndices<T> gpu = k < 0 ? sort(g, dim, descending) : topk(g, k, dim, descending);
  REQUIRE(gpu.values.device() == kGpu);
  REQUIRE(gpu.indices.device() == kGpu);
  CHECK(gpu.values.shape() == cpu.values.shape());
  CHECK(same_values(gpu.values, cpu.values));
  CHECK(gpu.indices.to(Device::cpu()).to_vector() == cpu.indices.to_vector());
}

template <class T>
void sort_suite() {
  using V = std::vector<Tensor<T>>;
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  // Ties, both zeros, NaN of both signs and infinities, in rows of 9.
  const auto special = Tensor<T>::from_vector(
      {3, 1, -nan, 1, T(-0.0), 0, nan, -inf, 1, 2, 2, 2, inf, 0, T(-0.0), -1, nan, 2}, {2, 9});
  check_sort_exact<T>("special values ascending", special, -1, false);
  check_sort_exact<T>("special values descending", special, -1, true);
  check_sort_exact<T>("special values along dim 0", special, 0, true);
  check_sort_exact<T>("special values, top 4", special, -1, true, 4);
  check_sort_exact<T>("special values, bottom 3 of a transpose", special.t(), 0, false, 3);
  // Many ties in long rows (several segmented-sort paths), and a dim that is not last.
  Generator gen(61);
  const auto ties = round(mul(Tensor<T>::randn({7, 3000}, gen), T(2)));
  check_sort_exact<T>("long rows with ties", ties, 1, false);
  check_sort_exact<T>("long rows with ties, descending, top 100", ties, 1, true, 100);
  const auto cube = round(mul(Tensor<T>::randn({6, 40, 5}, gen), T(3)));
  check_sort_exact<T>("middle dim of a 3-D tensor", cube, 1, false);
  check_sort_exact<T>("first dim of a permuted view", cube.permute({2, 1, 0}), 0, true);
  CHECK(argsort(ties.to(kGpu), 1).to(Device::cpu()).to_vector() == argsort(ties, 1).to_vector());

  // Values and their gradients (distinct random values: no ties).
  const auto a = randn<T>({6, 33}, 62);
  check_agreement<T>("sort values", [](const V& x) { return sort(x[0], -1).values; }, {a});
  check_agreement<T>("sort values dim 0 descending",
                     [](const V& x) { return sort(x[0], 0, true).values; }, {a});
  check_agreement<T>("topk values of a transpose",
                     [](const V& x) { return topk(x[0].t(), 3, -1).values; }, {a});
  check_agreement<T>("smallest 5 along dim 1",
                     [](const V& x) { return topk(x[0], 5, 1, false).values; }, {a});
}

template <class T>
void cumsum_suite() {
  using V = std::vector<Tensor<T>>;
  const auto a = randn<T>({6, 5, 7}, 71);
  const auto long_rows = randn<T>({3, 100000}, 72);
  check_agreement<T>("cumsum last", [](const V& x) { return cumsum(x[0], -1); }, {a});
  check_agreement<T>("cumsum middle", [](const V& x) { return cumsum(x[0], 1); }, {a});
  check_agreement<T>("cumsum first of a transpose",
                     [](const V& x) { return cumsum(x[0].transpose(0, 2), 0); }, {a});
  check_agreement<T>("cumsum long rows (block scan over tiles)",
                     [](const V& x) { return cumsum(x[0], 1); }, {long_rows});
  check_agreement<T>("cumsum of a cumsum", [](const V& x) { return cumsum(cumsum(x[0], 0), 2); },
                     {a});

  // Second derivatives through CUDA: d/dx sum(cumsum(x)^2) is linear in x.
  auto x = a.to(kGpu).requires_grad_();
  auto xc = a.detach().clone().requires_grad_();
  const auto gx = grad<T>({sum(square(cumsum(x, 1)))}, {x}, {}, {.create_graph = true})[0];
  const auto gc = grad<T>({sum(square(cumsum(xc, 1)))}, {xc}, {}, {.create_graph = true})[0];
  const auto ggx = grad<T>({sum(mul(gx, gx))}, {x})[0];
  const auto ggc = grad<T>({sum(mul(gc, gc))}, {xc})[0];
  CHECK(rel_error(ggx, ggc) <= tolerance<T>());

  // Complex: the real kernel over (re, im) pairs.
  using C = std::complex<T>;
  const auto z =
      Tensor<C>::from_vector({C(1, 2), C(-1, 0.5), C(3, -2), C(0, 1), C(2, 2), C(-4, 1)}, {2, 3});
  const std::vector<C> want = cumsum(z.t(), 1).to_vector();
  const std::vector<C> got = cumsum(z.to(kGpu).t(), 1).to(Device::cpu()).to_vector();
  CHECK(got == want);
}

template <class T>
void rounding_suite() {
  using V = std::vector<Tensor<T>>;
  const auto halves =
      Tensor<T>::from_vector({-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, T(-0.0), 2.7, -2.7}, {9});
  CHECK(same_values(round(halves.to(kGpu)), round(halves)));
  CHECK(same_values(floor(halves.to(kGpu)), floor(halves)));
  CHECK(same_values(ceil(halves.to(kGpu)), ceil(halves)));
  const auto a = mul(randn<T>({4, 3, 5}, 81), T(3));
  check_agreement<T>("round", [](const V& x) { return round(x[0].transpose(0, 2)); }, {a});
  check_agreement<T>("floor", [](const V& x) { return floor(x[0]); }, {a});
  check_agreement<T>("ceil times x (zero gradient through ceil)",
                     [](const V& x) { return mul(ceil(x[0]), x[0]); }, {a});
}

template <class T>
void multinomial_suite() {
  const int64_t n = 20000;
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.4};
  const auto w = Tensor<T>::from_vector({0.25, 0.5, 0.75, 1.0}, {4}).to(kGpu);
  Generator g1(5), g2(5), g3(6);
  const Tensor<int64_t> s = multinomial(w, n, true, g1);
  REQUIRE(s.device() == kGpu);
  REQUIRE(s.shape() == Shape{n});
  const std::vector<int64_t> v = s.to(Device::cpu()).to_vector();
  CHECK(v == multinomial(w, n, true, g2).to(Device::cpu()).to_vector());  // same seed
  CHECK(v != multinomial(w, n, true, g3).to(Device::cpu()).to_vector());  // another seed
  std::vector<int64_t> c(4, 0);
  for (int64_t k : v) {
    REQUIRE((k >= 0 && k < 4));
    ++c[size_t(k)];
  }
  for (size_t k = 0; k < 4; ++k)
    CHECK(std::abs(double(c[k]) - n * p[k]) <= 4 * std::sqrt(n * p[k] * (1 - p[k])));

  // Without replacement: distinct per row, zero weights never drawn, first draw follows p.
  Generator init(7);
  const auto rows = Tensor<T>::rand({64, 12}, init, 0.01, 1.0).to(kGpu);
  const auto perm = multinomial(rows, 12, false, g1).to(Device::cpu());
  for (int64_t r = 0; r < 64; ++r) {
    const std::vector<int64_t> row = perm.select(0, r).to_vector();
    CHECK(std::set<int64_t>(row.begin(), row.end()).size() == 12);
  }
  const auto sparse = Tensor<T>::from_vector({0, 1, 0, 3}, {4}).to(kGpu);
  const std::vector<int64_t> two = multinomial(sparse, 2, false, g1).to(Device::cpu()).to_vector();
  CHECK(std::set<int64_t>(two.begin(), two.end()) == std::set<int64_t>{1, 3});
  const auto many = w.unsqueeze(0).expand({n, 4});
  const auto first = multinomial(many, 2, false, g1).select(1, 0).to(Device::cpu()).contiguous();
  std::vector<int64_t> f(4, 0);
  for (int64_t k : first.to_vector()) ++f[size_t(k)];
  for (size_t k = 0; k < 4; ++k)
    CHECK(std::abs(double(f[k]) - n * p[k]) <= 4 * std::sqrt(n * p[k] * (1 - p[k])));

  CHECK_THROWS_AS(multinomial(Tensor<T>::from_vector({1, -1}, {2}).to(kGpu), 1, true, g1),
                  ember::Error);
  CHECK_THROWS_AS(multinomial(Tensor<T>::zeros({2, 3}, kGpu), 1, true, g1), ember::Error);
}

}  // namespace

TEST_CASE("cuda: sort, argsort and topk agree with the CPU exactly (ties, NaN, -0.0)") {
  sort_suite<float>();
  sort_suite<double>();
}

TEST_CASE("cuda: cumsum agrees with the CPU (forward, backward, second order, complex)") {
  cumsum_suite<float>();
  cumsum_suite<double>();
}

TEST_CASE("cuda: round, floor and ceil agree with the CPU") {
  rounding_suite<float>();
  rounding_suite<double>();
}

TEST_CASE("cuda: multinomial draws valid, reproducible samples with the right frequencies") {
  multinomial_suite<float>();
  multinomial_suite<double>();
}
