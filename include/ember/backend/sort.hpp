// The kernels of the sort family (ops/sort.hpp: sort, argsort, topk) on the input's device: a
// stable sort of every row along one dim, keeping its first k elements. The CPU kernel is in
// backend/cpu/sort.hpp; the CUDA one (cuda/ember/cuda/sort.cuh) sorts rows with cub's stable
// segmented sort after moving the dim last. Kernels only; the ops record the rules.
#pragma once

#include <cstdint>
#include <ember/backend/cpu/sort.hpp>
#include <ember/backend/device.hpp>
#include <ember/backend/softmax.hpp>  // split_at_dim
#include <ember/core/tensor_class.hpp>
#include <utility>

namespace ember {

namespace cuda {

// Sorts each row of a contiguous [rows, n] x stably, ascending or descending, NaN (of any sign)
// as the largest value and -0.0 equal to 0.0, as the CPU's nan_last_less:
// indices[r, j] is the position in row r of its j-th element in that order and
// values[r, j] = x[r, indices[r, j]] (both contiguous [rows, n]). For T = float and double.
template <class T>
void sort_rows(T* values, int64_t* indices, const T* x, int64_t rows, int64_t n, bool descending,
               int device);

}  // namespace cuda

namespace backend {

// The first k (<= n) elements of every row of x along the wrapped dim d (x.dim() >= 1) in a
// stable ascending (or descending) order, NaN largest, and their positions along d: contiguous
// tensors of x's shape with dim d of size k.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> sort(const Tensor<T>& x, int64_t d, bool descending,
                                           int64_t k, const char* name) {
  Shape shape = x.shape();
  shape[size_t(d)] = k;
  Tensor<T> values = Tensor<T>::empty(shape, x.device());
  Tensor<int64_t> indices = Tensor<int64_t>::empty(shape, x.device());
  if (values.numel() == 0) return {values, indices};
  const auto [outer, n, inner] = split_at_dim(x.shape(), d);
  if (on_cuda(name, x)) {
    if constexpr (cuda_kernels_v<T>) {
      const int device = x.device().index;
      if (inner == 1 && k == n) {  // rows already contiguous, all of them kept
        const Tensor<T> xc = x.detach().contiguous();
        cuda::sort_rows(values.data_ptr(), indices.data_ptr(), xc.data_ptr(), outer, n, descending,
                        device);
        return {values, indices};
      }
      // The sort dim moved last, so each row is n contiguous elements; back after the sort.
      const Tensor<T> rows = x.detach().transpose(d, -1).contiguous();
      Tensor<T> sorted = Tensor<T>::empty(rows.shape(), x.device());
      Tensor<int64_t> order = Tensor<int64_t>::empty(rows.shape(), x.device());
      cuda::sort_rows(sorted.data_ptr(), order.data_ptr(), rows.data_ptr(), outer * inner, n,
                      descending, device);
      values.copy_(sorted.slice(-1, 0, k).transpose(d, -1));
      indices.copy_(order.slice(-1, 0, k).transpose(d, -1));
      return {values, indices};
    }
    no_cuda_kernel<T>(name);
  }
  const Tensor<T> xc = x.detach().contiguous();
  cpu::sort_rows(values.data_ptr(), indices.data_ptr(), xc.data_ptr(), outer, n, inner, k,
                 descending);
  return {values, indices};
}

}  // namespace backend
}  // namespace ember
