// Matrix products on the CPU through cpu::gemm (OpenBLAS, backend/cpu/blas.hpp): batched
// matmul with broadcast batch dims, and linear's GEMM with its bias.
//
// Transpose views are passed to BLAS as transposed operands, so a backward pass that
// multiplies by b.mT() copies nothing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ember/backend/cpu/blas.hpp>
#include <ember/backend/cpu/parallel.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember::cpu {

// t itself when BLAS can read its last two dims in place, else a contiguous copy.
template <class T>
Tensor<T> blas_ready(const Tensor<T>& t) {
  if (blas_operand(t.size(-2), t.size(-1), t.stride(-2), t.stride(-1)).ok) return t;
  return t.contiguous();
}

// out[batch..., m, n] = a[..., m, k] · b[..., k, n] with the batch dims broadcast to `batch`
// (detached operands of dim >= 2, shapes checked by the caller).
template <class T>
Tensor<T> matmul(Tensor<T> a, Tensor<T> b, const Shape& batch) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor<T> out = Tensor<T>::empty(out_shape, a.device());
  if (out.numel() == 0) return out;
  T* c = out.data_ptr();
  if (k == 0) {
    std::fill_n(c, out.numel(), T(0));
    return out;
  }
  a = blas_ready(a);
  b = blas_ready(b);

  // One b for every batch and a's rows evenly spaced: a single GEMM with batch*m rows (the
  // common [batch, seq, in] · [in, out] case). OpenBLAS threads it better than a loop.
  if (b.dim() == 2 && a.dim() > 2) {
    const int64_t rows = a.numel() / k;
    if (auto st = ember::detail::view_strides(a.shape(), a.strides(), {rows, k})) {
      const BlasOperand oa = blas_operand(rows, k, (*st)[0], (*st)[1]);
      const BlasOperand ob = blas_operand(k, n, b.stride(0), b.stride(1));
      if (oa.ok && !oa.trans) {
        gemm<T>(false, ob.trans, rows, n, k, T(1), a.data_ptr(), oa.ld, b.data_ptr(), ob.ld, T(0),
                c, n);
        return out;
      }
    }
  }

  Shape sa = batch, sb = batch;
  sa.insert(sa.end(), {m, k});
  sb.insert(sb.end(), {k, n});
  const Tensor<T> ea = a.expand(sa), eb = b.expand(sb);  // batch strides may be 0
  const BlasOperand oa = blas_operand(m, k, ea.stride(-2), ea.stride(-1));
  const BlasOperand ob = blas_operand(k, n, eb.stride(-2), eb.stride(-1));
  const int64_t nb = int64_t(batch.size());
  int64_t count = 1;
  for (int64_t s : batch) count *= s;
  std::vector<int64_t> index(size_t(nb), 0);
  int64_t off_a = 0, off_b = 0;
  for (int64_t i = 0; i < count; ++i) {
    gemm<T>(oa.trans, ob.trans, m, n, k, T(1), ea.data_ptr() + off_a, oa.ld,
            eb.data_ptr() + off_b, ob.ld, T(0), c + i * m * n, n);
    for (int64_t d = nb - 1; d >= 0; --d) {  // next batch index (row-major)
      ++index[d];
      off_a += ea.stride(d);
      off_b += eb.stride(d);
      if (index[d] < batch[d]) break;
      off_a -= index[d] * ea.stride(d);
      off_b -= index[d] * eb.stride(d);
      index[d] = 0;
    }
  }
  return out;
}

// out [rows, out_f] = x [rows, in] · weight [out_f, in]ᵀ (+ bias [out_f] when defined), all
// detached. One GEMM: the bias is written into the output first and the GEMM accumulates onto
// it (beta = 1).
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
  const int64_t rows = x.size(0), in = x.size(1), out_f = weight.size(0);
  const Tensor<T> xf = blas_ready(x);
  Tensor<T> out = Tensor<T>::empty({rows, out_f}, x.device());
  T* c = out.data_ptr();
  if (bias.defined()) {
    const Tensor<T> bc = bias.contiguous();
    const T* bp = bc.data_ptr();
    parallel_for(rows, rows * out_f, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        std::memcpy(c + r * out_f, bp, size_t(out_f) * sizeof(T));
    });
  } else if (in == 0) {
    std::fill_n(c, out.numel(), T(0));
  }
  if (in > 0 && rows > 0 && out_f > 0) {
    const Tensor<T> w2 = blas_ready(weight.t());
    const BlasOperand ox = blas_operand(rows, in, xf.stride(0), xf.stride(1));
    const BlasOperand ow = blas_operand(in, out_f, w2.stride(0), w2.stride(1));
    gemm<T>(ox.trans, ow.trans, rows, out_f, in, T(1), xf.data_ptr(), ox.ld, w2.data_ptr(), ow.ld,
            bias.defined() ? T(1) : T(0), c, out_f);
  }
  return out;
}

}  // namespace ember::cpu
