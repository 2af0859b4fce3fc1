// Tensor-level CUDA kernels of the spatial ops (conv, unfold / fold, pooling, pad,
// interpolate, batch_norm), called by the ops after cuda::use_cuda (dispatch.hpp). Kernels
// only, no autograd: each op records its own rule, built from ops that dispatch the same way.
// Inputs are detached contiguous tensors on one CUDA device; outputs are fresh contiguous
// tensors there. The geometry arguments are the ops' own (cpu::ConvGeom, pool.hpp's PoolGeom,
// upsample.hpp's tables), converted to the plain structs of api.hpp here.
//
// Determinism: no kernel here uses atomics. The adjoints (the backward of pooling, pad and
// interpolate, and fold / col2im) are gathers: each input element sums the outputs that read
// it, through inverse lists built on the host, so every result is bitwise reproducible with
// or without ember::set_deterministic.
//
// They exist in every build; in a CPU-only build use_cuda throws before any is reached, and
// their bodies throw detail::no_cuda.
#pragma once

#include <cstdint>
#include <ember/backend/cpu/im2col.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/cuda/dispatch.hpp>
#include <ember/core/tensor_def.hpp>
#include <utility>
#include <vector>

namespace ember::cuda {

namespace detail {

#ifdef EMBER_WITH_CUDA
inline ConvShape conv_shape(const cpu::ConvGeom& g) {
  ConvShape s;
  s.N = g.N, s.C = g.C, s.O = g.O, s.G = g.G;
  for (int i = 0; i < 3; ++i) {
    s.in[i] = g.in[i], s.k[i] = g.k[i], s.out[i] = g.out[i];
    s.stride[i] = g.stride[i], s.pad[i] = g.pad[i], s.dil[i] = g.dil[i];
  }
  return s;
}

// A host vector as a tensor on `dev` (the copy is enqueued; the vector may go right after).
template <class T>
Tensor<T> upload(const std::vector<T>& v, Device dev) {
  return Tensor<T>::from_vector(v, {int64_t(v.size())}).to(dev);
}

// The planes geometry of pool.hpp's PoolGeom g and its Windows win.
template <class G, class Win>
PoolShape pool_shape(const G& g, const Win& win) {
  PoolShape s;
  s.P = g.P, s.H = g.H, s.W = g.W, s.OH = g.OH, s.OW = g.OW;
  s.step[0] = win.h_step, s.step[1] = win.w_step;
  return s;
}

// The window tables of PoolShape (h_lo, h_hi, w_lo, w_hi) on `dev`.
template <class Win>
Tensor<int64_t> upload_windows(const Win& win, Device dev) {
  std::vector<int64_t> flat;
  for (const auto* v : {&win.h_lo, &win.h_hi, &win.w_lo, &win.w_hi})
    flat.insert(flat.end(), v->begin(), v->end());
  return upload(flat, dev);
}

// Appends the inverse lists of one dim of a map (the adjoint kernels' gather lists): for each
// target s < n_small, the positions o that read it, in the order emit_all reports them (and
// their weights, when `weights` is given). emit_all(emit) calls emit(s, o, weight) for every
// pair. Returns where this dim's n_small + 1 offsets start.
template <class W, class F>
int64_t append_inverse(int64_t n_small, const F& emit_all, std::vector<int64_t>& offsets,
                       std::vector<int64_t>& entries, std::vector<W>* weights) {
  const int64_t base = int64_t(offsets.size()), first = int64_t(entries.size());
  std::vector<int64_t> next(size_t(n_small) + 1, 0);
  emit_all([&](int64_t s, int64_t, W) { ++next[size_t(s) + 1]; });
  for (int64_t s = 0; s < n_small; ++s) next[size_t(s) + 1] += next[size_t(s)];
  for (int64_t s = 0; s <= n_small; ++s) offsets.push_back(first + next[size_t(s)]);
  entries.resize(size_t(first + next[size_t(n_small)]));
  if (weights) weights->resize(entries.size());
  emit_all([&](int64_t s, int64_t o, W w) {
    const int64_t at = first + next[size_t(s)]++;
    entries[size_t(at)] = o;
    if (weights) (*weights)[size_t(at)] = w;
  });
  return base;
}

// The adjoint of a pooling (max with idx, else the window mean with inv_div): src [P, OH, OW]
// -> out [P, H, W] through the inverse lists of the windows.
template <class T, class G, class Win>
void pool_adjoint(const G& g, const Win& win, const Tensor<int64_t>& idx, const Tensor<T>& inv,
                  const Tensor<T>& src, Tensor<T>& out) {
  const Device dev = src.device();
  const PoolShape ps = pool_shape(g, win);
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
  cuda::pool_adjoint(ps, doff.data_ptr(), dent.defined() ? dent.data_ptr() : nullptr,
                     idx.defined() ? idx.data_ptr() : nullptr,
                     inv.defined() ? inv.data_ptr() : nullptr, src.data_ptr(), out.data_ptr(),
                     dev.index);
}
#endif

}  // namespace detail

// ---------------------------------------------------------------- convolutions

// y [out_shape] = conv(x, w) + bias (bias may be undefined).
template <class T>
Tensor<T> conv_forward(const cpu::ConvGeom& g, const Shape& out_shape, const Tensor<T>& x,
                       const Tensor<T>& w, const Tensor<T>& bias) {
  detail::check_dtype<T>("conv");
  Tensor<T> y = Tensor<T>::empty(out_shape, x.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> xc = x.detach().contiguous(), wc = w.detach().contiguous();
    const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
    cuda::conv_forward(detail::conv_shape(g), xc.data_ptr(), wc.data_ptr(),
                       bc.defined() ? bc.data_ptr() : nullptr, y.data_ptr(), x.device().index);
#else
    (void)g, (void)w, (void)bias;
    detail::no_cuda("conv");
#endif
  }
  return y;
}

// z [in_shape] = the transposed convolution of gy (the input gradient of conv).
template <class T>
Tensor<T> conv_backward_input(const cpu::ConvGeom& g, const Shape& in_shape, const Tensor<T>& gy,
                              const Tensor<T>& w) {
  detail::check_dtype<T>("conv_transpose");
  Tensor<T> z = Tensor<T>::empty(in_shape, gy.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> gc = gy.detach().contiguous(), wc = w.detach().contiguous();
    cuda::conv_backward_input(detail::conv_shape(g), gc.data_ptr(), wc.data_ptr(), z.data_ptr(),
                              gy.device().index);
#else
    (void)g, (void)w;
    detail::no_cuda("conv_transpose");
#endif
  }
  return z;
}

// gw [w_shape] = the weight gradient of conv for input x and output gradient gy.
template <class T>
Tensor<T> conv_backward_weight(const cpu::ConvGeom& g, const Shape& w_shape, const Tensor<T>& x,
                               const Tensor<T>& gy) {
  detail::check_dtype<T>("conv_weight_grad");
  Tensor<T> gw = Tensor<T>::empty(w_shape, x.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> xc = x.detach().contiguous(), gc = gy.detach().contiguous();
    cuda::conv_backward_weight(detail::conv_shape(g), xc.data_ptr(), gc.data_ptr(), gw.data_ptr(),
                               x.device().index);
#else
    (void)g, (void)gy;
    detail::no_cuda("conv_weight_grad");
#endif
  }
  return gw;
}

// cols [N, C*K, L] = unfold(x [N, C, ...]); g.N is the number of samples.
template <class T>
Tensor<T> unfold(const cpu::ConvGeom& g, const Tensor<T>& x) {
  detail::check_dtype<T>("unfold");
  Tensor<T> out = Tensor<T>::empty({g.N, g.C * g.K(), g.L()}, x.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> xc = x.detach().contiguous();
    cuda::unfold(detail::conv_shape(g), xc.data_ptr(), out.data_ptr(), x.device().index);
#else
    detail::no_cuda("unfold");
#endif
  }
  return out;
}

// x [x_shape] = fold(cols [N, C*K, L]), the adjoint of unfold.
template <class T>
Tensor<T> fold(const cpu::ConvGeom& g, const Shape& x_shape, const Tensor<T>& cols) {
  detail::check_dtype<T>("fold");
  Tensor<T> out = Tensor<T>::empty(x_shape, cols.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> cc = cols.detach().contiguous();
    cuda::fold(detail::conv_shape(g), cc.data_ptr(), out.data_ptr(), cols.device().index);
#else
    (void)g;
    detail::no_cuda("fold");
#endif
  }
  return out;
}

// ---------------------------------------------------------------- pooling

// Max over each window of x (planes geometry g and windows win: pool.hpp's PoolGeom and
// Windows) and the flat index it came from; both of out_shape.
template <class T, class G, class Win>
std::pair<Tensor<T>, Tensor<int64_t>> max_pool(const Tensor<T>& x, const G& g, const Win& win,
                                               const Shape& out_shape) {
  detail::check_dtype<T>("max_pool2d");
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
  Tensor<int64_t> idx = Tensor<int64_t>::empty(out_shape, x.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    if (out.numel() == 0) return {out, idx};
    const Tensor<T> xc = x.detach().contiguous();
    const Tensor<int64_t> tables = detail::upload_windows(win, x.device());
    cuda::max_pool_forward(detail::pool_shape(g, win), tables.data_ptr(), xc.data_ptr(),
                           out.data_ptr(), idx.data_ptr(), x.device().index);
#else
    (void)g, (void)win;
    detail::no_cuda("max_pool2d");
#endif
  }
  return {out, idx};
}

// Max pooling's values as a linear map of x for fixed indices idx [P, OH*OW] (pool.hpp's
// geometry g and windows win): forward reads x [P, H*W] at idx into out_shape; the adjoint
// sums x [P, OH*OW] back into out_shape [P, H, W] (a gather over the covering windows, so no
// atomics: deterministic).
template <class T, class G, class Win>
Tensor<T> pool_gather(const Tensor<T>& x, const Tensor<int64_t>& idx, const G& g, const Win& win,
                      const Shape& out_shape, bool adjoint) {
  detail::check_dtype<T>("max_pool2d");
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    if (out.numel() == 0) return out;
    const Tensor<T> xc = x.detach().contiguous();
    const Tensor<int64_t> ic = idx.contiguous();
    if (adjoint)
      detail::pool_adjoint(g, win, ic, Tensor<T>(), xc, out);
    else
      cuda::plane_gather(xc.data_ptr(), ic.data_ptr(), out.data_ptr(), g.P, g.H * g.W, g.OH * g.OW,
                         x.device().index);
#else
    (void)idx, (void)g, (void)win, (void)adjoint;
    detail::no_cuda("max_pool2d");
#endif
  }
  return out;
}

// Window means (inv_div per output position) of src, or their adjoint (a gather over the
// covering windows: deterministic); out of out_shape.
template <class T, class G, class Win>
Tensor<T> window_mean(const Tensor<T>& src, const G& g, const Win& win,
                      const std::vector<T>& inv_div, bool adjoint, const Shape& out_shape) {
  detail::check_dtype<T>("avg_pool2d");
  Tensor<T> out = Tensor<T>::empty(out_shape, src.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    if (out.numel() == 0) return out;
    const Tensor<T> sc = src.detach().contiguous();
    const Tensor<T> inv = detail::upload(inv_div, src.device());
    if (adjoint) {
      detail::pool_adjoint(g, win, Tensor<int64_t>(), inv, sc, out);
    } else {
      const Tensor<int64_t> tables = detail::upload_windows(win, src.device());
      cuda::window_mean(detail::pool_shape(g, win), tables.data_ptr(), sc.data_ptr(),
                        inv.data_ptr(), out.data_ptr(), src.device().index);
    }
#else
    (void)g, (void)win, (void)inv_div, (void)adjoint;
    detail::no_cuda("avg_pool2d");
#endif
  }
  return out;
}

// ---------------------------------------------------------------- pad, interpolate

// upsample.hpp's pad_kernel: the last tables.size() dims of src (small -> big through the
// tables, fill elsewhere), or the adjoint (big -> small, summed by a gather over the inverse
// tables: deterministic).
template <class T>
Tensor<T> pad(const Tensor<T>& src, const Shape& small, const Shape& big,
              const std::vector<std::vector<int64_t>>& tables, T fill, bool adjoint) {
  detail::check_dtype<T>("pad");
  Tensor<T> out = Tensor<T>::empty(adjoint ? small : big, src.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const int64_t k = int64_t(tables.size()), nd = int64_t(small.size());
    EMBER_CHECK(k <= kMaxDims, "pad: the CUDA backend pads at most ", kMaxDims, " dims, got ", k,
                " for shape ", shape_str(small));
    if (out.numel() == 0) return out;
    SeparableShape g;
    g.k = int(k);
    for (int64_t d = 0; d < nd - k; ++d) g.outer *= small[size_t(d)];
    std::vector<int64_t> flat, entries;
    for (int64_t j = 0; j < k; ++j) {
      g.small[j] = small[size_t(nd - k + j)];
      g.big[j] = big[size_t(nd - k + j)];
      const std::vector<int64_t>& t = tables[size_t(j)];
      if (!adjoint) {
        g.base[j] = int64_t(flat.size());
        flat.insert(flat.end(), t.begin(), t.end());
      } else {
        g.base[j] = detail::append_inverse<T>(
            g.small[j],
            [&](const auto& emit) {
              for (int64_t o = 0; o < int64_t(t.size()); ++o)
                if (t[size_t(o)] >= 0) emit(t[size_t(o)], o, T(1));
            },
            flat, entries, nullptr);
      }
    }
    const Tensor<T> sc = src.detach().contiguous();
    const Tensor<int64_t> tb =
        flat.empty() ? Tensor<int64_t>() : detail::upload(flat, src.device());
    const int64_t* tp = tb.defined() ? tb.data_ptr() : nullptr;
    if (!adjoint) {
      cuda::pad(g, tp, sc.data_ptr(), double(fill), out.data_ptr(), src.device().index);
    } else {
      const Tensor<int64_t> te =
          entries.empty() ? Tensor<int64_t>() : detail::upload(entries, src.device());
      cuda::separable_adjoint(g, tp, te.defined() ? te.data_ptr() : nullptr,
                              static_cast<const T*>(nullptr), sc.data_ptr(), out.data_ptr(),
                              src.device().index);
    }
#else
    (void)small, (void)big, (void)tables, (void)fill, (void)adjoint;
    detail::no_cuda("pad");
#endif
  }
  return out;
}

// upsample.hpp's interp_kernel: planes [..., H, W] (small) -> [..., OH, OW] (big) through the
// row / column tables th / tw (InterpTable<T>), or the adjoint (a gather over the inverse
// tables: deterministic).
template <class T, class Table>
Tensor<T> interpolate(const Tensor<T>& src, const Shape& small, const Shape& big, const Table& th,
                      const Table& tw, bool adjoint) {
  detail::check_dtype<T>("interpolate");
  Tensor<T> out = Tensor<T>::empty(adjoint ? small : big, src.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const int64_t nd = int64_t(small.size());
    const int64_t H = small[size_t(nd - 2)], W = small[size_t(nd - 1)];
    const int64_t OH = big[size_t(nd - 2)], OW = big[size_t(nd - 1)];
    int64_t P = 1;
    for (int64_t d = 0; d < nd - 2; ++d) P *= small[size_t(d)];
    if (out.numel() == 0) return out;
    const Tensor<T> sc = src.detach().contiguous();
    const Device dev = src.device();
    std::vector<int64_t> idx;
    std::vector<T> wts;
    if (!adjoint) {
      for (const auto* t : {&th, &tw}) {
        idx.insert(idx.end(), t->i0.begin(), t->i0.end());
        idx.insert(idx.end(), t->i1.begin(), t->i1.end());
        wts.insert(wts.end(), t->w0.begin(), t->w0.end());
        wts.insert(wts.end(), t->w1.begin(), t->w1.end());
      }
      const Tensor<int64_t> di = detail::upload(idx, dev);
      const Tensor<T> dw = detail::upload(wts, dev);
      cuda::interpolate(sc.data_ptr(), di.data_ptr(), dw.data_ptr(), out.data_ptr(), P, H, W, OH,
                        OW, dev.index);
    } else {
      SeparableShape g;
      g.k = 2;
      g.outer = P;
      g.small[0] = H, g.small[1] = W, g.big[0] = OH, g.big[1] = OW;
      std::vector<int64_t> offsets;
      int j = 0;
      for (const auto* t : {&th, &tw}) {
        g.base[j] = detail::append_inverse<T>(
            g.small[j],
            [&](const auto& emit) {
              for (int64_t o = 0; o < g.big[j]; ++o) {
                emit(t->i0[size_t(o)], o, t->w0[size_t(o)]);
                emit(t->i1[size_t(o)], o, t->w1[size_t(o)]);
              }
            },
            offsets, idx, &wts);
        ++j;
      }
      const Tensor<int64_t> doff = detail::upload(offsets, dev), dent = detail::upload(idx, dev);
      const Tensor<T> dw = detail::upload(wts, dev);
      cuda::separable_adjoint(g, doff.data_ptr(), dent.data_ptr(), dw.data_ptr(), sc.data_ptr(),
                              out.data_ptr(), dev.index);
    }
#else
    (void)small, (void)big, (void)th, (void)tw, (void)adjoint;
    detail::no_cuda("interpolate");
#endif
  }
  return out;
}

// ---------------------------------------------------------------- batch norm

// xc [N, C, ...] contiguous. Training: mean / var (biased) are written, else read (the running
// stats); rstd written. wc / bc may be undefined. All [C] tensors on the device.
template <class T>
Tensor<T> batch_norm_forward(const Tensor<T>& xc, const Tensor<T>& wc, const Tensor<T>& bc,
                             Tensor<T>& mean, Tensor<T>& var, Tensor<T>& rstd, int64_t N, int64_t C,
                             int64_t S, bool training, double eps) {
  detail::check_dtype<T>("batch_norm");
  Tensor<T> y = Tensor<T>::empty(xc.shape(), xc.device());
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    auto ptr = [](const Tensor<T>& t) { return t.defined() ? t.data_ptr() : nullptr; };
    cuda::batch_norm_forward(xc.data_ptr(), ptr(wc), ptr(bc), y.data_ptr(), mean.data_ptr(),
                             var.data_ptr(), rstd.data_ptr(), N, C, S, training, eps,
                             xc.device().index);
#else
    (void)wc, (void)bc, (void)mean, (void)var, (void)rstd, (void)N, (void)C, (void)S,
        (void)training, (void)eps;
    detail::no_cuda("batch_norm");
#endif
  }
  return y;
}

// gx / gw / gb: allocated when wanted (else left undefined).
template <class T>
void batch_norm_backward(const Tensor<T>& g, const Tensor<T>& xc, const Tensor<T>& wc,
                         const Tensor<T>& mean, const Tensor<T>& rstd, bool want_x, bool want_w,
                         bool want_b, Tensor<T>& gx, Tensor<T>& gw, Tensor<T>& gb, int64_t N,
                         int64_t C, int64_t S, bool training) {
  detail::check_dtype<T>("batch_norm_backward");
  const Device dev = xc.device();
  if (want_x) gx = Tensor<T>::empty(xc.shape(), dev);
  if (want_w) gw = Tensor<T>::empty({C}, dev);
  if (want_b) gb = Tensor<T>::empty({C}, dev);
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> gc = g.contiguous();
    auto ptr = [](const Tensor<T>& t) { return t.defined() ? t.data_ptr() : nullptr; };
    cuda::batch_norm_backward(gc.data_ptr(), xc.data_ptr(), ptr(wc), mean.data_ptr(),
                              rstd.data_ptr(), ptr(gx), ptr(gw), ptr(gb), N, C, S, training,
                              dev.index);
#else
    (void)g, (void)wc, (void)mean, (void)rstd, (void)N, (void)S, (void)training;
    detail::no_cuda("batch_norm_backward");
#endif
  }
}

}  // namespace ember::cuda
