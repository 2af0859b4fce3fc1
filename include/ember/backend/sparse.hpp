// Kernels of the sparse family (ops/sparse.hpp, sparse/csr.hpp) on the operands' device: the
// CPU kernels of backend/cpu/sparse.hpp or the CUDA kernels of cuda/ember/cuda/sparse.cuh.
// Kernels only; the ops record the rules. The CSR index arrays (int32 or int64) are passed on
// the dense operands' device (CsrPattern::on_device); kernels exist for float and double
// values. Deterministic on both devices (no atomics).
//
// Layouts (all contiguous): values [nnz, H]; X / P / Q rows of F = H * C features, head h at
// [h * C, (h + 1) * C). H = 1 for scalar values.
#pragma once

#include <cstdint>

#include <ember/backend/cpu/sparse.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// spmm: out [rows, H * C] = A [rows, cols] · x [cols, H * C] (cusparseSpMM for H = 1 and
// C >= 32, else a hand-written kernel); sddmm: out [nnz, H] from p [rows, H * C] and
// q [cols, H * C]. row_ptr / col_idx on the device; T = float, double; I = int32, int64.
template <class T, class I>
void spmm_csr(T* out, const I* row_ptr, const I* col_idx, const T* values, const T* x, int64_t rows,
              int64_t cols, int64_t nnz, int64_t H, int64_t C, int device);
template <class T, class I>
void sddmm_csr(T* out, const I* row_ptr, const I* col_idx, const T* p, const T* q, int64_t rows,
               int64_t H, int64_t C, int device);
// Softmax of src [E, H] over segments row_ptr[s] .. row_ptr[s+1] (row_ptr int64 on the device)
// and its backward from the output y.
template <class T>
void segment_softmax_forward(T* out, const T* src, const int64_t* row_ptr, int64_t nseg, int64_t H,
                             int device);
template <class T>
void segment_softmax_backward(T* gx, const T* g, const T* y, const int64_t* row_ptr, int64_t nseg,
                              int64_t H, int device);
// out[k, :] = v[perm[k], :] for k < n, rows of W elements (perm int64 on the device).
template <class T>
void gather_rows(T* out, const T* v, const int64_t* perm, int64_t n, int64_t W, int device);

}  // namespace cuda

namespace backend {

namespace detail {

// t (contiguous) itself when its data is 16-byte aligned, else an aligned copy: a view with a
// storage offset may start anywhere, and cuSPARSE's kernels may load their inputs in vectors.
template <class T>
Tensor<T> aligned_for_cusparse(const Tensor<T>& t) {
  if (reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 16 == 0) return t;
  return t.clone();
}

}  // namespace detail

// out [rows, ...x.shape[1:]] = A · x for A's index arrays rp, ci (on x's device), values
// [nnz] or [nnz, H] and x [cols, F] or [cols, H, C] (shapes checked).
template <class T, class I>
Tensor<T> spmm(const Tensor<I>& rp, const Tensor<I>& ci, const Tensor<T>& values,
               const Tensor<T>& x, int64_t rows, int64_t H, int64_t C, const char* name) {
  const bool cuda = on_cuda(name, x, values, rp, ci);
  const Tensor<T> vc = values.detach().contiguous(), xc = x.detach().contiguous();
  Shape out_shape = x.shape();
  out_shape[0] = rows;
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
  const int64_t cols = x.size(0), nnz = ci.numel();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      const Tensor<T> va = detail::aligned_for_cusparse(vc), xa = detail::aligned_for_cusparse(xc);
      cuda::spmm_csr(out.data_ptr(), rp.data_ptr(), ci.data_ptr(), va.data_ptr(), xa.data_ptr(),
                     rows, cols, nnz, H, C, x.device().index);
    }
  } else {
    cpu::spmm(rp.data_ptr(), ci.data_ptr(), vc.data_ptr(), xc.data_ptr(), rows, nnz, H, C,
              out.data_ptr());
  }
  return out;
}

// out [nnz] (p, q [rows / cols, F]) or [nnz, H] (p, q [rows / cols, H, C]): <p[r_k], q[c_k]>
// per head at A's entries, for A's index arrays rp, ci on p's device (shapes checked).
template <class T, class I>
Tensor<T> sddmm(const Tensor<I>& rp, const Tensor<I>& ci, const Tensor<T>& p, const Tensor<T>& q,
                int64_t rows, int64_t H, int64_t C, const char* name) {
  const bool cuda = on_cuda(name, p, q, rp, ci);
  const Tensor<T> pc = p.detach().contiguous(), qc = q.detach().contiguous();
  const int64_t nnz = ci.numel();
  Tensor<T> out =
      p.dim() == 3 ? Tensor<T>::empty({nnz, H}, p.device()) : Tensor<T>::empty({nnz}, p.device());
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      cuda::sddmm_csr(out.data_ptr(), rp.data_ptr(), ci.data_ptr(), pc.data_ptr(), qc.data_ptr(),
                      rows, H, C, p.device().index);
    }
  } else {
    cpu::sddmm(rp.data_ptr(), ci.data_ptr(), pc.data_ptr(), qc.data_ptr(), rows, nnz, H, C,
               out.data_ptr());
  }
  return out;
}

// Softmax of src [E, H...] over the segments of rp (int64 [nseg + 1], checked, on src's
// device), per column.
template <class T>
Tensor<T> segment_softmax_forward(const Tensor<T>& src, const Tensor<int64_t>& rp,
                                  const char* name) {
  const bool cuda = on_cuda(name, src, rp);
  const Tensor<T> s = src.detach().contiguous();
  const Tensor<int64_t> rpc = rp.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty(src.shape(), src.device());
  const int64_t nseg = rp.numel() - 1, H = src.size(0) ? src.numel() / src.size(0) : 0;
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      cuda::segment_softmax_forward(out.data_ptr(), s.data_ptr(), rpc.data_ptr(), nseg, H,
                                    src.device().index);
    }
  } else {
    cpu::segment_softmax_forward(s.data_ptr(), rpc.data_ptr(), nseg, H, out.data_ptr());
  }
  return out;
}

// Its gradient from the output gradient g and the output y (same shape), over rp's segments.
template <class T>
Tensor<T> segment_softmax_backward(const Tensor<T>& g, const Tensor<T>& y,
                                   const Tensor<int64_t>& rp, const char* name) {
  const bool cuda = on_cuda(name, g, y, rp);
  const Tensor<T> gc = g.detach().contiguous(), yc = y.detach().contiguous();
  const Tensor<int64_t> rpc = rp.detach().contiguous();
  Tensor<T> gx = Tensor<T>::empty(y.shape(), y.device());
  const int64_t nseg = rp.numel() - 1, H = y.size(0) ? y.numel() / y.size(0) : 0;
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (gx.numel() > 0) {
      cuda::segment_softmax_backward(gx.data_ptr(), gc.data_ptr(), yc.data_ptr(), rpc.data_ptr(),
                                     nseg, H, y.device().index);
    }
  } else {
    cpu::segment_softmax_backward(gc.data_ptr(), yc.data_ptr(), rpc.data_ptr(), nseg, H,
                                  gx.data_ptr());
  }
  return gx;
}

// out[k, ...] = v[perm[k], ...] (perm int64 [n] on v's device): the rows of v in the order perm.
template <class T>
Tensor<T> gather_rows(const Tensor<T>& v, const Tensor<int64_t>& perm, const char* name) {
  const bool cuda = on_cuda(name, v, perm);
  const Tensor<T> vc = v.detach().contiguous();
  const Tensor<int64_t> pc = perm.detach().contiguous();
  Shape s = v.shape();
  s[0] = perm.numel();
  Tensor<T> out = Tensor<T>::empty(s, v.device());
  const int64_t n = perm.numel(), W = n ? out.numel() / n : 0;
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      cuda::gather_rows(out.data_ptr(), vc.data_ptr(), pc.data_ptr(), n, W, v.device().index);
    }
  } else {
    cpu::gather_rows(vc.data_ptr(), pc.data_ptr(), n, W, out.data_ptr());
  }
  return out;
}

}  // namespace backend
}  // namespace ember
