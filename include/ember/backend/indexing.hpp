// Kernels of the indexing family (ops/indexing.hpp, and scatter_sum / embedding above it) on
// the operands' device: the CPU kernels of backend/cpu/indexing.hpp or the CUDA kernels of
// cuda/ember/cuda/indexing.cuh. Kernels only; the ops record the rules. CUDA kernels exist for
// float and double values with int64 indices; an int32 index is widened on the way (one host
// round trip).
//
// Determinism (core/determinism.hpp). Without ember::set_deterministic(true) the CUDA scatter
// accumulates with atomicAdd, so float sums round in whatever order the atomics land and two
// runs may differ in the last bits:
//   scatter_add, index_add, scatter_sum, scatter_mean (forward),
//   and the backward of gather (scatter_add), index_select and embedding (index_add).
// With the switch on they sort the positions by target (cub radix sort) and sum each target in
// index order on one thread: bitwise reproducible, and bitwise equal to the CPU's result. The
// gathers (index_select, gather) and masked_fill are deterministic on CUDA either way.
//
// Index bounds are checked on the host, on a copy of the index (a device-to-host copy that
// waits for the stream), so a bad index throws the same ember::Error as on the CPU.
#pragma once

#include <cstdint>
#include <type_traits>

#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cpu/indexing.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/determinism.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// The loop space of gather / scatter_add along `dim` (cpu::index_along_dim's): position p of
// `shape` (row-major, coordinates c) pairs the "k side" element at
// sum_d c[d] * kside_strides[d] with the target element at
// sum_{d != dim} c[d] * target_strides[d] + index[p] * target_strides[dim], where index[p] is
// the int64 at sum_d c[d] * index_strides[d]. Indices are already bounds-checked.
// target_extent: one past the largest target offset (sizes the deterministic path's sort).
struct IndexLayout {
  int ndim = 0;
  int dim = 0;
  int64_t numel = 0;
  int64_t target_extent = 0;
  int64_t shape[kMaxDims] = {};
  int64_t index_strides[kMaxDims] = {};
  int64_t kside_strides[kMaxDims] = {};
  int64_t target_strides[kMaxDims] = {};
};

// kside[p] = target[index-shifted p]: gather / index_select / embedding; for T = float, double.
template <class T>
void index_gather(T* kside, const T* target, const int64_t* index, const IndexLayout& l,
                  int device);
// target[index-shifted p] += kside[p]: scatter_add / index_add / scatter_sum. Atomics (order-
// dependent float rounding) unless `deterministic`: then the positions are radix-sorted by
// target and each target summed by one thread in increasing p, the CPU's order.
template <class T>
void index_scatter_add(T* target, const T* kside, const int64_t* index, const IndexLayout& l,
                       bool deterministic, int device);
// out (operand 0) = mask (operand 2) ? value : x (operand 1), elementwise over l.
template <class T>
void masked_fill(T* out, const T* x, const bool* mask, T value, const StridedLayout& l, int device);

}  // namespace cuda

namespace backend {

namespace detail {

// The index as int64 on `device` (int32 is widened through the host).
template <class I>
Tensor<int64_t> int64_index(const Tensor<I>& index, const Device& device) {
  if constexpr (std::is_same_v<I, int64_t>)
    return index.detach();
  else
    return index.detach().to(Device::cpu()).template to<int64_t>().to(device);
}

// The IndexLayout of a gather / scatter over `shape` along `dim`: size-1 dims other than dim
// are dropped, so up to kMaxDims remain.
inline cuda::IndexLayout index_layout(const Shape& shape, int64_t dim, const Shape& index_strides,
                                      const Shape& kside_strides, const Shape& target_strides,
                                      int64_t target_extent, const char* op) {
  cuda::IndexLayout l;
  l.numel = 1;
  l.target_extent = target_extent;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    l.numel *= shape[size_t(d)];
    if (shape[size_t(d)] == 1 && d != dim) continue;
    EMBER_CHECK(l.ndim < cuda::kMaxDims, op, ": the CUDA kernel handles at most ", cuda::kMaxDims,
                " dimensions of size > 1, got shape ", shape_str(shape));
    if (d == dim) l.dim = l.ndim;
    l.shape[l.ndim] = shape[size_t(d)];
    l.index_strides[l.ndim] = index_strides[size_t(d)];
    l.kside_strides[l.ndim] = kside_strides[size_t(d)];
    l.target_strides[l.ndim] = target_strides[size_t(d)];
    ++l.ndim;
  }
  return l;
}

}  // namespace detail

// True when some element of `index` (on any device) is outside [0, size); `bad` is then the
// first one. CUDA indices are read from a host copy.
template <class I>
bool find_out_of_bounds(const Tensor<I>& index, int64_t size, int64_t& bad) {
  if (index.numel() == 0) return false;
  const Tensor<I> host = index.detach().to(Device::cpu());
  return cpu::find_out_of_bounds(host.data_ptr(), host.shape(), host.strides(), size, bad);
}

// out (index's shape) = x at the indexed positions along dim: out[a][k][b] =
// x[a][index[a][k][b]][b] for dim = 1. The kernel of gather, and of index_select with its index
// broadcast to the output's shape. The index is bounds-checked.
template <class T, class I>
Tensor<T> gather(const Tensor<T>& x, int64_t dim, const Tensor<I>& index, const char* name) {
  const bool cuda = on_cuda(name, x, index);
  Tensor<T> out = Tensor<T>::empty(index.shape(), x.device());
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      const Tensor<int64_t> idx = detail::int64_index(index, x.device());
      const cuda::IndexLayout l = detail::index_layout(index.shape(), dim, idx.strides(),
                                                       out.strides(), x.strides(), 0, name);
      cuda::index_gather(out.data_ptr(), x.data_ptr(), idx.data_ptr(), l, x.device().index);
    }
  } else {
    cpu::index_along_dim(index.shape(), dim, index.data_ptr(), index.strides(), out.data_ptr(),
                         out.strides(), x.data_ptr(), x.strides(), [](T& o, const T& v) { o = v; });
  }
  return out;
}

// target (a fresh contiguous tensor) += src at the indexed positions along dim, over the
// index's shape (src's elements outside it are unused): target[a][index[a][k][b]][b] +=
// src[a][k][b] for dim = 1, repeated indices accumulating. On CUDA: atomics, or the sorted
// deterministic path under ember::deterministic().
template <class T, class I>
void scatter_add_into(Tensor<T>& target, int64_t dim, const Tensor<I>& index, const Tensor<T>& src,
                      const char* name) {
  const bool cuda = on_cuda(name, target, src, index);
  EMBER_CHECK(target.is_contiguous(), name,
              ": internal error: the scatter target must be contiguous");
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (index.numel() > 0) {
      const Device dev = target.device();
      const Tensor<int64_t> idx = detail::int64_index(index, dev);
      const cuda::IndexLayout l = detail::index_layout(
          index.shape(), dim, idx.strides(), src.strides(), target.strides(), target.numel(), name);
      cuda::index_scatter_add(target.data_ptr(), src.data_ptr(), idx.data_ptr(), l,
                              ember::deterministic(), dev.index);
    }
  } else {
    cpu::index_along_dim(index.shape(), dim, index.data_ptr(), index.strides(), src.data_ptr(),
                         src.strides(), target.data_ptr(), target.strides(),
                         [](const T& s, T& o) { o += s; });
  }
}

// x + src scattered along dim (scatter_add_into on a copy of x): the kernel of scatter_add, and
// of index_add with its index broadcast to the source's shape.
template <class T, class I>
Tensor<T> scatter_add(const Tensor<T>& x, int64_t dim, const Tensor<I>& index, const Tensor<T>& src,
                      const char* name) {
  Tensor<T> out = x.detach().clone();
  scatter_add_into(out, dim, index, src, name);
  return out;
}

// x with `value` where mask (both broadcast to their common shape) is true.
template <class T>
Tensor<T> masked_fill(const Tensor<T>& x, const Tensor<bool>& mask, T value, const char* name) {
  if (on_cuda(name, x, mask)) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else {
      const Shape shape = broadcast_shapes(x.shape(), mask.shape(), name);
      Tensor<T> out = Tensor<T>::empty(shape, x.device());
      if (out.numel() == 0) return out;
      Tensor<T> ex = x.detach().expand(shape);
      Tensor<bool> em = mask.detach().expand(shape);
      cuda::StridedLayout l;
      if (!cuda::make_layout(l, shape, {&out.strides(), &ex.strides(), &em.strides()})) {
        ex = ex.contiguous();
        em = em.contiguous();
        cuda::make_layout(l, shape, {&out.strides(), &ex.strides(), &em.strides()});
      }
      cuda::masked_fill(out.data_ptr(), ex.data_ptr(), em.data_ptr(), value, l, x.device().index);
      return out;
    }
  }
  return cpu::map_binary<T>(x, mask, name, [value](T v, bool m) { return m ? value : v; });
}

// labels.shape + [classes] int64 with a 1 at each label, for host labels (contiguous, checked).
template <class I>
Tensor<int64_t> one_hot(const Tensor<I>& labels, int64_t classes) {
  Shape shape = labels.shape();
  shape.push_back(classes);
  Tensor<int64_t> out = Tensor<int64_t>::zeros(shape);
  cpu::one_hot(labels.data_ptr(), labels.numel(), classes, out.data_ptr());
  return out;
}

}  // namespace backend
}  // namespace ember
