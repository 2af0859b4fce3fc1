// Pooling kernels (ops/pool.hpp) on the input's device: the CPU kernels of
// backend/cpu/pool.hpp or the CUDA kernels of cuda/ember/cuda/pool.cuh. Kernels only: the ops
// record the rules. Both read the window tables the op builds (cpu::PoolWindows), so values
// and indices are the same on both devices.
//
// Determinism: the CUDA adjoints are gathers over the covering windows (inverse lists built on
// the host), not atomics, so every result is bitwise reproducible.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <ember/backend/cpu/pool.hpp>
#include <ember/backend/device.hpp>
#include <ember/backend/upsample.hpp>  // detail::upload, detail::append_inverse
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// Pooling of planes [P, H, W] -> [P, OH, OW]. The windows are cpu::PoolWindows's tables
// (device): `windows` holds h_lo [OH], h_hi [OH], w_lo [OW], w_hi [OW], concatenated; the
// window of (oh, ow) is rows [h_lo, h_hi) stepping step[0] by columns [w_lo, w_hi) stepping
// step[1].
struct PoolShape {
  int64_t P = 1, H = 1, W = 1, OH = 1, OW = 1;
  int64_t step[2] = {1, 1};
};

// The launchers of cuda/ember/cuda/pool.cuh, for T = float and double. All buffers contiguous
// device memory.
//
// Max of each window (NaN wins, first maximum on ties) and its flat index h*W + w.
template <class T>
void max_pool_forward(const PoolShape& g, const int64_t* windows, const T* x, T* y, int64_t* idx,
                      int device);
// y[p, o] = x[p, idx[p, o]] for P planes of n_in inputs and n_out outputs.
template <class T>
void plane_gather(const T* x, const int64_t* idx, T* y, int64_t P, int64_t n_in, int64_t n_out,
                  int device);
// Window sums scaled by inv_div [OH*OW] (device): src [P, H, W] -> out [P, OH, OW].
template <class T>
void window_mean(const PoolShape& g, const int64_t* windows, const T* src, const T* inv_div,
                 T* out, int device);
// The adjoints of the two, as gathers (no atomics: deterministic, each input summed over its
// windows in output order): out [P, H, W] (overwritten) from src [P, OH, OW]. The covering
// windows of each row h are entries[offsets[h] .. offsets[h + 1]) (output rows oh), of each
// column w entries[offsets[H + 1 + w] .. offsets[H + 2 + w]) (output columns ow). With idx
// (max pooling) an output adds where idx[p, oh*OW + ow] == h*W + w; else (average pooling)
// each adds src * inv_div[oh*OW + ow].
template <class T>
void pool_adjoint(const PoolShape& g, const int64_t* offsets, const int64_t* entries,
                  const int64_t* idx, const T* inv_div, const T* src, T* out, int device);

}  // namespace cuda

namespace backend {

namespace detail {

// The planes geometry of g and its windows win, for the CUDA kernels.
inline cuda::PoolShape pool_shape(const cpu::PoolGeom& g, const cpu::PoolWindows& win) {
  cuda::PoolShape s;
  s.P = g.P, s.H = g.H, s.W = g.W, s.OH = g.OH, s.OW = g.OW;
  s.step[0] = win.h_step, s.step[1] = win.w_step;
  return s;
}

// The window tables of PoolShape (h_lo, h_hi, w_lo, w_hi) on `dev`.
inline Tensor<int64_t> upload_windows(const cpu::PoolWindows& win, Device dev) {
  std::vector<int64_t> flat;
  for (const auto* v : {&win.h_lo, &win.h_hi, &win.w_lo, &win.w_hi})
    flat.insert(flat.end(), v->begin(), v->end());
  return upload(flat, dev);
}

// The adjoint of a pooling on CUDA (max with idx, else the window mean with inv): src
// [P, OH, OW] -> out [P, H, W] through the inverse lists of the windows.
template <class T>
void pool_adjoint_cuda(const cpu::PoolGeom& g, const cpu::PoolWindows& win,
                       const Tensor<int64_t>& idx, const Tensor<T>& inv, const Tensor<T>& src,
                       Tensor<T>& out) {
  const Device dev = src.device();
  std::vector<int64_t> offsets, entries;
  auto axis = [&](int64_t n_in, int64_t n_out, const std::vector<int64_t>& lo,
                  const std::vector<int64_t>& hi, int64_t step) {
    append_inverse<int64_t>(
        n_in,
        [&](const auto& emit) {
          for (int64_t o = 0; o < n_out; ++o)
            for (int64_t i = lo[size_t(o)]; i < hi[size_t(o)]; i += step) emit(i, o, 0);
        },
        offsets, entries, nullptr);
  };
  axis(g.H, g.OH, win.h_lo, win.h_hi, win.h_step);  // offsets [0, H], then
  axis(g.W, g.OW, win.w_lo, win.w_hi, win.w_step);  // [H + 1, H + W + 1]
  const Tensor<int64_t> doff = upload(offsets, dev);
  const Tensor<int64_t> dent = entries.empty() ? Tensor<int64_t>() : upload(entries, dev);
  cuda::pool_adjoint(pool_shape(g, win), doff.data_ptr(),
                     dent.defined() ? dent.data_ptr() : nullptr,
                     idx.defined() ? idx.data_ptr() : nullptr,
                     inv.defined() ? inv.data_ptr() : nullptr, src.data_ptr(), out.data_ptr(),
                     dev.index);
}

}  // namespace detail

// Max over each window of x and the flat index (h*W + w within its plane) it came from; both
// of out_shape.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> max_pool(const Tensor<T>& x, const cpu::PoolGeom& g,
                                               const cpu::PoolWindows& win, const Shape& out_shape,
                                               const char* name) {
  const bool cuda = on_cuda(name, x);
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
  Tensor<int64_t> idx = Tensor<int64_t>::empty(out_shape, x.device());
  const Tensor<T> xc = x.detach().contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      const Tensor<int64_t> tables = detail::upload_windows(win, x.device());
      cuda::max_pool_forward(detail::pool_shape(g, win), tables.data_ptr(), xc.data_ptr(),
                             out.data_ptr(), idx.data_ptr(), x.device().index);
    }
  } else {
    cpu::max_pool<T>(g, win, xc.data_ptr(), out.data_ptr(), idx.data_ptr());
  }
  return {out, idx};
}

// Max pooling's values as a linear map of src for the fixed indices idx [..., OH, OW]: forward
// reads src [..., H, W] at idx into out_shape; the adjoint sums src [..., OH, OW] back into
// out_shape [..., H, W] at idx (on CUDA a gather over the covering windows win, so no atomics).
template <class T>
Tensor<T> pool_gather(const Tensor<T>& src, const Tensor<int64_t>& idx, const cpu::PoolGeom& g,
                      const cpu::PoolWindows& win, const Shape& out_shape, bool adjoint,
                      const char* name) {
  const bool cuda = on_cuda(name, src, idx);
  Tensor<T> out = Tensor<T>::empty(out_shape, src.device());
  const Tensor<T> sc = src.detach().contiguous();
  const Tensor<int64_t> ic = idx.contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      if (adjoint)
        detail::pool_adjoint_cuda(g, win, ic, Tensor<T>(), sc, out);
      else
        cuda::plane_gather(sc.data_ptr(), ic.data_ptr(), out.data_ptr(), g.P, g.H * g.W,
                           g.OH * g.OW, src.device().index);
    }
  } else {
    cpu::pool_gather<T>(g, sc.data_ptr(), ic.data_ptr(), out.data_ptr(), adjoint);
  }
  return out;
}

// Window means (inv_div per output position) of src, or their adjoint; out of out_shape.
template <class T>
Tensor<T> window_mean(const Tensor<T>& src, const cpu::PoolGeom& g, const cpu::PoolWindows& win,
                      const std::vector<T>& inv_div, bool adjoint, const Shape& out_shape,
                      const char* name) {
  const bool cuda = on_cuda(name, src);
  Tensor<T> out = Tensor<T>::empty(out_shape, src.device());
  const Tensor<T> sc = src.detach().contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) {
      no_cuda_kernel<T>(name);
    } else if (out.numel() > 0) {
      const Tensor<T> inv = detail::upload(inv_div, src.device());
      if (adjoint) {
        detail::pool_adjoint_cuda(g, win, Tensor<int64_t>(), inv, sc, out);
      } else {
        const Tensor<int64_t> tables = detail::upload_windows(win, src.device());
        cuda::window_mean(detail::pool_shape(g, win), tables.data_ptr(), sc.data_ptr(),
                          inv.data_ptr(), out.data_ptr(), src.device().index);
      }
    }
  } else {
    cpu::window_mean<T>(g, win, sc.data_ptr(), inv_div, out.data_ptr(), adjoint);
  }
  return out;
}

}  // namespace backend
}  // namespace ember
