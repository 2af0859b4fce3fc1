// Reduction kernels of ops/reduce.hpp and ops/reduce_more.hpp on the input's device: sum,
// mean, max / min / logsumexp / var / std, argmax / argmin, the pick / place of max(x,
// dim)'s values and gradient, and the cumulative sum. The CPU runs cpu::reduce with a Reducer
// (backend/cpu/reduce.hpp); CUDA the kernels of cuda/ember/cuda/reduce_more.cuh, over the
// middle dim of a contiguous [outer, n, inner] tensor (block reductions shared with other
// families are in reduce.cuh). Kernels only; the ops record the rules.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <ember/backend/cpu/reduce.hpp>
#include <ember/backend/device.hpp>
#include <ember/backend/pointwise.hpp>
#include <ember/backend/softmax.hpp>  // split_at_dim
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// Reductions over the middle dim of a contiguous [outer, n, inner] tensor. Max / Min propagate
// NaN; ArgMax / ArgMin give the first occurrence (NaN counts as the extreme) and its value;
// Var / Std divide by n - correction.
enum class ReduceOp : int { Max, Min, ArgMax, ArgMin, LogSumExp, Var, Std };

// out[o * inner + i] = sum_r x[(o * n + r) * inner + i] for a contiguous x seen as
// [outer, n, inner]. float sums accumulate in double (as on the CPU), reduced by warp shuffles.
// For T = float and double, as every launcher below.
template <class T>
void sum_dim(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, int device);

// op over the middle dim of a contiguous x [outer, n, inner] (n >= 1), writing
// values[o * inner + i] and, for ArgMax / ArgMin, indices[o * inner + i] (either may be null).
// correction is Var / Std's.
template <class T>
void reduce_dim(ReduceOp op, T* values, int64_t* indices, const T* x, int64_t outer, int64_t n,
                int64_t inner, int64_t correction, int device);

// Along the middle dim of [outer, n, inner] (src, out contiguous; idx [outer, inner]):
// pick:  out[o, i] = src[o, idx[o, i], i];
// place: out = zeros, then out[o, idx[o, i], i] = src[o, i] (the gradient of pick).
template <class T>
void pick_dim(T* out, const T* src, const int64_t* idx, int64_t outer, int64_t n, int64_t inner,
              int device);
template <class T>
void place_dim(T* out, const T* src, const int64_t* idx, int64_t outer, int64_t n, int64_t inner,
               int device);

// The cumulative sum along the middle dim of a contiguous [outer, n, inner] x (reverse: from
// the end of the dim): out[o, j, i] = sum over r <= j (r >= j) of x[o, r, i], accumulated in
// double for float. Into a contiguous out of x's shape.
template <class T>
void cumsum_dim(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool reverse,
                int device);

}  // namespace cuda

namespace backend {

using cuda::ReduceOp;

namespace detail {

// x's elements as a contiguous [outer, n, inner] with the (sorted, unique) rdims in the middle:
// x itself made contiguous when rdims are one block of dims, else a copy of x permuted to
// (kept dims, rdims) with inner = 1. The output of a reduction is then [outer, inner] in the
// row-major order of the kept dims (and the reduced index is row-major over rdims either way).
// With few_long_columns_to_rows, a block of few long columns is copied transposed too.
template <class T>
Tensor<T> reduction_block(const Tensor<T>& x, const std::vector<int64_t>& rdims,
                          bool few_long_columns_to_rows, int64_t& outer, int64_t& n,
                          int64_t& inner) {
  outer = 1, n = 1, inner = 1;
  const bool block = rdims.empty() || rdims.back() - rdims.front() + 1 == int64_t(rdims.size());
  if (block) {
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (!rdims.empty() && d < rdims.front())
        outer *= x.shape()[size_t(d)];
      else if (!rdims.empty() && d <= rdims.back())
        n *= x.shape()[size_t(d)];
      else
        inner *= x.shape()[size_t(d)];
    }
    // Few long columns (var over dim 0 of [100000, 64]): one thread per column would read its
    // column serially; after a transposed copy one block reduces each instead.
    const bool few_long_columns = inner > 1 && outer * inner <= 4096 && n >= 1024;
    if (!(few_long_columns_to_rows && few_long_columns)) return x.detach().contiguous();
    outer = 1, n = 1, inner = 1;
  }
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(rdims.begin(), rdims.end(), d)) {
      perm.push_back(d);
      outer *= x.shape()[size_t(d)];
    }
  for (int64_t d : rdims) {
    perm.push_back(d);
    n *= x.shape()[size_t(d)];
  }
  return x.detach().permute(perm).contiguous();
}

// Sum over rdims of a float or double x on CUDA.
template <class T>
Tensor<T> sum_cuda(const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim) {
  Tensor<T> out = Tensor<T>::empty(reduced_shape(x.shape(), rdims, keepdim), x.device());
  if (out.numel() == 0) return out;
  int64_t outer, n, inner;
  const Tensor<T> xc = reduction_block(x, rdims, false, outer, n, inner);
  if (n == 0) return out.fill_(T(0));
  cuda::sum_dim(out.data_ptr(), xc.data_ptr(), outer, n, inner, x.device().index);
  return out;
}

// The [..., 2] real view of a complex tensor (same storage), and the complex view of a
// contiguous [..., 2] real tensor: a complex sum on CUDA is the real sum of the pairs (the
// pair dim is never reduced), so it costs what a real sum does.
template <class C>
Tensor<real_t<C>> real_pairs(const Tensor<C>& z) {
  auto pairs = std::make_shared<TensorImpl>();
  pairs->dtype = dtype_v<real_t<C>>;
  pairs->shape = z.shape();
  pairs->shape.push_back(2);
  for (int64_t st : z.strides()) pairs->strides.push_back(2 * st);
  pairs->strides.push_back(1);
  pairs->offset = 2 * z.storage_offset();
  pairs->storage = z.impl()->storage;
  return Tensor<real_t<C>>(std::move(pairs));
}
template <class C>
Tensor<C> complex_of_pairs(const Tensor<real_t<C>>& s) {
  auto z = std::make_shared<TensorImpl>();
  z->dtype = dtype_v<C>;
  z->shape.assign(s.shape().begin(), s.shape().end() - 1);
  for (size_t d = 0; d + 1 < s.strides().size(); ++d) z->strides.push_back(s.strides()[d] / 2);
  z->offset = s.storage_offset() / 2;
  z->storage = s.impl()->storage;
  return Tensor<C>(std::move(z));
}

}  // namespace detail

// Sum over rdims (sorted, unique, from reduction_dims).
template <class T>
Tensor<T> sum(const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim,
              const char* name) {
  if (on_cuda(name, x)) {
    if constexpr (cuda_kernels_v<T>) {
      return detail::sum_cuda(x, rdims, keepdim);
    } else if constexpr (is_complex_v<T> && cuda_kernels_v<real_t<T>>) {
      return detail::complex_of_pairs<T>(
          detail::sum_cuda(detail::real_pairs(x.detach()), rdims, keepdim));
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::reduce<T>(x, rdims, keepdim, cpu::SumReducer<T>{});
}

// Mean over rdims (0 elements: NaN). On CUDA the sum times 1 / count (0 * inf = NaN); the CPU
// divides the sum in its accumulator's type.
template <class T>
Tensor<T> mean(const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim,
               const char* name) {
  if (on_cuda(name, x)) {
    int64_t count = 1;
    for (int64_t d : rdims) count *= x.shape()[size_t(d)];
    return backend::pointwise<pointwise::Op::MulScalar>(sum(x, rdims, keepdim, name),
                                                         {T(1.0 / double(count))}, name);
  }
  return cpu::reduce<T>(x, rdims, keepdim, cpu::SumReducer<T>{.mean = true});
}

// A reduction over rdims giving values: Max, Min (a non-empty reduction: the callers reject
// empty ones), LogSumExp, Var, Std (correction for the last two). Over 0 elements LogSumExp
// gives -inf and Var / Std NaN.
template <cuda::ReduceOp Op, class T>
Tensor<T> reduce(const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim,
                 int64_t correction, const char* name) {
  using cuda::ReduceOp;
  static_assert(Op != ReduceOp::ArgMax && Op != ReduceOp::ArgMin, "reduce: use arg_reduce");
  if (on_cuda(name, x)) {
    if constexpr (cuda_kernels_v<T>) {
      Tensor<T> out = Tensor<T>::empty(reduced_shape(x.shape(), rdims, keepdim), x.device());
      if (out.numel() == 0) return out;
      int64_t outer, n, inner;
      const Tensor<T> xc = detail::reduction_block(x, rdims, true, outer, n, inner);
      if (n == 0) {
        EMBER_CHECK(Op == ReduceOp::LogSumExp || Op == ReduceOp::Var || Op == ReduceOp::Std,
                    name, ": cannot reduce over 0 elements");
        return out.fill_(Op == ReduceOp::LogSumExp ? -std::numeric_limits<T>::infinity()
                                                   : std::numeric_limits<T>::quiet_NaN());
      }
      cuda::reduce_dim(Op, out.data_ptr(), nullptr, xc.data_ptr(), outer, n, inner, correction,
                       x.device().index);
      return out;
    }
    no_cuda_kernel<T>(name);
  }
  if constexpr (Op == ReduceOp::Max || Op == ReduceOp::Min)
    return cpu::reduce<T>(x, rdims, keepdim, cpu::ExtremeReducer<T, Op == ReduceOp::Max>{});
  else if constexpr (Op == ReduceOp::LogSumExp)
    return cpu::reduce<T>(x, rdims, keepdim, cpu::LogSumExpReducer<T>{});
  else
    return cpu::reduce<T>(
        x, rdims, keepdim,
        cpu::VarReducer<T>{.correction = correction, .take_sqrt = Op == ReduceOp::Std});
}

// src's elements at the positions idx picks: idx has src's keepdim reduction shape over rdims
// and holds reduced indices (row-major over rdims). On CUDA rdims is one dim.
template <class T>
Tensor<T> gather_picked(const Tensor<T>& src, const Tensor<int64_t>& idx,
                        const std::vector<int64_t>& rdims, const char* name) {
  if (on_cuda(name, src, idx)) {
    if constexpr (cuda_kernels_v<T>) {
      EMBER_CHECK(rdims.size() == 1, name, ": CUDA handles one reduced dim, got ", rdims.size());
      Tensor<T> out = Tensor<T>::empty(idx.shape(), src.device());
      if (out.numel() == 0) return out;
      const auto [outer, n, inner] = split_at_dim(src.shape(), rdims[0]);
      const Tensor<T> sc = src.detach().contiguous();
      const Tensor<int64_t> ic = idx.contiguous();
      cuda::pick_dim(out.data_ptr(), sc.data_ptr(), ic.data_ptr(), outer, n, inner,
                     src.device().index);
      return out;
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::pick(src.detach(), idx.contiguous(), rdims);
}

// The adjoint of gather_picked: zeros of in_shape with src (idx's shape) written where idx
// points.
template <class T>
Tensor<T> scatter_picked(const Tensor<T>& src, const Tensor<int64_t>& idx, const Shape& in_shape,
                         const std::vector<int64_t>& rdims, const char* name) {
  if (on_cuda(name, src, idx)) {
    if constexpr (cuda_kernels_v<T>) {
      EMBER_CHECK(rdims.size() == 1, name, ": CUDA handles one reduced dim, got ", rdims.size());
      Tensor<T> out = Tensor<T>::empty(in_shape, src.device());
      if (out.numel() == 0) return out;
      const auto [outer, n, inner] = split_at_dim(in_shape, rdims[0]);
      const Tensor<T> sc = src.detach().contiguous();
      const Tensor<int64_t> ic = idx.contiguous();
      cuda::place_dim(out.data_ptr(), sc.data_ptr(), ic.data_ptr(), outer, n, inner,
                      src.device().index);
      return out;
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::place(src.detach(), idx.contiguous(), in_shape, rdims);
}

// The first index (row-major over rdims) of the largest (Max) or smallest element of each
// reduction over rdims (non-empty), NaN counting as the extreme; with `values`, that element
// too. Both of shape reduced_shape(x, rdims, keepdim).
template <bool Max, class T>
Tensor<int64_t> arg_reduce(const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim,
                           std::type_identity_t<Tensor<T>>* values, const char* name) {
  const Shape shape = reduced_shape(x.shape(), rdims, keepdim);
  if (on_cuda(name, x)) {
    if constexpr (cuda_kernels_v<T>) {
      Tensor<int64_t> indices = Tensor<int64_t>::empty(shape, x.device());
      if (values) *values = Tensor<T>::empty(shape, x.device());
      if (indices.numel() == 0) return indices;
      int64_t outer, n, inner;
      const Tensor<T> xc = detail::reduction_block(x, rdims, true, outer, n, inner);
      EMBER_CHECK(n > 0, name, ": cannot reduce over 0 elements");
      cuda::reduce_dim(Max ? cuda::ReduceOp::ArgMax : cuda::ReduceOp::ArgMin,
                       values ? values->data_ptr() : nullptr, indices.data_ptr(), xc.data_ptr(),
                       outer, n, inner, 0, x.device().index);
      return indices;
    }
    no_cuda_kernel<T>(name);
  }
  const Tensor<int64_t> idx = cpu::reduce<int64_t>(x, rdims, true, cpu::ArgReducer<T, Max>{});
  if (values) *values = cpu::pick(x.detach(), idx, rdims).view(shape);
  return idx.view(shape);
}

// The cumulative sum of x along the wrapped dim d (reverse: from the end of the dim, the
// gradient of the forward one), a fresh contiguous tensor of x's shape. A complex cumsum on
// CUDA is the real one over the (re, im) pairs, the pair one more inner dim: the two parts
// sum independently.
template <class T>
Tensor<T> cumsum(const Tensor<T>& x, int64_t d, bool reverse, const char* name) {
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  if (out.numel() == 0) return out;
  const auto [outer, n, inner] = split_at_dim(x.shape(), d);
  const Tensor<T> xc = x.detach().contiguous();
  if (on_cuda(name, x)) {
    if constexpr (cuda_kernels_v<T>) {
      cuda::cumsum_dim(out.data_ptr(), xc.data_ptr(), outer, n, inner, reverse, x.device().index);
      return out;
    } else if constexpr (is_complex_v<T> && cuda_kernels_v<real_t<T>>) {
      using R = real_t<T>;  // std::complex<R> is an array of two R (the standard guarantees it)
      cuda::cumsum_dim(reinterpret_cast<R*>(out.data_ptr()),
                       reinterpret_cast<const R*>(xc.data_ptr()), outer, n, 2 * inner, reverse,
                       x.device().index);
      return out;
    }
    no_cuda_kernel<T>(name);
  }
  cpu::cumsum(out.data_ptr(), xc.data_ptr(), outer, n, inner, reverse);
  return out;
}

}  // namespace backend
}  // namespace ember
