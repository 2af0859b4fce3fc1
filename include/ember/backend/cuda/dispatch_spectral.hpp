// Tensor-level entry points of the CUDA backend for complex tensors, FFTs, CSR sparse
// products and attention's causal mask (kernels in cuda/src/spectral.cu). Like dispatch.hpp
// these are kernels only, no autograd: the ops record their own backward rules.
//
// Complex kernels exist for complex<float> and complex<double>; the sparse and attention
// kernels for float and double. Other dtypes throw an ember::Error naming the op and dtype.
// The ops reach the complex kernels through binary_any / matmul_any, which pick the real
// (dispatch.hpp) or complex kernel at compile time, so the real paths are unchanged.
#pragma once

#include <algorithm>
#include <complex>
#include <cstdint>
#include <ember/backend/cuda/dispatch.hpp>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace ember::cuda {

template <class T>
inline constexpr bool has_complex_kernels_v =
    std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>;

// The complex unary kernels (complex_unary's op codes in api.hpp).
enum class ComplexUnaryOp : int { Neg = 0, Conj = 1, AddScalar = 2, MulScalar = 3 };

namespace detail {

template <class T>
void check_complex_dtype(const char* op) {
  if constexpr (!has_complex_kernels_v<T>)
    fail(op, ": the CUDA backend has complex kernels for complex64 and complex128 only, got ",
         dtype_name(dtype_v<T>));
}

}  // namespace detail

// ---------------------------------------------------------------- complex elementwise

// out = a (op) b for complex a, b with broadcasting (op: Add, Sub, Mul, Div).
template <class T>
Tensor<T> complex_binary(BinaryOp bop, const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  detail::check_complex_dtype<T>(op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor<T> out = Tensor<T>::empty(shape, a.device());
  if (out.numel() == 0) return out;
  if constexpr (has_complex_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    Tensor<T> ea = a.detach().expand(shape), eb = b.detach().expand(shape);
    StridedLayout l;
    if (!make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()})) {
      ea = ea.contiguous();
      eb = eb.contiguous();
      make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()});
    }
    cuda::complex_binary(bop, out.data_ptr(), ea.data_ptr(), eb.data_ptr(), l, a.device().index);
#else
    (void)bop;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// out = f(x) for complex x (Neg, Conj, x + s, x * s); a fresh contiguous output.
template <class T>
Tensor<T> complex_unary(ComplexUnaryOp uop, const Tensor<T>& x, T s, const char* op) {
  detail::check_complex_dtype<T>(op);
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  if (out.numel() == 0) return out;
  if constexpr (has_complex_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    Tensor<T> xc = x.detach();
    StridedLayout l;
    if (!make_layout(l, x.shape(), {&out.strides(), &xc.strides()})) {
      xc = xc.contiguous();
      make_layout(l, x.shape(), {&out.strides(), &xc.strides()});
    }
    cuda::complex_unary(int(uop), out.data_ptr(), xc.data_ptr(),
                        std::complex<double>(double(s.real()), double(s.imag())), l,
                        x.device().index);
#else
    (void)uop, (void)s;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// The binary kernel for T: complex (above) or real (dispatch.hpp's binary).
template <class T>
Tensor<T> binary_any(BinaryOp bop, const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  if constexpr (is_complex_v<T>)
    return cuda::complex_binary(bop, a, b, op);
  else
    return cuda::binary(bop, a, b, op);
}

// re + i im with broadcasting (torch.complex).
template <class R>
Tensor<std::complex<R>> make_complex(const Tensor<R>& re, const Tensor<R>& im) {
  using C = std::complex<R>;
  detail::check_complex_dtype<C>("complex");
  const Shape shape = broadcast_shapes(re.shape(), im.shape(), "complex");
  Tensor<C> out = Tensor<C>::empty(shape, re.device());
  if (out.numel() == 0) return out;
  if constexpr (has_complex_kernels_v<C>) {
#ifdef EMBER_WITH_CUDA
    Tensor<R> er = re.detach().expand(shape), ei = im.detach().expand(shape);
    StridedLayout l;
    if (!make_layout(l, shape, {&out.strides(), &er.strides(), &ei.strides()})) {
      er = er.contiguous();
      ei = ei.contiguous();
      make_layout(l, shape, {&out.strides(), &er.strides(), &ei.strides()});
    }
    cuda::complex_from_parts(out.data_ptr(), er.data_ptr(), ei.data_ptr(), l, re.device().index);
#else
    detail::no_cuda("complex");
#endif
  }
  return out;
}

// Sum over rdims (as dispatch.hpp's sum) for real or complex T: ops/reduce.hpp's sum calls it.
// A complex tensor is summed as its [..., 2] real view (the pair dim is never reduced), so it
// costs what a real sum does.
template <class T>
Tensor<T> sum_any(const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim) {
  if constexpr (!is_complex_v<T>) {
    return cuda::sum(x, rdims, keepdim);
  } else {
    using R = real_t<T>;
    detail::check_complex_dtype<T>("sum");
    const Tensor<T> xd = x.detach();
    auto pairs = std::make_shared<TensorImpl>();  // [..., 2] reals on the same storage
    pairs->dtype = dtype_v<R>;
    pairs->shape = xd.shape();
    pairs->shape.push_back(2);
    for (int64_t st : xd.strides()) pairs->strides.push_back(2 * st);
    pairs->strides.push_back(1);
    pairs->offset = 2 * xd.storage_offset();
    pairs->storage = xd.impl()->storage;
    const Tensor<R> s =
        cuda::sum(Tensor<R>(std::move(pairs)), rdims, keepdim);  // fresh, contiguous
    auto z = std::make_shared<TensorImpl>();                     // its [...] complex view
    z->dtype = dtype_v<T>;
    z->shape.assign(s.shape().begin(), s.shape().end() - 1);
    for (size_t d = 0; d + 1 < s.strides().size(); ++d) z->strides.push_back(s.strides()[d] / 2);
    z->offset = s.storage_offset() / 2;
    z->storage = s.impl()->storage;
    return Tensor<T>(std::move(z));
  }
}

// ---------------------------------------------------------------- complex matmul

// matmul's kernel for T (detached operands, dim >= 2, batch dims broadcast to `batch`): the
// complex GEMM (cgemm / zgemm) for complex T, dispatch.hpp's matmul otherwise.
template <class T>
Tensor<T> matmul_any(const Tensor<T>& a, const Tensor<T>& b, const Shape& batch) {
  if constexpr (!is_complex_v<T>) {
    return cuda::matmul(a, b, batch);
  } else {
    detail::check_complex_dtype<T>("matmul");
    const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
    Shape out_shape = batch;
    out_shape.push_back(m);
    out_shape.push_back(n);
    Tensor<T> out = Tensor<T>::empty(out_shape, a.device());
    if (out.numel() == 0) return out;
    if (k == 0) return out.fill_(T(0));
    if constexpr (has_complex_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
      Shape sa = batch, sb = batch;
      sa.insert(sa.end(), {m, k});
      sb.insert(sb.end(), {k, n});
      Tensor<T> ea = a.expand(sa), eb = b.expand(sb);
      GemmArgs g;
      g.m = m, g.n = n, g.k = k, g.ldc = n, g.stride_c = m * n;
      g.batch = out.numel() / (m * n);
      if (!detail::gemm_operand(ea, m, k, g.trans_a, g.lda, g.stride_a)) {
        ea = ea.contiguous();
        detail::gemm_operand(ea, m, k, g.trans_a, g.lda, g.stride_a);
      }
      if (!detail::gemm_operand(eb, k, n, g.trans_b, g.ldb, g.stride_b)) {
        eb = eb.contiguous();
        detail::gemm_operand(eb, k, n, g.trans_b, g.ldb, g.stride_b);
      }
      cuda::gemm(g, ea.data_ptr(), eb.data_ptr(), out.data_ptr(), a.device().index);
#else
      detail::no_cuda("matmul");
#endif
    }
    return out;
  }
}

// ---------------------------------------------------------------- FFT (cuFFT)

namespace detail {

// t (contiguous) itself when its data is 16-byte aligned, else an aligned copy: a view with a
// storage offset may start anywhere, and cuFFT's and cuSPARSE's kernels may load their inputs
// in vectors.
template <class T>
Tensor<T> aligned16(const Tensor<T>& t) {
  if (reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 16 == 0) return t;
  return t.clone();
}

}  // namespace detail

// The complex transform over `dims` (distinct, wrapped) of x, unnormalised, times scale: a
// fresh contiguous tensor. cuFFT transforms trailing dims of contiguous signals, so each group
// of up to three dims is permuted last (one copy unless it already is), transformed as one
// batched n-D FFT, and permuted back.
template <class C>
Tensor<C> fft_c2c(const Tensor<C>& x, const std::vector<int64_t>& dims, bool forward,
                  double scale) {
  detail::check_complex_dtype<C>("fft");
  Tensor<C> cur = x.detach();
  if (cur.numel() == 0) return cur.contiguous();
  if constexpr (has_complex_kernels_v<C>) {
#ifdef EMBER_WITH_CUDA
    if (dims.empty())
      return cuda::complex_unary(ComplexUnaryOp::MulScalar, cur, C(real_t<C>(scale)), "fft");
    const int64_t nd = cur.dim();
    for (size_t i = 0; i < dims.size(); i += 3) {
      const size_t j = std::min(dims.size(), i + 3);
      const std::vector<int64_t> group(dims.begin() + int64_t(i), dims.begin() + int64_t(j));
      std::vector<int64_t> perm;
      for (int64_t d = 0; d < nd; ++d)
        if (std::find(group.begin(), group.end(), d) == group.end()) perm.push_back(d);
      perm.insert(perm.end(), group.begin(), group.end());
      const Tensor<C> src = detail::aligned16(cur.permute(perm).contiguous());
      int64_t n[3], signal = 1;
      for (size_t g = 0; g < group.size(); ++g)
        signal *= n[g] = src.shape()[size_t(nd) - group.size() + g];
      Tensor<C> dst = Tensor<C>::empty(src.shape(), src.device());
      cuda::fft_c2c(dst.data_ptr(), src.data_ptr(), int(group.size()), n, src.numel() / signal,
                    forward, j == dims.size() ? scale : 1.0, src.device().index);
      std::vector<int64_t> inv(size_t(nd), 0);
      for (int64_t d = 0; d < nd; ++d) inv[size_t(perm[size_t(d)])] = d;
      cur = dst.permute(inv);
    }
    return cur.contiguous();
#else
    (void)dims, (void)forward, (void)scale;
    detail::no_cuda("fft");
#endif
  }
  return cur;
}

// The half spectrum of the real, contiguous x over its last `rank` dims (1 or 2), times scale:
// [..., n_last / 2 + 1].
template <class R>
Tensor<std::complex<R>> fft_r2c(const Tensor<R>& x, int rank, double scale) {
  using C = std::complex<R>;
  detail::check_complex_dtype<C>("rfft");
  Shape os = x.shape();
  const int64_t last = os.back();
  os.back() = last / 2 + 1;
  Tensor<C> out = Tensor<C>::empty(os, x.device());
  if (out.numel() == 0 || x.numel() == 0) return out;
  if constexpr (has_complex_kernels_v<C>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<R> src = detail::aligned16(x.detach().contiguous());
    int64_t n[3], signal = 1;
    for (int g = 0; g < rank; ++g) signal *= n[g] = src.shape()[size_t(src.dim() - rank + g)];
    cuda::fft_r2c(out.data_ptr(), src.data_ptr(), rank, n, src.numel() / signal, scale,
                  x.device().index);
#else
    (void)rank, (void)scale;
    detail::no_cuda("rfft");
#endif
  }
  return out;
}

// The real signal of `n_last` points from the contiguous half spectrum X [..., n_last / 2 + 1]
// along its last dim (rank 1), times scale; X is left intact.
template <class C>
Tensor<real_t<C>> fft_c2r(const Tensor<C>& X, int64_t n_last, double scale) {
  using R = real_t<C>;
  detail::check_complex_dtype<C>("irfft");
  Shape os = X.shape();
  os.back() = n_last;
  Tensor<R> out = Tensor<R>::empty(os, X.device());
  if (out.numel() == 0) return out;
  if constexpr (has_complex_kernels_v<C>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<C> src = X.detach().contiguous();
    const int64_t n[1] = {n_last};
    cuda::fft_c2r(out.data_ptr(), src.data_ptr(), 1, n, out.numel() / n_last, scale,
                  X.device().index);
#else
    (void)scale;
    detail::no_cuda("irfft");
#endif
  }
  return out;
}

// ---------------------------------------------------------------- attention

// out (a contiguous [..., L, S] clone, on the device) = value where j > i + diagonal.
template <class T>
void fill_above_diagonal(Tensor<T>& out, int64_t diagonal, T value) {
  detail::check_dtype<T>("fill_above_diagonal");
  const int64_t L = out.size(-2), S = out.size(-1);
  const int64_t B = L * S == 0 ? 0 : out.numel() / (L * S);
  if (B == 0) return;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    cuda::fill_above_diagonal(out.data_ptr(), B, L, S, diagonal, value, out.device().index);
#else
    (void)diagonal, (void)value;
    detail::no_cuda("fill_above_diagonal");
#endif
  }
}

// ---------------------------------------------------------------- sparse (CSR)

// out [rows, H * C] = A · x for A's index arrays on x's device (rp, ci), values [nnz, H] and
// x [cols, H * C], all contiguous. out_shape is x's shape with rows first.
template <class T, class I>
Tensor<T> spmm_csr(const Tensor<I>& rp, const Tensor<I>& ci, const Tensor<T>& values,
                   const Tensor<T>& x, int64_t rows, int64_t H, int64_t C, Shape out_shape) {
  const int64_t cols = x.dim() == 0 ? 0 : x.size(0), nnz = ci.numel();
  detail::check_dtype<T>("spmm");
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> va = detail::aligned16(values), xa = detail::aligned16(x);  // for cuSPARSE
    cuda::spmm_csr(out.data_ptr(), rp.data_ptr(), ci.data_ptr(), va.data_ptr(), xa.data_ptr(), rows,
                   cols, nnz, H, C, x.device().index);
#else
    (void)rp, (void)ci, (void)values, (void)rows, (void)H, (void)C, (void)cols, (void)nnz;
    detail::no_cuda("spmm");
#endif
  }
  return out;
}

// out [nnz] or [nnz, H] (out_shape) = <p[r_k], q[c_k]> per head, all contiguous on the device.
template <class T, class I>
Tensor<T> sddmm_csr(const Tensor<I>& rp, const Tensor<I>& ci, const Tensor<T>& p,
                    const Tensor<T>& q, int64_t rows, int64_t H, int64_t C, Shape out_shape) {
  detail::check_dtype<T>("sddmm");
  Tensor<T> out = Tensor<T>::empty(out_shape, p.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    cuda::sddmm_csr(out.data_ptr(), rp.data_ptr(), ci.data_ptr(), p.data_ptr(), q.data_ptr(), rows,
                    H, C, p.device().index);
#else
    (void)rp, (void)ci, (void)q, (void)rows, (void)H, (void)C;
    detail::no_cuda("sddmm");
#endif
  }
  return out;
}

// Softmax of the contiguous src [E, H...] over segments of rp (int64, on src's device).
template <class T>
Tensor<T> segment_softmax_forward(const Tensor<T>& src, const Tensor<int64_t>& rp) {
  detail::check_dtype<T>("segment_softmax");
  Tensor<T> out = Tensor<T>::empty(src.shape(), src.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    cuda::segment_softmax_forward(out.data_ptr(), src.data_ptr(), rp.data_ptr(), rp.numel() - 1,
                                  src.numel() / src.size(0), src.device().index);
#else
    (void)rp;
    detail::no_cuda("segment_softmax");
#endif
  }
  return out;
}

// Its gradient from g and the output y (contiguous, same shape).
template <class T>
Tensor<T> segment_softmax_backward(const Tensor<T>& g, const Tensor<T>& y,
                                   const Tensor<int64_t>& rp) {
  detail::check_dtype<T>("segment_softmax_backward");
  Tensor<T> gx = Tensor<T>::empty(y.shape(), y.device());
  if (gx.numel() == 0) return gx;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> gc = g.contiguous();
    cuda::segment_softmax_backward(gx.data_ptr(), gc.data_ptr(), y.data_ptr(), rp.data_ptr(),
                                   rp.numel() - 1, y.numel() / y.size(0), y.device().index);
#else
    (void)g, (void)rp;
    detail::no_cuda("segment_softmax_backward");
#endif
  }
  return gx;
}

// out[k, ...] = v[perm[k], ...] (perm int64 on v's device, v contiguous [n, ...]).
template <class T>
Tensor<T> gather_rows(const Tensor<T>& v, const Tensor<int64_t>& perm) {
  detail::check_dtype<T>("gather_rows");
  Shape s = v.shape();
  s[0] = perm.numel();
  Tensor<T> out = Tensor<T>::empty(s, v.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    cuda::gather_rows(out.data_ptr(), v.data_ptr(), perm.data_ptr(), perm.numel(),
                      out.numel() / perm.numel(), v.device().index);
#else
    detail::no_cuda("gather_rows");
#endif
  }
  return out;
}

}  // namespace ember::cuda
