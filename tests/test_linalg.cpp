// matmul (every rank combination, batch broadcasting, transposed and strided views), mm,
// bmm, linear, complex GEMMs against naive loops, gradients and bad shapes.
#include <doctest/doctest.h>

#include <complex>
#include <functional>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/linalg.hpp>

using namespace ember;

namespace {

using Inputs = std::vector<Tensor<double>>;
using cd = std::complex<double>;

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

// C = A·B for 2-D tensors, by three loops (conj_a: conj(A), and likewise for B).
template <class T>
Tensor<T> naive_mm(const Tensor<T>& a, const Tensor<T>& b, bool conj_a = false,
                   bool conj_b = false) {
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  Tensor<T> c = Tensor<T>::zeros({m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T s = T(0);
      for (int64_t p = 0; p < k; ++p) {
        const T x = conj_a ? conj_scalar(a.at({i, p})) : a.at({i, p});
        const T y = conj_b ? conj_scalar(b.at({p, j})) : b.at({p, j});
        s += x * y;
      }
      c.at({i, j}) = s;
    }
  return c;
}

template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<T> va = a.to_vector(), vb = b.to_vector();
  double d = 0;
  for (size_t i = 0; i < va.size(); ++i) d = std::max(d, double(std::abs(va[i] - vb[i])));
  return d;
}

}  // namespace

TEST_CASE("linalg: hand-computed products") {
  const Tensor<double> a = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor<double> b = Tensor<double>::from_vector({7, 8, 9, 10, 11, 12}, {3, 2});
  CHECK(matmul(a, b).to_vector() == std::vector<double>{58, 64, 139, 154});
  CHECK(mm(a, b).to_vector() == std::vector<double>{58, 64, 139, 154});
  const Tensor<double> v{1, 0, -1};
  CHECK(matmul(a, v).to_vector() == std::vector<double>{-2, -2});  // [2,3]·[3] -> [2]
  CHECK(matmul(Tensor<double>{1, -1}, a).to_vector() ==
        std::vector<double>{-3, -3, -3});  // [2]·[2,3]
  const Tensor<double> dot = matmul(v, Tensor<double>{4, 5, 6});
  CHECK(dot.dim() == 0);
  CHECK(dot.item() == -2);
  // The transpose view goes to BLAS as a transposed operand.
  CHECK(matmul(b.t(), a.t()).to_vector() == std::vector<double>{58, 139, 64, 154});
  // float32 through sgemm.
  CHECK(matmul(a.to<float>(), b.to<float>()).to_vector() == std::vector<float>{58, 64, 139, 154});
}

TEST_CASE("linalg: output shapes of every rank combination") {
  Generator gen(1);
  auto r = [&](const Shape& s) { return Tensor<double>::randn(s, gen); };
  CHECK(matmul(r({3}), r({3})).shape() == Shape{});
  CHECK(matmul(r({3}), r({3, 4})).shape() == Shape{4});
  CHECK(matmul(r({2, 3}), r({3})).shape() == Shape{2});
  CHECK(matmul(r({3}), r({2, 3, 4})).shape() == Shape{2, 4});
  CHECK(matmul(r({2, 5, 3}), r({3})).shape() == Shape{2, 5});
  CHECK(matmul(r({2, 1, 3, 4}), r({5, 4, 2})).shape() == Shape{2, 5, 3, 2});
  CHECK(matmul(r({4, 3}), r({2, 3, 5})).shape() == Shape{2, 4, 5});
  CHECK(bmm(r({2, 3, 4}), r({2, 4, 5})).shape() == Shape{2, 3, 5});
  CHECK(matmul(r({2, 0}), r({0, 3})).to_vector() == std::vector<double>(6, 0.0));  // k = 0
  CHECK(matmul(r({0, 3}), r({3, 2})).shape() == Shape{0, 2});
  CHECK(linear(r({2, 0}), r({3, 0}), r({3})).shape() == Shape{2, 3});  // in = 0: just the bias
  CHECK(linear(r({2, 0}), r({3, 0})).to_vector() == std::vector<double>(6, 0.0));
  CHECK(linear(r({0, 4}), r({3, 4})).shape() == Shape{0, 3});
  CHECK(matmul(r({2, 3, 0}), r({0, 4})).to_vector() == std::vector<double>(24, 0.0));
}

TEST_CASE("linalg: batched and broadcast products match per-matrix products") {
  Generator gen(2);
  const Tensor<double> a = Tensor<double>::randn({2, 1, 3, 4}, gen);
  const Tensor<double> b = Tensor<double>::randn({5, 4, 2}, gen);
  const Tensor<double> c = matmul(a, b);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j)
      CHECK(max_abs_diff(c.select(0, i).select(0, j).contiguous(),
                         naive_mm(a.select(0, i).select(0, 0), b.select(0, j))) < 1e-12);
  // [B, m, k] · [k, n] folds into one GEMM; a strided a (every other row) still folds.
  const Tensor<double> big = Tensor<double>::randn({3, 8, 4}, gen);
  const Tensor<double> w = Tensor<double>::randn({4, 6}, gen);
  for (const Tensor<double>& x : {big, big.slice(1, 0, 8, 2), big.mT().contiguous().mT()}) {
    const Tensor<double> y = matmul(x, w);
    for (int64_t i = 0; i < 3; ++i)
      CHECK(max_abs_diff(y.select(0, i).contiguous(), naive_mm(x.select(0, i), w)) < 1e-12);
  }
  // Operands BLAS cannot read in place (a column step, a broadcast row) are copied first.
  const Tensor<double> stepped = Tensor<double>::randn({4, 6}, gen).slice(1, 0, 6, 2);
  const Tensor<double> bcast = Tensor<double>::randn({1, 5}, gen).expand({3, 5});
  CHECK(max_abs_diff(matmul(stepped, bcast), naive_mm(stepped, bcast)) < 1e-12);
  // Batched with a transposed-view batch operand.
  const Tensor<double> bt = Tensor<double>::randn({2, 6, 4}, gen).mT();
  const Tensor<double> at = Tensor<double>::randn({2, 3, 4}, gen);
  const Tensor<double> ct = bmm(at, bt);
  for (int64_t i = 0; i < 2; ++i)
    CHECK(max_abs_diff(ct.select(0, i).contiguous(), naive_mm(at.select(0, i), bt.select(0, i))) <
          1e-12);
}

TEST_CASE("linalg: matmul gradients for every rank combination") {
  Generator gen(3);
  const std::vector<std::pair<Shape, Shape>> cases = {{{3}, {3}},
                                                      {{3}, {3, 4}},
                                                      {{2, 3}, {3}},
                                                      {{2, 3}, {3, 4}},
                                                      {{3}, {2, 3, 4}},
                                                      {{2, 4, 3}, {3}},
                                                      {{2, 4, 3}, {3, 5}},
                                                      {{4, 3}, {2, 3, 5}},
                                                      {{2, 1, 3, 4}, {5, 4, 2}},
                                                      {{1, 2, 3}, {3, 2, 1, 3, 2}}};
  for (const auto& [sa, sb] : cases) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    const Tensor<double> a = leaf(sa, gen), b = leaf(sb, gen);
    auto f = [](const Inputs& in) { return matmul(in[0], in[1]); };
    CHECK(gradcheck_report(f, {a, b}) == "");
    CHECK(gradgradcheck_report(f, {a, b}) == "");
    // Only one operand requiring grad: the other GEMM is skipped.
    CHECK(gradcheck_report(f, {a, b.detach()}) == "");
    CHECK(gradcheck_report(f, {a.detach(), b}) == "");
  }
}

TEST_CASE("linalg: gradients through transposed, strided and broadcast views") {
  Generator gen(4);
  const Tensor<double> at =
      Tensor<double>::randn({3, 2}, gen).t().detach().requires_grad_();  // [2, 3]
  const Tensor<double> bt =
      Tensor<double>::randn({4, 3}, gen).t().detach().requires_grad_();  // [3, 4]
  auto f = [](const Inputs& in) { return matmul(in[0], in[1]); };
  CHECK(gradcheck_report(f, {at, bt}) == "");
  CHECK(gradgradcheck_report(f, {at, bt}) == "");
  const Tensor<double> a3 =
      Tensor<double>::randn({2, 4, 3}, gen).mT().detach().requires_grad_();  // [2, 3, 4]
  const Tensor<double> w = leaf({4, 5}, gen);
  CHECK(gradcheck_report(f, {a3, w}) == "");
  CHECK(gradgradcheck_report(f, {a3, w}) == "");
  const Tensor<double> stepped =
      Tensor<double>::randn({3, 8}, gen).slice(1, 1, 8, 2).detach().requires_grad_();  // [3, 4]
  CHECK(gradcheck_report(f, {stepped, w}) == "");
  // A broadcast operand inside the function: the gradient sums over the expanded dim.
  const Tensor<double> row = leaf({1, 3, 4}, gen);
  CHECK(gradcheck_report(
            [](const Inputs& in) {
              return matmul(in[0].expand({2, 3, 4}), in[1]);
            },
            {row, w}) == "");
  const Tensor<double> x = leaf({2, 3, 4}, gen), y = leaf({2, 4, 2}, gen);
  CHECK(gradcheck_report([](const Inputs& in) { return bmm(in[0], in[1]); }, {x, y}) == "");
  CHECK(gradgradcheck_report([](const Inputs& in) { return bmm(in[0], in[1]); }, {x, y}) == "");
  CHECK(gradcheck_report([](const Inputs& in) { return mm(in[0], in[1]); }, {at, bt}) == "");
}

TEST_CASE("linalg: linear") {
  const Tensor<double> x = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor<double> w = Tensor<double>::from_vector({1, 0, 0, 0, 1, 1}, {2, 3});
  const Tensor<double> b{10, 20};
  CHECK(linear(x, w, b).to_vector() == std::vector<double>{11, 25, 14, 31});
  CHECK(linear(x, w).to_vector() == std::vector<double>{1, 5, 4, 11});
  CHECK(linear(Tensor<double>{1, 1, 1}, w, b).to_vector() == std::vector<double>{11, 22});

  Generator gen(5);
  const Tensor<double> xs = leaf({2, 3, 4}, gen), ws = leaf({5, 4}, gen), bs = leaf({5}, gen);
  auto with_bias = [](const Inputs& in) { return linear(in[0], in[1], in[2]); };
  auto without = [](const Inputs& in) { return linear(in[0], in[1]); };
  CHECK(linear(xs, ws, bs).shape() == Shape{2, 3, 5});
  CHECK(gradcheck_report(with_bias, {xs, ws, bs}) == "");
  CHECK(gradgradcheck_report(with_bias, {xs, ws, bs}) == "");
  CHECK(gradcheck_report(without, {xs, ws}) == "");
  CHECK(gradgradcheck_report(without, {xs, ws}) == "");
  CHECK(gradcheck_report(with_bias, {xs.detach(), ws, bs}) == "");
  CHECK(gradcheck_report(with_bias, {leaf({4}, gen), ws, bs}) == "");  // 1-D input
  // Non-contiguous input and a transposed weight view.
  const Tensor<double> xt = Tensor<double>::randn({4, 3}, gen).t().detach().requires_grad_();
  const Tensor<double> wt = Tensor<double>::randn({4, 5}, gen).t().detach().requires_grad_();
  CHECK(gradcheck_report(with_bias, {xt, wt, bs}) == "");
  CHECK(max_abs_diff(linear(xt, wt, bs), add(matmul(xt, wt.t()), bs)) < 1e-12);
  // float32 agrees with float64.
  const Tensor<double> big = Tensor<double>::randn({64, 96}, gen),
                       bw = Tensor<double>::randn({32, 96}, gen);
  const Tensor<double> bb = Tensor<double>::randn({32}, gen);
  const Tensor<double> yd = linear(big, bw, bb);
  CHECK(max_abs_diff(linear(big.to<float>(), bw.to<float>(), bb.to<float>()).to<double>(), yd) <
        1e-4);
  CHECK(max_abs_diff(matmul(big.to<float>(), bw.t().to<float>()).to<double>(),
                     matmul(big, bw.t())) < 1e-4);
}

TEST_CASE("linalg: complex matmul against naive loops, forward and backward") {
  Generator gen(6);
  const Tensor<cd> a = Tensor<cd>::randn({3, 4}, gen).requires_grad_();
  const Tensor<cd> b = Tensor<cd>::randn({4, 2}, gen).requires_grad_();
  const Tensor<cd> c = matmul(a, b);
  CHECK(max_abs_diff(c.detach(), naive_mm(a.detach(), b.detach())) < 1e-12);
  // PyTorch's convention: grad_a = g·bᴴ, grad_b = aᴴ·g.
  const Tensor<cd> g = Tensor<cd>::randn({3, 2}, gen);
  c.backward(g);
  CHECK(max_abs_diff(a.grad(), naive_mm(g, b.detach().t().contiguous(), false, true)) < 1e-12);
  CHECK(max_abs_diff(b.grad(), naive_mm(a.detach().t().contiguous(), g, true, false)) < 1e-12);

  // Transposed views (CblasTrans), batches and complex<float> through cgemm.
  const Tensor<cd> at = Tensor<cd>::randn({4, 3}, gen).t();
  CHECK(max_abs_diff(matmul(at, b.detach()), naive_mm(at, b.detach())) < 1e-12);
  const Tensor<cd> ab = Tensor<cd>::randn({2, 3, 4}, gen).requires_grad_();
  const Tensor<cd> cb = matmul(ab, b.detach());
  const Tensor<cd> gb = Tensor<cd>::randn({2, 3, 2}, gen);
  cb.backward(gb);
  for (int64_t i = 0; i < 2; ++i) {
    CHECK(max_abs_diff(cb.select(0, i).detach().contiguous(),
                       naive_mm(ab.detach().select(0, i), b.detach())) < 1e-12);
    CHECK(max_abs_diff(ab.grad().select(0, i).contiguous(),
                       naive_mm(gb.select(0, i), b.detach().t().contiguous(), false, true)) <
          1e-12);
  }
  // linear on complex: x·wᵀ + b (no conjugation in the forward, as in PyTorch).
  const Tensor<cd> xw = Tensor<cd>::randn({3, 4}, gen), ww = Tensor<cd>::randn({2, 4}, gen),
                   bw = Tensor<cd>::randn({2}, gen);
  CHECK(max_abs_diff(linear(xw, ww, bw), add(naive_mm(xw, ww.t().contiguous()), bw)) < 1e-12);
  CHECK(max_abs_diff(bmm(ab.detach(), Tensor<cd>::ones({2, 4, 1})), sum(ab.detach(), {2}, true)) <
        1e-12);
  using cf = std::complex<float>;
  const Tensor<cf> af = a.detach().to<cf>(), bf = b.detach().to<cf>();
  CHECK(max_abs_diff(matmul(af, bf), naive_mm(af, bf)) < 1e-5);

  // Second derivatives (create_graph) keep the conjugation. grad_a = g2·b2ᴴ, so
  // L = sum(grad_a * v) = sum_ijk g2[i,j] conj(b2[k,j]) v[i,k] depends on conj(b2) only, and
  // its gradient (PyTorch convention, dL/d conj(b2)) is sum_i g2[i,j] v[i,k] at [k,j].
  const Tensor<cd> a2 = Tensor<cd>::randn({2, 3}, gen).requires_grad_();
  const Tensor<cd> b2 = Tensor<cd>::randn({3, 2}, gen).requires_grad_();
  const Tensor<cd> g2 = Tensor<cd>::randn({2, 2}, gen);
  std::vector<Tensor<cd>> ga = grad<cd>({matmul(a2, b2)}, {a2}, {g2}, {.create_graph = true});
  const Tensor<cd> v = Tensor<cd>::randn({2, 3}, gen);
  std::vector<Tensor<cd>> gbb = grad<cd>({sum(mul(ga[0], v))}, {b2});
  Tensor<cd> expect = Tensor<cd>::zeros({3, 2});
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t j = 0; j < 2; ++j) {
      cd s = 0;
      for (int64_t i = 0; i < 2; ++i) s += g2.at({i, j}) * v.at({i, k});
      expect.at({k, j}) = s;
    }
  CHECK(max_abs_diff(gbb[0], expect) < 1e-12);
}

TEST_CASE("linalg: bad shapes throw with both shapes in the message") {
  const Tensor<double> a = Tensor<double>::zeros({2, 3}), b = Tensor<double>::zeros({4, 5});
  const std::string msg = thrown_message([&] { matmul(a, b); });
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK(msg.find("[4, 5]") != std::string::npos);
  CHECK_THROWS_AS(mm(a, b), Error);
  CHECK_THROWS_AS(matmul(Tensor<double>::zeros({}), a), Error);
  CHECK_THROWS_AS(matmul(Tensor<double>::zeros({4}), a), Error);
  const std::string batch = thrown_message([&] {
    matmul(Tensor<double>::zeros({2, 3, 4}), Tensor<double>::zeros({3, 4, 5}));
  });
  CHECK(batch.find("[2, 3, 4]") != std::string::npos);
  CHECK(batch.find("[3, 4, 5]") != std::string::npos);
  CHECK_THROWS_AS(bmm(Tensor<double>::zeros({2, 3}), Tensor<double>::zeros({3, 2})), Error);
  CHECK_THROWS_AS(bmm(Tensor<double>::zeros({2, 3, 4}), Tensor<double>::zeros({1, 4, 2})), Error);
  CHECK_THROWS_AS(mm(Tensor<double>::zeros({2, 3, 4}), Tensor<double>::zeros({4, 2})), Error);
  const std::string lin = thrown_message([&] { linear(Tensor<double>::zeros({2, 3}), b); });
  CHECK(lin.find("[2, 3]") != std::string::npos);
  CHECK(lin.find("[4, 5]") != std::string::npos);
  CHECK_THROWS_AS(linear(a, Tensor<double>::zeros({4, 3}), Tensor<double>::zeros({3})), Error);
  CHECK_THROWS_AS(linear(a, Tensor<double>::zeros({3})), Error);
}
