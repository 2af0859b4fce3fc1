// CSR matrices (sparse/csr.hpp), spmm / sddmm / edge softmax (ops/sparse.hpp) and the
// torch_scatter-style reductions (ops/scatter.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/sparse.hpp>
#include <ember/sparse/csr.hpp>
#include <string>
#include <vector>

using namespace ember;
using sparse::CsrMatrix;

namespace {

Tensor<int64_t> ivec(std::vector<int64_t> v) {
  const int64_t n = int64_t(v.size());
  return Tensor<int64_t>::from_vector(v, {n});
}

template <class T>
void check_close(const Tensor<T>& a, const Tensor<T>& b, double tol) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  for (size_t i = 0; i < va.size(); ++i) CHECK(std::abs(double(va[i]) - double(vb[i])) <= tol);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A random [rows, cols] matrix with about `density` of its entries set, as CSR (duplicates
// included in the COO input on purpose).
template <class T>
CsrMatrix<T> random_csr(int64_t rows, int64_t cols, int64_t entries, Generator& gen) {
  auto r = Tensor<int64_t>::randint(0, rows, {entries}, gen);
  auto c = Tensor<int64_t>::randint(0, cols, {entries}, gen);
  auto v = Tensor<T>::randn({entries}, gen);
  return CsrMatrix<T>::from_coo(rows, cols, r, c, v);
}

Tensor<double> leaf(const Shape& s, Generator& gen) {
  return Tensor<double>::randn(s, gen).requires_grad_();
}
// A non-contiguous leaf of shape s (the transpose of a contiguous [s1, s0]).
Tensor<double> strided_leaf(const Shape& s, Generator& gen) {
  return Tensor<double>::randn({s[1], s[0]}, gen).t().detach().requires_grad_();
}

}  // namespace

TEST_CASE("CsrMatrix::from_coo sorts, sums duplicates and round-trips through dense") {
  // (row, col, value); (1, 2) appears twice, rows are given out of order.
  auto r = ivec({2, 1, 0, 1, 1, 2});
  auto c = ivec({0, 2, 1, 0, 2, 3});
  auto v = Tensor<double>{1, 2, 3, 4, 5, 6};
  auto a = CsrMatrix<double>::from_coo(3, 4, r, c, v);
  CHECK(a.rows() == 3);
  CHECK(a.cols() == 4);
  CHECK(a.nnz() == 5);
  CHECK(a.row_ptr().to_vector() == std::vector<int64_t>{0, 1, 3, 5});
  CHECK(a.col_idx().to_vector() == std::vector<int64_t>{1, 0, 2, 0, 3});
  CHECK(a.values().to_vector() == std::vector<double>{3, 4, 7, 1, 6});
  const std::vector<double> dense = {0, 3, 0, 0, 4, 0, 7, 0, 1, 0, 0, 6};
  CHECK(a.to_dense().to_vector() == dense);
  CHECK(a.row_indices().to_vector() == std::vector<int64_t>{0, 1, 1, 2, 2});

  auto b = CsrMatrix<double>::from_dense(a.to_dense());
  CHECK(b.row_ptr().to_vector() == a.row_ptr().to_vector());
  CHECK(b.col_idx().to_vector() == a.col_idx().to_vector());
  CHECK(b.values().to_vector() == a.values().to_vector());

  // int32 indices and no values (ones, so duplicates count).
  auto a32 =
      CsrMatrix<float, int32_t>::from_coo(2, 2, Tensor<int32_t>{1, 1, 0}, Tensor<int32_t>{0, 0, 1});
  CHECK(a32.values().to_vector() == std::vector<float>{1, 2});
  CHECK(a32.row_ptr().to_vector() == std::vector<int32_t>{0, 1, 2});

  // from_edge_index: A[src, dst].
  auto g = CsrMatrix<float>::from_edge_index(3, ivec({0, 2}), ivec({1, 0}));
  CHECK(g.to_dense().to_vector() == std::vector<float>{0, 1, 0, 0, 0, 0, 1, 0, 0});
  auto ei = Tensor<int64_t>::from_vector({0, 2, 1, 0}, {2, 2});
  CHECK(CsrMatrix<float>::from_edge_index(3, ei).to_dense().to_vector() ==
        g.to_dense().to_vector());
}

TEST_CASE("CsrMatrix transpose, differentiable structure ops") {
  Generator gen(1);
  auto a = random_csr<double>(5, 7, 15, gen);
  auto t = a.transpose();
  CHECK(t.rows() == 7);
  CHECK(t.cols() == 5);
  check_close(t.to_dense(), a.to_dense().t().contiguous(), 0.0);
  // The transpose's transpose is the original pattern again (shared, not recomputed).
  auto tt = t.transpose();
  CHECK(tt.pattern() == a.pattern());
  CHECK(tt.values().to_vector() == a.values().to_vector());

  // Gradients through transpose / to_dense / from_dense / from_coo's duplicate sum.
  auto v = leaf({a.nnz()}, gen);
  CHECK(gradcheck_report([&](const auto& x) { return a.with_values(x[0]).transpose().to_dense(); },
                         {v}) == "");
  auto d = leaf({3, 4}, gen);
  CHECK(gradcheck_report([](const auto& x) { return CsrMatrix<double>::from_dense(x[0]).values(); },
                         {d}) == "");
  auto r = ivec({0, 1, 0, 2}), c = ivec({1, 1, 1, 0});
  auto w = leaf({4}, gen);
  CHECK(gradcheck_report(
            [&](const auto& x) { return CsrMatrix<double>::from_coo(3, 2, r, c, x[0]).to_dense(); },
            {w}) == "");
}

TEST_CASE("gcn_normalize and row_normalize") {
  // Edges 0->1, 0->1 (duplicate), 1->2, 2->2 (existing self loop): A has A[0,1] = 2.
  auto a = CsrMatrix<double>::from_edge_index(3, ivec({0, 0, 1, 2}), ivec({1, 1, 2, 2}));
  auto n = a.gcn_normalize();
  // A + I = [[1, 2, 0], [0, 1, 1], [0, 0, 2]]; row sums d = [3, 2, 2].
  const double d[3] = {3, 2, 2};
  const double api[3][3] = {{1, 2, 0}, {0, 1, 1}, {0, 0, 2}};
  const auto dense = n.to_dense().to_vector();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      CHECK(dense[size_t(i * 3 + j)] == doctest::Approx(api[i][j] / std::sqrt(d[i] * d[j])));
  CHECK(n.nnz() == 5);

  auto rn = a.row_normalize().to_dense().to_vector();
  CHECK(rn == std::vector<double>{0, 1, 0, 0, 0, 1, 0, 0, 1});

  Generator gen(2);
  auto m = random_csr<double>(6, 6, 14, gen);
  auto v = Tensor<double>::rand({m.nnz()}, gen, 0.5, 1.5).requires_grad_();
  auto f = [&](const auto& x) { return m.with_values(x[0]).gcn_normalize().values(); };
  CHECK(gradcheck_report(f, {v}) == "");
  CHECK(gradgradcheck_report(f, {v}) == "");
  auto g = [&](const auto& x) { return m.with_values(x[0]).row_normalize().values(); };
  CHECK(gradcheck_report(g, {v}) == "");
}

TEST_CASE("spmm matches dense matmul (float32, float64, multi-head)") {
  Generator gen(3);
  for (int64_t f : {1, 5, 64}) {
    auto a = random_csr<double>(40, 30, 200, gen);
    auto x = Tensor<double>::randn({30, f}, gen);
    check_close(spmm(a, x), matmul(a.to_dense(), x), 1e-12);
    auto af =
        CsrMatrix<float>(a.rows(), a.cols(), a.row_ptr(), a.col_idx(), a.values().to<float>());
    auto xf = x.to<float>();
    check_close(spmm(af, xf), matmul(af.to_dense(), xf), 1e-4);
    // Non-contiguous X.
    auto xt = Tensor<double>::randn({f, 30}, gen).t();
    check_close(spmm(a, xt), matmul(a.to_dense(), xt), 1e-12);
  }
  // A matrix with empty rows and columns, and one with no entries at all.
  auto e = CsrMatrix<double>::from_coo(4, 3, ivec({1}), ivec({2}), Tensor<double>{2.0});
  auto x = Tensor<double>::randn({3, 2}, gen);
  check_close(spmm(e, x), matmul(e.to_dense(), x), 1e-15);
  auto z = CsrMatrix<double>::from_coo(2, 3, ivec({}), ivec({}));
  CHECK(spmm(z, x).to_vector() == std::vector<double>(4, 0.0));

  // Heads: values [nnz, H], X [cols, H, C].
  auto a = random_csr<double>(9, 8, 30, gen);
  auto vh = Tensor<double>::randn({a.nnz(), 3}, gen);
  auto xh = Tensor<double>::randn({8, 3, 4}, gen);
  auto out = spmm(a.with_values(vh), xh);
  REQUIRE(out.shape() == Shape{9, 3, 4});
  for (int64_t h = 0; h < 3; ++h) {
    auto ref = matmul(a.with_values(vh.select(1, h).contiguous()).to_dense(), xh.select(1, h));
    check_close(out.select(1, h).contiguous(), ref, 1e-12);
  }
}

TEST_CASE("spmm gradients (X and values), first and second order") {
  Generator gen(4);
  auto a = random_csr<double>(6, 5, 14, gen);
  auto v = leaf({a.nnz()}, gen);
  auto x = leaf({5, 3}, gen);
  auto f = [&](const auto& in) { return spmm(a.with_values(in[0]), in[1]); };
  CHECK(gradcheck_report(f, {v, x}) == "");
  CHECK(gradgradcheck_report(f, {v, x}) == "");
  CHECK(gradcheck_report(f, {v, strided_leaf({5, 3}, gen)}) == "");
  // Only X (constant values: the cached transposed values are used).
  auto fx = [&](const auto& in) { return spmm(a, in[0]); };
  CHECK(gradcheck_report(fx, {x}) == "");
  CHECK(gradgradcheck_report(fx, {x}) == "");
  // Multi-head.
  auto vh = leaf({a.nnz(), 2}, gen);
  auto xh = leaf({5, 2, 3}, gen);
  CHECK(gradcheck_report(f, {vh, xh}) == "");
  CHECK(gradgradcheck_report(f, {vh, xh}) == "");
  // Gradient of X matches Aᵀ·g computed densely.
  auto xx = Tensor<double>::randn({5, 3}, gen).requires_grad_();
  auto g = Tensor<double>::randn({6, 3}, gen);
  spmm(a, xx).backward(g);
  check_close(xx.grad(), matmul(a.to_dense().t(), g), 1e-12);
}

TEST_CASE("sddmm values and gradients") {
  Generator gen(5);
  auto a = random_csr<double>(5, 6, 12, gen);
  auto p = leaf({5, 4}, gen), q = leaf({6, 4}, gen);
  auto out = sddmm(a, p, q);
  auto full = matmul(p.detach(), q.detach().t());
  const auto rows = a.row_indices().to_vector();
  const auto cols = a.col_idx().to_vector();
  for (int64_t k = 0; k < a.nnz(); ++k)
    CHECK(out.to_vector()[size_t(k)] ==
          doctest::Approx(full.at({rows[size_t(k)], cols[size_t(k)]})));
  auto f = [&](const auto& in) { return sddmm(a, in[0], in[1]); };
  CHECK(gradcheck_report(f, {p, q}) == "");
  CHECK(gradgradcheck_report(f, {p, q}) == "");
  CHECK(gradcheck_report(f, {strided_leaf({5, 4}, gen), q}) == "");
  auto ph = leaf({5, 2, 3}, gen), qh = leaf({6, 2, 3}, gen);
  REQUIRE(sddmm(a, ph, qh).shape() == Shape{a.nnz(), 2});
  CHECK(gradcheck_report(f, {ph, qh}) == "");
  CHECK(gradgradcheck_report(f, {ph, qh}) == "");
}

TEST_CASE("edge softmax / segment softmax") {
  // Rows: {0: entries 0,1,2}, {1: none}, {2: entry 3}.
  auto a = CsrMatrix<double>(3, 3, ivec({0, 3, 3, 4}), ivec({0, 1, 2, 1}),
                             Tensor<double>{1.0, 2.0, 3.0, -5.0});
  auto y = edge_softmax(a).to_vector();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(y[0] == doctest::Approx(std::exp(1.0) / z));
  CHECK(y[1] == doctest::Approx(std::exp(2.0) / z));
  CHECK(y[2] == doctest::Approx(std::exp(3.0) / z));
  CHECK(y[3] == doctest::Approx(1.0));
  // Large scores do not overflow.
  auto big = edge_softmax(a, Tensor<double>{1000.0, 1000.0, 0.0, 800.0}).to_vector();
  CHECK(big[0] == doctest::Approx(0.5));

  Generator gen(6);
  auto m = random_csr<double>(5, 5, 14, gen);
  auto s = leaf({m.nnz()}, gen);
  auto f = [&](const auto& in) { return edge_softmax(m, in[0]); };
  CHECK(gradcheck_report(f, {s}) == "");
  CHECK(gradgradcheck_report(f, {s}) == "");
  auto sh = strided_leaf({m.nnz(), 3}, gen);
  CHECK(gradcheck_report(f, {sh}) == "");
  CHECK(gradgradcheck_report(f, {leaf({m.nnz(), 3}, gen)}) == "");
}

TEST_CASE("scatter_sum / scatter_mean / scatter_max / segment_sum") {
  auto src = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {5, 2});
  auto idx = ivec({2, 0, 2, 2, 0});
  CHECK(scatter_sum(src, idx, 4).to_vector() == std::vector<double>{12, 14, 0, 0, 13, 16, 0, 0});
  CHECK(scatter_sum(src, idx).shape() == Shape{3, 2});
  CHECK(scatter_mean(src, idx, 4).to_vector() ==
        std::vector<double>{6, 7, 0, 0, 13.0 / 3, 16.0 / 3, 0, 0});
  auto [mx, arg] = scatter_max(src, idx, 4);
  CHECK(mx.to_vector() == std::vector<double>{9, 10, 0, 0, 7, 8, 0, 0});
  CHECK(arg.to_vector() == std::vector<int64_t>{4, 4, 5, 5, 3, 3, 5, 5});
  auto ptr = ivec({0, 2, 2, 5});
  CHECK(segment_sum(src, ptr).to_vector() == std::vector<double>{4, 6, 0, 0, 21, 24});
  // 1-D src and extra feature dims.
  CHECK(scatter_sum(Tensor<double>{1, 2, 3}, ivec({1, 1, 0})).to_vector() ==
        std::vector<double>{3, 3});
  CHECK(scatter_sum(Tensor<double>::ones({3, 2, 2}), ivec({1, 1, 0})).shape() == Shape{2, 2, 2});

  Generator gen(7);
  auto s = leaf({7, 3}, gen);
  auto i7 = ivec({0, 3, 3, 1, 0, 3, 1});
  auto fs = [&](const auto& in) { return scatter_sum(in[0], i7, 5); };
  auto fm = [&](const auto& in) { return scatter_mean(in[0], i7, 5); };
  auto fx = [&](const auto& in) { return scatter_max(in[0], i7, 5).first; };
  auto fg = [&](const auto& in) { return segment_sum(in[0], ivec({0, 3, 3, 7})); };
  CHECK(gradcheck_report(fs, {s}) == "");
  CHECK(gradgradcheck_report(fs, {s}) == "");
  CHECK(gradcheck_report(fm, {strided_leaf({7, 3}, gen)}) == "");
  CHECK(gradgradcheck_report(fm, {s}) == "");
  CHECK(gradcheck_report(fx, {s}) == "");
  CHECK(gradgradcheck_report(fx, {s}) == "");
  CHECK(gradcheck_report(fg, {strided_leaf({7, 3}, gen)}) == "");
  CHECK(gradgradcheck_report(fg, {s}) == "");
}

TEST_CASE("malformed CSR and bad indices throw ember::Error with clear text") {
  auto v3 = Tensor<float>{1, 2, 3};
  // row_ptr not monotone.
  CHECK(error_of([&] {
          CsrMatrix<float>(2, 3, ivec({0, 2, 1}), ivec({0, 1, 2}), v3);
        }).find("non-decreasing") != std::string::npos);
  // Wrong row_ptr length.
  CHECK(error_of([&] {
          CsrMatrix<float>(3, 3, ivec({0, 1, 3}), ivec({0, 1, 2}), v3);
        }).find("rows + 1") != std::string::npos);
  // row_ptr does not end at nnz.
  CHECK_THROWS_AS(CsrMatrix<float>(2, 3, ivec({0, 1, 2}), ivec({0, 1, 2}), v3), Error);
  CHECK_THROWS_AS(CsrMatrix<float>(2, 3, ivec({1, 1, 3}), ivec({0, 1, 2}), v3), Error);
  // Column out of range.
  CHECK(error_of([&] {
          CsrMatrix<float>(2, 3, ivec({0, 1, 3}), ivec({0, 1, 3}), v3);
        }).find("out of range") != std::string::npos);
  CHECK_THROWS_AS(CsrMatrix<float>(2, 3, ivec({0, 1, 3}), ivec({-1, 1, 2}), v3), Error);
  // Unsorted / duplicate columns.
  CHECK(error_of([&] {
          CsrMatrix<float>(2, 3, ivec({0, 1, 3}), ivec({0, 2, 1}), v3);
        }).find("strictly increasing") != std::string::npos);
  CHECK_THROWS_AS(CsrMatrix<float>(2, 3, ivec({0, 1, 3}), ivec({0, 1, 1}), v3), Error);
  // values of the wrong length.
  CHECK_THROWS_AS(CsrMatrix<float>(2, 3, ivec({0, 1, 3}), ivec({0, 1, 2}), Tensor<float>{1, 2}),
                  Error);
  // COO indices out of range.
  CHECK(error_of([&] {
          CsrMatrix<float>::from_coo(2, 2, ivec({0, 2}), ivec({0, 0}));
        }).find("out of bounds") != std::string::npos);
  CHECK_THROWS_AS(CsrMatrix<float>::from_coo(2, 2, ivec({0, 1}), ivec({0, -1})), Error);
  CHECK_THROWS_AS(CsrMatrix<float>::from_coo(2, 2, ivec({0, 1}), ivec({0})), Error);

  // Shape errors of the ops name them.
  auto a = CsrMatrix<float>::from_coo(2, 3, ivec({0, 1}), ivec({2, 0}));
  const std::string msg = error_of([&] { spmm(a, Tensor<float>::ones({2, 4})); });
  CHECK(msg.find("spmm") != std::string::npos);
  CHECK(msg.find("[2, 4]") != std::string::npos);
  CHECK_THROWS_AS(sddmm(a, Tensor<float>::ones({2, 4}), Tensor<float>::ones({2, 4})), Error);
  CHECK_THROWS_AS(edge_softmax(a, Tensor<float>::ones({3})), Error);
  CHECK_THROWS_AS(a.gcn_normalize(), Error);  // not square
  CHECK_THROWS_AS(scatter_sum(Tensor<float>::ones({3, 2}), ivec({0, 1}), 2), Error);
  CHECK(error_of([&] {
          scatter_sum(Tensor<float>::ones({2, 2}), ivec({0, 5}), 3);
        }).find("out of bounds") != std::string::npos);
  CHECK_THROWS_AS(scatter_max(Tensor<float>::ones({2}), ivec({0, -1}), 3), Error);
  CHECK_THROWS_AS(segment_sum(Tensor<float>::ones({3}), ivec({0, 2})), Error);
  CHECK_THROWS_AS(segment_sum(Tensor<float>::ones({3}), ivec({0, 2, 1, 3})), Error);
}

TEST_CASE("large inputs take the parallel, entry-balanced path") {
  Generator gen(8);
  // Skewed rows: half of the entries in the first 10 rows, so the balanced split matters.
  auto r1 = Tensor<int64_t>::randint(0, 10, {3000}, gen);
  auto r2 = Tensor<int64_t>::randint(0, 500, {3000}, gen);
  auto rows = cat(std::vector<Tensor<int64_t>>{r1, r2});
  auto cols = Tensor<int64_t>::randint(0, 400, {6000}, gen);
  auto a = CsrMatrix<double>::from_coo(500, 400, rows, cols, Tensor<double>::randn({6000}, gen));
  auto x = Tensor<double>::randn({400, 48}, gen);
  check_close(spmm(a, x), matmul(a.to_dense(), x), 1e-11);
  auto af = CsrMatrix<float>(a.rows(), a.cols(), a.row_ptr(), a.col_idx(), a.values().to<float>());
  check_close(spmm(af, x.to<float>()), matmul(af.to_dense(), x.to<float>()), 1e-3);
  auto g = Tensor<double>::randn({500, 48}, gen);
  check_close(spmm(a.transpose(), g), matmul(a.to_dense().t(), g), 1e-11);
  // sddmm against the dense product sampled at the pattern.
  auto p = Tensor<double>::randn({500, 48}, gen);
  auto s = sddmm(a, p, x);
  auto full = matmul(p, x.t());
  const auto ri = a.row_indices().to_vector();
  const auto ci = a.col_idx().to_vector();
  const auto sv = s.to_vector();
  for (int64_t k = 0; k < a.nnz(); k += 97)
    CHECK(sv[size_t(k)] == doctest::Approx(full.at({ri[size_t(k)], ci[size_t(k)]})));
  // Softmax rows sum to one; scatter_sum equals index_add.
  auto y = segment_softmax(Tensor<double>::randn({a.nnz(), 8}, gen), a.pattern()->row_ptr64());
  auto rs = segment_sum(y, a.pattern()->row_ptr64());
  const auto rp = a.row_ptr().to_vector();
  for (int64_t i = 0; i < 500; ++i)
    if (rp[size_t(i) + 1] > rp[size_t(i)]) CHECK(rs.at({i, 3}) == doctest::Approx(1.0));
  auto src = Tensor<double>::randn({6000, 16}, gen);
  check_close(scatter_sum(src, cols, 400),
              index_add(Tensor<double>::zeros({400, 16}), 0, cols, src), 1e-11);
}
