// Matrix products: matmul (PyTorch semantics, batch broadcasting), bmm, mm and linear. The
// kernels are in backend/linalg.hpp (OpenBLAS on the CPU, cuBLAS on CUDA).
//
// Gradients (complex: PyTorch's conjugate convention): for out = a·b,
//   grad_a = g·bᴴ,  grad_b = aᴴ·g,
// each reduced with sum_to over the batch dims it was broadcast along, and skipped for an
// input that does not require grad. Rules use matmul itself, so second derivatives work.
#pragma once

#include <algorithm>
#include <vector>

#include <ember/backend/cpu/blas.hpp>
#include <ember/backend/linalg.hpp>
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

// matmul of operands with dim >= 2 (shapes already checked), recorded for autograd; `name`
// (matmul, mm or bmm) names the op in a device error.
template <class T>
Tensor<T> matmul_nd(const Tensor<T>& a, const Tensor<T>& b, const char* name = "matmul") {
  const Shape batch = matmul_batch_shape(a.shape(), b.shape(), "matmul");
  Tensor<T> out = backend::matmul(a, b, batch, name);
  if (any_requires_grad(a, b))
    record(out, "matmul", {a, b}, [a, b](const Tensor<T>& g) -> Grads {
      AnyTensor ga, gb;
      if (grad_wanted(a)) ga = sum_to(matmul_nd(g, conj(b).mT()), a.shape());
      if (grad_wanted(b)) {
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
void check_matmul_operands(const Tensor<T>&, const Tensor<T>&, const char*) {
  static_assert(cpu::is_blas_type_v<T>, "matmul: needs float, double or complex tensors");
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
  return detail::matmul_nd(a, b, "mm");
}

// Batched matrix product: [B, m, k] · [B, k, n] -> [B, m, n], no broadcasting.
template <class T>
Tensor<T> bmm(const Tensor<T>& a, const Tensor<T>& b) {
  detail::check_matmul_operands(a, b, "bmm");
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
              "bmm: expected [B, m, k] and [B, k, n], got ", shape_str(a.shape()), " and ",
              shape_str(b.shape()));
  return detail::matmul_nd(a, b, "bmm");
}

// y = x·wᵀ + b for x [..., in], weight [out, in] and an optional bias [out] (an undefined
// tensor means none). One GEMM: the bias is written into the output first and the GEMM
// accumulates onto it (beta = 1).
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>()) {
  detail::check_matmul_operands(x, weight, "linear");
  EMBER_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ",
              shape_str(x.shape()), " and weight ", shape_str(weight.shape()),
              " do not match (expected input [..., in] and weight [out, in])");
  const int64_t in = weight.size(1), out_f = weight.size(0);
  if (bias.defined())
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == out_f, "linear: bias ", shape_str(bias.shape()),
                " does not match weight ", shape_str(weight.shape()), " (expected [", out_f, "])");
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  const int64_t rows = detail::leading_numel(x.shape());
  Tensor<T> out =
      backend::linear(x.detach().reshape({rows, in}), weight, bias, "linear").view(out_shape);
  if (any_requires_grad(x, weight, bias))
    record(out, "linear", {x, weight, bias},
           [x, weight, bias, rows, in, out_f](const Tensor<T>& g) -> Grads {
             const Tensor<T> gf = g.reshape({rows, out_f});
             AnyTensor gx, gw, gb;
             if (grad_wanted(x)) gx = detail::matmul_nd(gf, conj(weight)).reshape(x.shape());
             if (grad_wanted(weight))
               gw = detail::matmul_nd(gf.mT(), conj(x.reshape({rows, in})));
             if (grad_wanted(bias)) gb = sum(gf, {0});
             return {gx, gw, gb};
           });
  return out;
}

}  // namespace ember
