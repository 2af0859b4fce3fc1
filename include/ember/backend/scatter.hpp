// Kernels of the scatter family (ops/scatter.hpp: torch_scatter-style reductions over the
// leading dimension) on the operands' device: the CPU kernels of backend/cpu/scatter.hpp or
// the CUDA kernels of cuda/ember/cuda/scatter.cuh (scatter_sum uses the indexing family's
// scatter, backend/indexing.hpp). Kernels only; the ops record the rules.
//
// The index is sorted, and a row_ptr checked, on the host (a copy of a CUDA index). On CUDA
// scatter_max and segment_sum give one thread per output (row, feature), summed or compared
// in increasing e: deterministic. scatter_sum accumulates with atomics unless
// ember::set_deterministic(true) (see backend/indexing.hpp).
#pragma once

#include <cstdint>
#include <tuple>
#include <vector>

#include <ember/backend/cpu/scatter.hpp>
#include <ember/backend/device.hpp>
#include <ember/backend/indexing.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// scatter_max from a stable sort of the index by target (ptr [rows + 1], order [E]): out and
// arg [rows, f]; mask [E, f] (zero-filled, or null) gets 1 at every argmax. T = float, double.
template <class T>
void scatter_max(T* out, int64_t* arg, T* mask, const T* src, const int64_t* ptr,
                 const int64_t* order, int64_t rows, int64_t f, int64_t e_rows, int device);
// out[i, c] = sum over k in [row_ptr[i], row_ptr[i+1]) of src[k, c], rows of width f, for a
// contiguous src and a checked row_ptr [rows + 1]; one thread per output, in increasing k.
template <class T>
void segment_sum(T* out, const T* src, const int64_t* row_ptr, int64_t rows, int64_t f, int device);

}  // namespace cuda

namespace backend {

namespace detail {

// The product of all dims after the first: the feature width of a [E, F...] tensor.
inline int64_t prod_rest(const Shape& s) {
  int64_t n = 1;
  for (size_t d = 1; d < s.size(); ++d) n *= s[d];
  return n;
}

inline Shape with_rows(const Shape& s, int64_t rows) {
  Shape out = s;
  out[0] = rows;
  return out;
}

}  // namespace detail

// The row of each entry of a CSR-style row_ptr on the host ([rows + 1] int64, checked):
// [row_ptr[rows]] int64 on the host.
inline Tensor<int64_t> rows_of_entries(const Tensor<int64_t>& row_ptr) {
  const Tensor<int64_t> rp = row_ptr.contiguous();
  const int64_t n = rp.numel() - 1;
  Tensor<int64_t> rows = Tensor<int64_t>::empty({n > 0 ? rp.data_ptr()[n] : 0});
  cpu::rows_of_entries(rp.data_ptr(), n, rows.data_ptr());
  return rows;
}

// out [dim_size, F...]: out[i] = sum of src[e] over index[e] == i (index checked).
template <class T>
Tensor<T> scatter_sum(const Tensor<T>& src, const Tensor<int64_t>& index, int64_t dim_size,
                      const char* name) {
  const Shape oshape = detail::with_rows(src.shape(), dim_size);
  if (on_cuda(name, src, index)) {  // index_add of src's rows into zeros
    Tensor<T> out = Tensor<T>::zeros(oshape, src.device());
    Shape s(src.shape().size(), 1);
    s[0] = index.numel();
    scatter_add_into(out, 0, index.detach().reshape(s).expand(src.shape()), src.detach(), name);
    return out;
  }
  const Tensor<T> sc = src.detach().contiguous();
  const Tensor<int64_t> ic = index.contiguous();
  std::vector<int64_t> ptr, order;
  cpu::counting_sort(ic.data_ptr(), sc.size(0), dim_size, ptr, order);
  Tensor<T> out = Tensor<T>::empty(oshape);
  cpu::segment_reduce_sum(sc.data_ptr(), order.data(), ptr.data(), dim_size,
                          detail::prod_rest(sc.shape()), out.data_ptr());
  return out;
}

// max(number of index[e] == i, 1) for i < dim_size, as a [dim_size, 1...] tensor of `rank`
// dims on `device` (the index is counted on the host).
template <class T>
Tensor<T> scatter_counts(const Tensor<int64_t>& index, int64_t dim_size, int64_t rank,
                         const Device& device) {
  Shape cshape(size_t(rank), 1);
  cshape[0] = dim_size;
  Tensor<T> count = Tensor<T>::empty(cshape);
  const Tensor<int64_t> ic = index.detach().to(Device::cpu()).contiguous();
  cpu::scatter_counts(ic.data_ptr(), ic.numel(), dim_size, count.data_ptr());
  return count.to(device);
}

// (max, argmax, mask) of src [E, F...] over index[e] == i (index checked): out and argmax
// [dim_size, F...], empty rows 0 and E; mask [E, F...] is 1 at every argmax (the backward's
// constant) when want_mask, else undefined. The index is counting-sorted on the host.
template <class T>
std::tuple<Tensor<T>, Tensor<int64_t>, Tensor<T>> scatter_max(const Tensor<T>& src,
                                                              const Tensor<int64_t>& index,
                                                              int64_t dim_size, bool want_mask,
                                                              const char* name) {
  const bool cuda = on_cuda(name, src, index);
  const Device dev = src.device();
  // The index is sorted on the host (a copy of a CUDA index; the op's checks read it there too).
  const Tensor<int64_t> ic = index.detach().to(Device::cpu()).contiguous();
  const int64_t e = src.size(0), f = detail::prod_rest(src.shape());
  std::vector<int64_t> ptr, order;
  cpu::counting_sort(ic.data_ptr(), e, dim_size, ptr, order);
  const Shape oshape = detail::with_rows(src.shape(), dim_size);
  Tensor<T> out = Tensor<T>::empty(oshape, dev);
  Tensor<int64_t> arg = Tensor<int64_t>::empty(oshape, dev);
  Tensor<T> mask = want_mask ? Tensor<T>::zeros(src.shape(), dev) : Tensor<T>();
  const Tensor<T> s = src.detach().contiguous();
  T* m = want_mask ? mask.data_ptr() : nullptr;
  if (cuda) {  // one GPU thread per (row, feature) scans its sorted run
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      const auto on_dev = [&](const std::vector<int64_t>& v) {
        return Tensor<int64_t>::from_vector(v, {int64_t(v.size())}).to(dev);
      };
      const Tensor<int64_t> p = on_dev(ptr), o = on_dev(order);
      cuda::scatter_max(out.data_ptr(), arg.data_ptr(), m, s.data_ptr(), p.data_ptr(), o.data_ptr(),
                        dim_size, f, e, dev.index);
    }
  } else {
    cpu::scatter_max_sorted(s.data_ptr(), ptr.data(), order.data(), dim_size, f, e, out.data_ptr(),
                            arg.data_ptr(), m);
  }
  return {out, arg, mask};
}

// out [rows, F...]: the sums of the runs [row_ptr[i], row_ptr[i+1]) of src [E, F...]. row_ptr
// is on src's device and host_ptr its checked host copy.
template <class T>
Tensor<T> segment_sum(const Tensor<T>& src, const Tensor<int64_t>& row_ptr,
                      const Tensor<int64_t>& host_ptr, const char* name) {
  const bool cuda = on_cuda(name, src, row_ptr);
  const int64_t rows = host_ptr.numel() - 1, f = detail::prod_rest(src.shape());
  Tensor<T> out = Tensor<T>::empty(detail::with_rows(src.shape(), rows), src.device());
  const Tensor<T> s = src.detach().contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      const Tensor<int64_t> rp = row_ptr.detach().contiguous();
      cuda::segment_sum(out.data_ptr(), s.data_ptr(), rp.data_ptr(), rows, f, src.device().index);
    }
  } else {
    const Tensor<int64_t> rp = host_ptr.contiguous();
    cpu::segment_reduce_sum(s.data_ptr(), static_cast<const int64_t*>(nullptr), rp.data_ptr(), rows,
                            f, out.data_ptr());
  }
  return out;
}

}  // namespace backend
}  // namespace ember
