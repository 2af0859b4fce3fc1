// Matrix products: matmul (PyTorch semantics, batch broadcasting), bmm, mm and linear.
//
// Every product runs through cpu::gemm (OpenBLAS). Transpose views are passed to BLAS as
// transposed operands, so a backward pass that multiplies by b.mT() copies nothing.
//
// Gradients (complex: PyTorch's conjugate convention): for out = a·b,
//   grad_a = g·bᴴ,  grad_b = aᴴ·g,
// each reduced with sum_to over the batch dims it was broadcast along, and skipped for an
// input that does not require grad. Rules use matmul itself, so second derivatives work.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include <ember/backend/cpu/blas.hpp>
#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cuda/dispatch.hpp>
#include <ember/backend/cuda/dispatch_spectral.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>

namespace ember {

namespace detail {

// The product of all but the last dim: the row count of a [..., k] tensor seen as 2-D
// (reshape({-1, k}) cannot infer it when k is 0).
inline int64_t leading_numel(const Shape& s) {
  int64_t n = 1;
  for (size_t i = 0; i + 1 < s.size(); ++i) n *= s[i];
  return n;
}

// t itself when BLAS can read its last two dims in place, else a contiguous copy.
template <class T>
Tensor<T> blas_ready(const Tensor<T>& t) {
  if (cpu::blas_operand(t.size(-2), t.size(-1), t.stride(-2), t.stride(-1)).ok) return t;
  return t.contiguous();
}

// out[batch..., m, n] = a[..., m, k] · b[..., k, n] with the batch dims broadcast to `batch`.
// No graph: callers pass detached tensors of dim >= 2 whose shapes were already checked.
template <class T>
Tensor<T> matmul_kernel(Tensor<T> a, Tensor<T> b, const Shape& batch) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  if (a.device().is_cuda()) return cuda::matmul_any(a, b, batch);  // cuBLAS (complex: cgemm)
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
    if (auto st = view_strides(a.shape(), a.strides(), {rows, k})) {
      const cpu::BlasOperand oa = cpu::blas_operand(rows, k, (*st)[0], (*st)[1]);
      const cpu::BlasOperand ob = cpu::blas_operand(k, n, b.stride(0), b.stride(1));
      if (oa.ok && !oa.trans) {
        cpu::gemm<T>(false, ob.trans, rows, n, k, T(1), a.data_ptr(), oa.ld, b.data_ptr(), ob.ld,
                     T(0), c, n);
        return out;
      }
    }
  }

  Shape sa = batch, sb = batch;
  sa.insert(sa.end(), {m, k});
  sb.insert(sb.end(), {k, n});
  const Tensor<T> ea = a.expand(sa), eb = b.expand(sb);  // batch strides may be 0
  const cpu::BlasOperand oa = cpu::blas_operand(m, k, ea.stride(-2), ea.stride(-1));
  const cpu::BlasOperand ob = cpu::blas_operand(k, n, eb.stride(-2), eb.stride(-1));
  const int64_t nb = int64_t(batch.size());
  int64_t count = 1;
  for (int64_t s : batch) count *= s;
  std::vector<int64_t> index(size_t(nb), 0);
  int64_t off_a = 0, off_b = 0;
  for (int64_t i = 0; i < count; ++i) {
    cpu::gemm<T>(oa.trans, ob.trans, m, n, k, T(1), ea.data_ptr() + off_a, oa.ld,
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

// The batch shape two operands of dim >= 2 broadcast to, or an error naming both shapes.
inline Shape matmul_batch_shape(const Shape& a, const Shape& b, const char* op) {
  const size_t na = a.size() - 2, nb = b.size() - 2, n = std::max(na, nb);
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - na ? 1 : a[i - (n - na)];
    const int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
    EMBER_CHECK(da == db || da == 1 || db == 1, op, ": batch dimensions of shapes ", shape_str(a),
                " and ", shape_str(b), " cannot be broadcast together (", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// matmul of operands with dim >= 2 (shapes already checked), recorded for autograd.
template <class T>
Tensor<T> matmul_nd(const Tensor<T>& a, const Tensor<T>& b) {
  const Shape batch = matmul_batch_shape(a.shape(), b.shape(), "matmul");
  Tensor<T> out = matmul_kernel(a.detach(), b.detach(), batch);
  if (any_requires_grad(a, b))
    record(out, "matmul", {a, b}, [a, b](const Tensor<T>& g) -> Grads {
      AnyTensor ga, gb;
      if (a.requires_grad()) ga = sum_to(matmul_nd(g, conj(b).mT()), a.shape());
      if (b.requires_grad()) {
        if (b.dim() == 2 && a.dim() > 2) {  // sum over the batch inside one GEMM
          const int64_t rows = leading_numel(a.shape()), k = a.size(-1), n = b.size(-1);
          gb = matmul_nd(conj(a.reshape({rows, k})).mT(), g.reshape({rows, n}));
        } else {
          gb = sum_to(matmul_nd(conj(a).mT(), g), b.shape());
        }
      }
      return {ga, gb};
    });
  return out;
}

template <class T>
void check_matmul_operands(const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  static_assert(cpu::is_blas_type_v<T>, "matmul: needs float, double or complex tensors");
  if (!cuda::use_cuda(op, a, b)) check_same_device(a, b, op);
}

}  // namespace detail

// PyTorch's matmul: 1-D·1-D is a dot product (a scalar); a 1-D operand is treated as a row
// (left) or column (right) vector whose added dimension is removed from the result; operands
// of dim >= 2 are batches of matrices whose batch dims broadcast.
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  detail::check_matmul_operands(a, b, "matmul");
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dimension, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  EMBER_CHECK(ka == kb, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
              " cannot be multiplied (", ka, " != ", kb, ")");
  if (a.dim() == 1 && b.dim() == 1)
    return detail::matmul_nd(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  if (a.dim() == 1) return detail::matmul_nd(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return detail::matmul_nd(a, b.unsqueeze(1)).squeeze(-1);
  return detail::matmul_nd(a, b);
}

// Matrix product of two 2-D tensors.
template <class T>
Tensor<T> mm(const Tensor<T>& a, const Tensor<T>& b) {
  detail::check_matmul_operands(a, b, "mm");
  EMBER_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0),
              "mm: expected [m, k] and [k, n], got ", shape_str(a.shape()), " and ",
              shape_str(b.shape()));
  return detail::matmul_nd(a, b);
}

// Batched matrix product: [B, m, k] · [B, k, n] -> [B, m, n], no broadcasting.
template <class T>
Tensor<T> bmm(const Tensor<T>& a, const Tensor<T>& b) {
  detail::check_matmul_operands(a, b, "bmm");
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
              "bmm: expected [B, m, k] and [B, k, n], got ", shape_str(a.shape()), " and ",
              shape_str(b.shape()));
  return detail::matmul_nd(a, b);
}

// y = x·wᵀ + b for x [..., in], weight [out, in] and an optional bias [out] (an undefined
// tensor means none). One GEMM: the bias is written into the output first and the GEMM
// accumulates onto it (beta = 1).
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>()) {
  detail::check_matmul_operands(x, weight, "linear");
  if (cuda::use_cuda("linear", x, weight, bias)) {  // matmul (cuBLAS) then the bias add
    const Tensor<T> y = matmul(x, weight.t());
    return bias.defined() ? add(y, bias) : y;
  }
  EMBER_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ",
              shape_str(x.shape()), " and weight ", shape_str(weight.shape()),
              " do not match (expected input [..., in] and weight [out, in])");
  const int64_t in = weight.size(1), out_f = weight.size(0);
  if (bias.defined()) {
    check_same_device(x, bias, "linear");
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == out_f, "linear: bias ", shape_str(bias.shape()),
                " does not match weight ", shape_str(weight.shape()), " (expected [", out_f, "])");
  }
  Shape out_shape = x.shape();
  out_shape.back() = out_f;

  const int64_t rows = detail::leading_numel(x.shape());
  const Tensor<T> xf = detail::blas_ready(x.detach().reshape({rows, in}));
  const Tensor<T> wt = weight.detach().t();
  Tensor<T> out = Tensor<T>::empty({rows, out_f}, x.device());
  T* c = out.data_ptr();
  if (bias.defined()) {
    const Tensor<T> bc = bias.detach().contiguous();
    const T* bp = bc.data_ptr();
    cpu::parallel_for(rows, rows * out_f, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        std::memcpy(c + r * out_f, bp, size_t(out_f) * sizeof(T));
    });
  } else if (in == 0) {
    std::fill_n(c, out.numel(), T(0));
  }
  if (in > 0 && rows > 0 && out_f > 0) {
    const Tensor<T> w2 = detail::blas_ready(wt);
    const cpu::BlasOperand ox = cpu::blas_operand(rows, in, xf.stride(0), xf.stride(1));
    const cpu::BlasOperand ow = cpu::blas_operand(in, out_f, w2.stride(0), w2.stride(1));
    cpu::gemm<T>(ox.trans, ow.trans, rows, out_f, in, T(1), xf.data_ptr(), ox.ld, w2.data_ptr(),
                 ow.ld, bias.defined() ? T(1) : T(0), c, out_f);
  }
  out = out.view(out_shape);
  if (any_requires_grad(x, weight, bias))
    record(out, "linear", {x, weight, bias},
           [x, weight, bias, rows, in, out_f](const Tensor<T>& g) -> Grads {
             const Tensor<T> gf = g.reshape({rows, out_f});
             AnyTensor gx, gw, gb;
             if (x.requires_grad()) gx = detail::matmul_nd(gf, conj(weight)).reshape(x.shape());
             if (weight.requires_grad())
               gw = detail::matmul_nd(gf.mT(), conj(x.reshape({rows, in})));
             if (bias.defined() && bias.requires_grad()) gb = sum(gf, {0});
             return {gx, gw, gb};
           });
  return out;
}

}  // namespace ember
