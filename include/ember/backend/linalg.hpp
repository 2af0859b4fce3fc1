// Matrix products of ops/linalg.hpp on the operands' device: batched matmul with broadcast
// batch dims, and linear's GEMM with its bias. OpenBLAS on the CPU (backend/cpu/linalg.hpp),
// cuBLAS on CUDA: the gemm launcher (declared in backend/cuda/api.hpp with GemmArgs, as the
// convolutions use it too; defined in cuda/ember/cuda/linalg.cuh), cgemm / zgemm for complex
// tensors. Strided operands are handed to BLAS without a copy where their layout allows it.
// Kernels only; the ops record the rules.
#pragma once

#include <algorithm>
#include <cstdint>

#include <ember/backend/cpu/linalg.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember::backend {

// The element types cuBLAS multiplies: float, double and their complex types.
template <class T>
inline constexpr bool cuda_gemm_v = cuda_built && cpu::is_blas_type_v<T>;

namespace detail {

// How cuBLAS can read a stack of matrices [batch..., r, c] expanded to `batch`: transposed or
// not, leading dim, and one stride between batch entries. False when it cannot (then the
// caller passes a contiguous copy).
template <class T>
bool gemm_operand(const Tensor<T>& t, int64_t r, int64_t c, bool& trans, int64_t& ld,
                  int64_t& batch_stride) {
  // The stride of a size-1 dim is never used, so it is free: a [1, 1] matrix broadcast from a
  // 0-d tensor (both strides 0) is a valid operand with the smallest leading dim cuBLAS takes.
  const int64_t s0 = t.stride(-2), s1 = t.stride(-1);
  const bool one_row = r == 1, one_col = c == 1;
  if ((one_col || s1 == 1) && (one_row || s0 >= std::max<int64_t>(1, c)))
    trans = false, ld = one_row ? std::max<int64_t>(1, c) : s0;
  else if ((one_row || s0 == 1) && (one_col || s1 >= std::max<int64_t>(1, r)))
    trans = true, ld = one_col ? std::max<int64_t>(1, r) : s1;
  else
    return false;
  // The batch dims must collapse to one stride (or all be broadcast).
  batch_stride = 0;
  int64_t expect = -1;
  for (int64_t d = t.dim() - 3; d >= 0; --d) {
    const int64_t size = t.shape()[size_t(d)], st = t.stride(d);
    if (size == 1) continue;
    if (expect < 0) {
      batch_stride = st;
      expect = st * size;
    } else if (st == expect) {
      expect *= size;
    } else {
      return false;
    }
  }
  if (batch_stride == 0 && expect > 0) {  // all broadcast: stride 0 everywhere
    for (int64_t d = 0; d < t.dim() - 2; ++d)
      if (t.shape()[size_t(d)] != 1 && t.stride(d) != 0) return false;
  }
  return true;
}

// c [batch, m, n] (contiguous, written with beta) = a [batch..., m, k] · b [batch..., k, n], the
// operands already expanded to the batch; copied contiguous where cuBLAS cannot read them.
template <class T>
void gemm_cuda(Tensor<T> a, Tensor<T> b, Tensor<T>& c, int64_t batch, double beta) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  cuda::GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.ldc = n, g.stride_c = m * n;
  g.batch = batch, g.beta = beta;
  if (!gemm_operand(a, m, k, g.trans_a, g.lda, g.stride_a)) {
    a = a.contiguous();
    EMBER_CHECK(gemm_operand(a, m, k, g.trans_a, g.lda, g.stride_a),
                "matmul: no cuBLAS layout for operand a of shape ", shape_str(a.shape()));
  }
  if (!gemm_operand(b, k, n, g.trans_b, g.ldb, g.stride_b)) {
    b = b.contiguous();
    EMBER_CHECK(gemm_operand(b, k, n, g.trans_b, g.ldb, g.stride_b),
                "matmul: no cuBLAS layout for operand b of shape ", shape_str(b.shape()));
  }
  cuda::gemm(g, a.data_ptr(), b.data_ptr(), c.data_ptr(), c.device().index);
}

}  // namespace detail

// out[batch..., m, n] = a[..., m, k] · b[..., k, n], batch dims broadcast to `batch`
// (operands of dim >= 2, shapes checked by the caller); a fresh contiguous tensor.
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, const Shape& batch, const char* name) {
  if (on_cuda(name, a, b)) {
    if constexpr (cuda_gemm_v<T>) {
      const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
      Shape out_shape = batch, sa = batch, sb = batch;
      out_shape.insert(out_shape.end(), {m, n});
      sa.insert(sa.end(), {m, k});
      sb.insert(sb.end(), {k, n});
      Tensor<T> out = Tensor<T>::empty(out_shape, a.device());
      if (out.numel() == 0) return out;
      if (k == 0) return out.fill_(T(0));
      detail::gemm_cuda(a.detach().expand(sa), b.detach().expand(sb), out,
                        out.numel() / (m * n), 0.0);
      return out;
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::matmul(a.detach(), b.detach(), batch);
}

// out [rows, out_f] = x [rows, in] · weight [out_f, in]ᵀ (+ bias [out_f] when defined; shapes
// checked by the caller). One GEMM: the bias is written into the output first and the GEMM
// accumulates onto it (beta = 1).
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias,
                 const char* name) {
  if (on_cuda(name, x, weight, bias)) {
    if constexpr (cuda_gemm_v<T>) {
      const int64_t rows = x.size(0), in = x.size(1), out_f = weight.size(0);
      Tensor<T> out = Tensor<T>::empty({rows, out_f}, x.device());
      if (out.numel() == 0) return out;
      if (bias.defined())
        out.copy_(bias.detach());  // broadcast over the rows
      else if (in == 0)
        out.fill_(T(0));
      if (in > 0)
        detail::gemm_cuda(x.detach(), weight.detach().t(), out, 1, bias.defined() ? 1.0 : 0.0);
      return out;
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::linear(x.detach(), weight.detach(), bias.defined() ? bias.detach() : bias);
}

}  // namespace ember::backend
