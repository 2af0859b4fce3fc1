// Agreement suites of the spectral family (every torch.fft transform through cuFFT, forward and
// backward), complex tensors (elementwise ops, complex(), real / imag, cgemm / zgemm matmul,
// the FNO spectral convolutions), CSR sparse products (spmm, sddmm, transpose, edge_softmax)
// and scaled_dot_product_attention. Included by test_cuda_agreement.cpp after its helpers
// (check_agreement, randn, positive, rel_error, tolerance, kGpu, Fn).
//
// check_agreement compares real tensors: complex inputs enter as real [..., 2] leaves through
// view_as_complex, complex outputs leave through view_as_real, so both parts and the complex
// gradients (PyTorch's convention) are compared.
//
// Tolerances: the default everywhere (1e-5 relative in float32, 1e-10 in float64).
//  - FFTs: cuFFT's and the CPU's float errors grow like O(eps log n) relative to the norm;
//    at n <= 4096 both stay below ~1e-6, so 1e-5 holds (the 4096-point test checks it).
//    float64: ~1e-15 log n, far below 1e-10.
//  - complex division: Smith's algorithm on the GPU vs libgcc's __divsc3: a few ulps.
//  - spmm / sddmm / segment softmax: deterministic kernels summing in entry order; only the
//    CPU's two-at-a-time unrolling and FMA contraction differ (a few ulps).
#pragma once

#include <complex>
#include <cstdint>
#include <memory>
#include <vector>

#include <ember/nn/spectral.hpp>
#include <ember/ops/attention.hpp>
#include <ember/ops/complex.hpp>
#include <ember/ops/fft.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/sparse.hpp>
#include <ember/sparse/csr.hpp>

namespace {

template <class T>
Tensor<std::complex<T>> as_complex(const Tensor<T>& t) {
  return view_as_complex(t);
}
template <class C>
Tensor<real_t<C>> as_real(const Tensor<C>& z) {
  return view_as_real(z);
}

template <class T>
void fft_suite() {
  using V = std::vector<Tensor<T>>;
  using Dims = std::vector<int64_t>;
  check_agreement<T>("fft last dim", [](const V& x) { return as_real(fft(x[0])); },
                     {randn<T>({4, 3, 16}, 101)});
  check_agreement<T>("fft dim 0, zero-padded (n > size)",
                     [](const V& x) { return as_real(fft(x[0], 8, 0)); }, {randn<T>({5, 6}, 102)});
  check_agreement<T>("fft trimmed, ortho (string norm)",
                     [](const V& x) { return as_real(fft(x[0], 10, -1, "ortho")); },
                     {randn<T>({3, 16}, 103)});
  check_agreement<T>(
      "ifft of a complex input, middle dim, forward norm",
      [](const V& x) { return as_real(ifft(as_complex(x[0]), std::nullopt, 1, FftNorm::Forward)); },
      {randn<T>({4, 6, 5, 2}, 104)});
  check_agreement<T>("fft of a transpose", [](const V& x) { return as_real(fft(x[0].t(), 7)); },
                     {randn<T>({9, 4}, 105)});
  check_agreement<T>("fft 4096 points (float error ~ log n)",
                     [](const V& x) { return as_real(fft(x[0])); }, {randn<T>({2, 4096}, 106)});
  check_agreement<T>("rfft", [](const V& x) { return as_real(rfft(x[0])); },
                     {randn<T>({3, 20}, 107)});
  check_agreement<T>("rfft dim 0, odd n, of a transpose",
                     [](const V& x) { return as_real(rfft(x[0].t(), 9, 0)); },
                     {randn<T>({4, 9}, 108)});
  check_agreement<T>("irfft (n = 2 (m - 1))", [](const V& x) { return irfft(as_complex(x[0])); },
                     {randn<T>({3, 11, 2}, 109)});
  check_agreement<T>("irfft odd n, dim 0, ortho",
                     [](const V& x) { return irfft(as_complex(x[0]), 21, 0, FftNorm::Ortho); },
                     {randn<T>({11, 3, 2}, 110)});
  check_agreement<T>("fft2 of a permuted input",
                     [](const V& x) { return as_real(fft2(x[0].transpose(0, 2))); },
                     {randn<T>({6, 3, 5}, 111)});
  check_agreement<T>("ifft2 with s",
                     [](const V& x) {
                       return as_real(ifft2(as_complex(x[0]), Dims{6, 4}));
                     },
                     {randn<T>({2, 5, 5, 2}, 112)});
  check_agreement<T>("rfft2 (one 2-D R2C)", [](const V& x) { return as_real(rfft2(x[0])); },
                     {randn<T>({2, 3, 8, 10}, 113)});
  check_agreement<T>("rfft2 with odd s, forward norm",
                     [](const V& x) {
                       return as_real(rfft2(x[0], Dims{7, 9}, Dims{-2, -1}, FftNorm::Forward));
                     },
                     {randn<T>({2, 8, 8}, 114)});
  check_agreement<T>("irfft2", [](const V& x) { return irfft2(as_complex(x[0])); },
                     {randn<T>({2, 8, 6, 2}, 115)});
  check_agreement<T>("irfft2 with odd s",
                     [](const V& x) {
                       return irfft2(as_complex(x[0]), Dims{8, 9});
                     },
                     {randn<T>({2, 8, 5, 2}, 116)});
  check_agreement<T>("fftn over 3 dims", [](const V& x) { return as_real(fftn(x[0])); },
                     {randn<T>({3, 4, 5}, 117)});
  check_agreement<T>("fftn over 4 dims (two cuFFT passes)",
                     [](const V& x) { return as_real(fftn(x[0])); }, {randn<T>({2, 3, 4, 5}, 118)});
  check_agreement<T>("ifftn over dims {2, 0}",
                     [](const V& x) {
                       return as_real(ifftn(as_complex(x[0]), std::nullopt, Dims{2, 0}));
                     },
                     {randn<T>({4, 3, 6, 2}, 119)});
  check_agreement<T>("rfftn over dims {0, 2}",
                     [](const V& x) {
                       return as_real(rfftn(x[0], std::nullopt, Dims{0, 2}));
                     },
                     {randn<T>({4, 3, 6}, 120)});
  check_agreement<T>("irfftn over dims {0, 1}",
                     [](const V& x) {
                       return irfftn(as_complex(x[0]), std::nullopt, Dims{0, 1});
                     },
                     {randn<T>({4, 5, 3, 2}, 121)});
}

template <class T>
void complex_suite() {
  using C = std::complex<T>;
  using V = std::vector<Tensor<T>>;
  const auto a = randn<T>({4, 3, 2}, 131), b = randn<T>({4, 3, 2}, 132);
  const auto pos = positive<T>({4, 3, 2}, 134);
  check_agreement<T>("complex add",
                     [](const V& x) { return as_real(add(as_complex(x[0]), as_complex(x[1]))); },
                     {a, b});
  check_agreement<T>(
      "complex mul of transposes",
      [](const V& x) { return as_real(mul(as_complex(x[0]).t(), as_complex(x[1]).t())); }, {a, b});
  check_agreement<T>("complex div",
                     [](const V& x) { return as_real(div(as_complex(x[0]), as_complex(x[1]))); },
                     {a, pos});
  check_agreement<T>("complex sub, neg, conj and scalars",
                     [](const V& x) {
                       const auto z = mul(as_complex(x[0]), C(T(0.5), T(-2)));
                       return as_real(neg(conj(sub(z, add(as_complex(x[1]), C(T(1), T(1)))))));
                     },
                     {a, b});
  check_agreement<T>("complex(re, im) broadcast, then real and imag",
                     [](const V& x) {
                       const auto z = mul(complex(x[0], x[1]), complex(x[1], x[0]));
                       return add(real(z), mul(imag(z), T(3)));
                     },
                     {randn<T>({4, 3}, 135), randn<T>({3}, 136)});
  check_agreement<T>("complex matmul (cgemm / zgemm) broadcast batch",
                     [](const V& x) { return as_real(matmul(as_complex(x[0]), as_complex(x[1]))); },
                     {randn<T>({3, 4, 5, 2}, 137), randn<T>({5, 6, 2}, 138)});
  check_agreement<T>(
      "complex matmul of a transposed operand",
      [](const V& x) { return as_real(matmul(as_complex(x[0]), as_complex(x[1]).mT())); },
      {randn<T>({2, 4, 5, 2}, 139), randn<T>({2, 6, 5, 2}, 140)});
  check_agreement<T>("spectral_conv2d (FNO)",
                     [](const V& x) {
                       return nn::functional::spectral_conv2d(x[0], as_complex(x[1]),
                                                              as_complex(x[2]));
                     },
                     {randn<T>({2, 3, 8, 8}, 141), randn<T>({3, 4, 2, 3, 2}, 142),
                      randn<T>({3, 4, 2, 3, 2}, 143)});
  check_agreement<T>(
      "spectral_conv1d (FNO)",
      [](const V& x) { return nn::functional::spectral_conv1d(x[0], as_complex(x[1])); },
      {randn<T>({2, 3, 16}, 144), randn<T>({3, 4, 5, 2}, 145)});
  // Broadcast complex operands: their backward sums complex gradients (backend::sum).
  check_agreement<T>(
      "complex mul broadcast",
      [](const V& x) { return as_real(mul(as_complex(x[0]), as_complex(x[1]))); },
      {randn<T>({4, 3, 2}, 147), randn<T>({3, 2}, 148)});
}

// backend::sum of complex tensors (sums through the real view), checked directly and through
// sum.
template <class T>
void complex_sum_check() {
  const Tensor<std::complex<T>> z = as_complex(randn<T>({4, 3, 5, 2}, 146));
  const auto zt = z.transpose(0, 2);  // non-contiguous
  const auto want = sum(zt, {0, 2}), got = backend::sum(zt.to(kGpu), {0, 2}, false, "sum");
  REQUIRE(got.device() == kGpu);
  CHECK(rel_error(as_real(got), as_real(want)) <= tolerance<T>());
  const auto want_k = sum(z, {1}, true), got_k = backend::sum(z.to(kGpu), {1}, true, "sum");
  CHECK(rel_error(as_real(got_k), as_real(want_k)) <= tolerance<T>());
  CHECK(rel_error(as_real(sum(zt.to(kGpu), {0, 2})), as_real(want)) <= tolerance<T>());
}

template <class T>
void attention_suite() {
  using V = std::vector<Tensor<T>>;
  const auto q = randn<T>({2, 3, 5, 4}, 151), k = randn<T>({2, 3, 6, 4}, 152);
  const auto v = randn<T>({2, 3, 6, 3}, 153), ks = randn<T>({2, 3, 5, 4}, 154);
  const auto vs = randn<T>({2, 3, 5, 3}, 155), mask = randn<T>({5, 6}, 156);
  check_agreement<T>(
      "sdpa", [](const V& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }, {q, k, v});
  check_agreement<T>("sdpa causal",
                     [](const V& x) {
                       SdpaOptions<T> o;
                       o.is_causal = true;
                       return scaled_dot_product_attention(x[0], x[1], x[2], o);
                     },
                     {q, ks, vs});
  check_agreement<T>("sdpa additive mask, explicit scale",
                     [](const V& x) {
                       SdpaOptions<T> o;
                       o.attn_mask = x[3];
                       o.scale = 0.3;
                       return scaled_dot_product_attention(x[0], x[1], x[2], o);
                     },
                     {q, k, v, mask});
  check_agreement<T>("fill_above_diagonal, diagonal 1 and -1",
                     [](const V& x) {
                       return add(detail::fill_above_diagonal(x[0], T(3.5), 1),
                                  detail::fill_above_diagonal(x[0].transpose(1, 2), T(-2), -1));
                     },
                     {randn<T>({3, 6, 6}, 157)});
}

// A [9, 7] pattern with ~35% of the entries, row 4 empty.
template <class T, class I>
std::shared_ptr<const sparse::CsrPattern<I>> test_pattern() {
  Generator gen(161);
  Tensor<T> dense = Tensor<T>::rand({9, 7}, gen);
  T* d = dense.data_ptr();
  for (int64_t i = 0; i < dense.numel(); ++i) d[i] = (d[i] < T(0.35) && i / 7 != 4) ? T(1) : T(0);
  return sparse::CsrMatrix<T, I>::from_dense(dense).pattern();
}

// A [6, 6] pattern with some diagonal entries present and some missing (gcn_normalize).
template <class T, class I>
std::shared_ptr<const sparse::CsrPattern<I>> test_square_pattern() {
  Generator gen(162);
  Tensor<T> dense = Tensor<T>::rand({6, 6}, gen);
  T* d = dense.data_ptr();
  for (int64_t i = 0; i < dense.numel(); ++i) d[i] = d[i] < T(0.4) ? T(1) : T(0);
  return sparse::CsrMatrix<T, I>::from_dense(dense).pattern();
}

template <class T, class I>
void sparse_suite() {
  using V = std::vector<Tensor<T>>;
  using M = sparse::CsrMatrix<T, I>;
  const auto pat = test_pattern<T, I>();
  const int64_t nnz = pat->nnz();
  REQUIRE(nnz > 0);
  check_agreement<T>("spmm", [pat](const V& x) { return spmm(M(pat, x[0]), x[1]); },
                     {randn<T>({nnz}, 162), randn<T>({7, 5}, 163)});
  check_agreement<T>("spmm of a transposed X, wide features",
                     [pat](const V& x) { return spmm(M(pat, x[0]), x[1].t()); },
                     {randn<T>({nnz}, 164), randn<T>({300, 7}, 165)});
  check_agreement<T>("spmm multi-head", [pat](const V& x) { return spmm(M(pat, x[0]), x[1]); },
                     {randn<T>({nnz, 3}, 166), randn<T>({7, 3, 4}, 167)});
  check_agreement<T>("spmm of the transpose (gathered values)",
                     [pat](const V& x) { return spmm(M(pat, x[0]).transpose(), x[1]); },
                     {randn<T>({nnz}, 168), randn<T>({9, 5}, 169)});
  check_agreement<T>("sddmm",
                     [pat](const V& x) {
                       return sddmm(M(pat, Tensor<T>::ones({pat->nnz()}, x[0].device())), x[0],
                                    x[1]);
                     },
                     {randn<T>({9, 5}, 170), randn<T>({7, 5}, 171)});
  check_agreement<T>("sddmm multi-head, 40 channels",
                     [pat](const V& x) {
                       return sddmm(M(pat, Tensor<T>::ones({pat->nnz()}, x[0].device())), x[0],
                                    x[1]);
                     },
                     {randn<T>({9, 2, 40}, 172), randn<T>({7, 2, 40}, 173)});
  check_agreement<T>("edge_softmax", [pat](const V& x) { return edge_softmax(M(pat, x[0])); },
                     {randn<T>({nnz}, 174)});
  check_agreement<T>("edge_softmax of scores [nnz, 2]",
                     [pat](const V& x) {
                       return edge_softmax(M(pat, Tensor<T>::ones({pat->nnz()}, x[0].device())),
                                           x[0]);
                     },
                     {randn<T>({nnz, 2}, 175)});
  check_agreement<T>("graph attention: sddmm, edge_softmax, spmm",
                     [pat](const V& x) {
                       const M a(pat, Tensor<T>::ones({pat->nnz()}, x[0].device()));
                       return spmm(a.with_values(edge_softmax(a, sddmm(a, x[0], x[1]))), x[1]);
                     },
                     {randn<T>({9, 7}, 176), randn<T>({7, 7}, 177)});
  // Matrix helpers with CUDA values (the pattern stays on the host).
  check_agreement<T>("CsrMatrix::to_dense", [pat](const V& x) { return M(pat, x[0]).to_dense(); },
                     {randn<T>({nnz}, 180)});
  check_agreement<T>("CsrMatrix::row_normalize (row 4 empty)",
                     [pat](const V& x) { return M(pat, x[0]).row_normalize().values(); },
                     {positive<T>({nnz}, 181)});
  {
    const auto sq = test_square_pattern<T, I>();
    check_agreement<T>("CsrMatrix::gcn_normalize",
                       [sq](const V& x) { return M(sq, x[0]).gcn_normalize().values(); },
                       {positive<T>({sq->nnz()}, 182)});
  }
  {  // second derivative of segment_softmax (the composite rule under create_graph)
    const auto rp = Tensor<int64_t>::from_vector({0, 3, 3, 7, 12}, {5});
    const auto x0 = randn<T>({12, 2}, 178), w = randn<T>({12, 2}, 179);
    auto second = [&](const Device& d) {
      auto x = x0.to(d).requires_grad_();
      const auto y = sum(mul(segment_softmax(x, rp.to(d)), w.to(d)));
      const auto gx = grad<T>({y}, {x}, {}, {.create_graph = true})[0];
      return grad<T>({sum(mul(gx, gx))}, {x})[0];
    };
    CHECK(rel_error(second(kGpu), second(Device::cpu())) <= tolerance<T>());
  }
}

}  // namespace

TEST_CASE("cuda: FFTs (cuFFT) agree with the CPU") {
  fft_suite<float>();
  fft_suite<double>();
}

TEST_CASE("cuda: complex ops, complex matmul and FNO spectral convolutions agree with the CPU") {
  complex_suite<float>();
  complex_suite<double>();
  complex_sum_check<float>();
  complex_sum_check<double>();
}

TEST_CASE("cuda: scaled_dot_product_attention agrees with the CPU") {
  attention_suite<float>();
  attention_suite<double>();
}

TEST_CASE("cuda: CSR spmm, sddmm and edge_softmax agree with the CPU") {
  sparse_suite<float, int64_t>();
  sparse_suite<double, int64_t>();
  sparse_suite<float, int32_t>();
}
