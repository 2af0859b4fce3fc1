// 2-D pooling with PyTorch's semantics: max_pool2d (with indices), avg_pool2d,
// adaptive_avg_pool2d and adaptive_max_pool2d, on [N, C, H, W] or unbatched [C, H, W] inputs.
//
// Gradients. Max pooling finds the argmax indices with a kernel and then reads the values
// through gather over the flattened planes, so its gradient is gather's (a scatter-add at the
// indices) and second derivatives follow (both are linear for fixed indices). Average pooling
// is a linear map: a window-averaging kernel and its adjoint, each the other's gradient.
// Indices are flat positions h*W + w inside each plane, as PyTorch returns them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cuda/dispatch_spatial.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/expanding_array.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/upsample.hpp>  // detail::linear_map

namespace ember {

// stride 0 (the default) means stride = kernel_size, as PyTorch's stride=None.
struct MaxPool2dOptions {
  ExpandingArray<2> stride = 0;
  ExpandingArray<2> padding = 0;
  ExpandingArray<2> dilation = 1;
  bool ceil_mode = false;
};

struct AvgPool2dOptions {
  ExpandingArray<2> stride = 0;
  ExpandingArray<2> padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;  // 0: none
};

namespace detail {

// Output size of one pooled dim (PyTorch's pooling_output_shape).
inline int64_t pool_out_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil,
                             bool ceil_mode) {
  const int64_t span = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  // The last window must start inside the input or the left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

struct PoolGeom {
  int64_t P = 1, H = 1, W = 1, OH = 1, OW = 1;
  int64_t k[2] = {1, 1}, s[2] = {1, 1}, p[2] = {0, 0}, d[2] = {1, 1};
};

// Checks a pooling input and returns the planes geometry (without output sizes).
template <class T>
PoolGeom pool_input(const char* op, const Tensor<T>& x) {
  EMBER_CHECK(x.defined() && (x.dim() == 3 || x.dim() == 4), op,
              ": expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape ",
              x.defined() ? shape_str(x.shape()) : std::string("(undefined)"));
  PoolGeom g;
  g.H = x.size(-2);
  g.W = x.size(-1);
  g.P = x.size(0) * (x.dim() == 4 ? x.size(1) : 1);  // planes
  EMBER_CHECK(g.H > 0 && g.W > 0, op, ": input ", shape_str(x.shape()),
              " has an empty spatial dim");
  return g;
}

template <class T>
PoolGeom pool_geom(const char* op, const Tensor<T>& x, const ExpandingArray<2>& kernel,
                   const ExpandingArray<2>& stride, const ExpandingArray<2>& padding,
                   const ExpandingArray<2>& dilation, bool ceil_mode) {
  PoolGeom g = pool_input(op, x);
  for (int i = 0; i < 2; ++i) {
    g.k[i] = kernel[i];
    g.s[i] = stride[i] == 0 ? kernel[i] : stride[i];
    g.p[i] = padding[i];
    g.d[i] = dilation[i];
    EMBER_CHECK(g.k[i] >= 1 && g.s[i] >= 1 && g.d[i] >= 1 && g.p[i] >= 0, op,
                ": expected positive kernel_size, stride and dilation and non-negative padding, "
                "got kernel_size ", kernel.str(), ", stride ", stride.str(), ", padding ",
                padding.str(), ", dilation ", dilation.str());
    EMBER_CHECK(g.p[i] <= g.k[i] / 2, op, ": padding ", padding.str(),
                " should be at most half of kernel_size ", kernel.str());
  }
  g.OH = pool_out_size(g.H, g.k[0], g.p[0], g.s[0], g.d[0], ceil_mode);
  g.OW = pool_out_size(g.W, g.k[1], g.p[1], g.s[1], g.d[1], ceil_mode);
  EMBER_CHECK(g.OH >= 1 && g.OW >= 1, op, ": kernel_size ", kernel.str(), " (dilation ",
              dilation.str(), ", padding ", padding.str(), ") is larger than the input ",
              shape_str(x.shape()), "; output would be ", g.OH, "x", g.OW);
  return g;
}

template <class T>
Shape pooled_shape(const Tensor<T>& x, int64_t OH, int64_t OW) {
  Shape s = x.shape();
  s[s.size() - 2] = OH;
  s[s.size() - 1] = OW;
  return s;
}

// Argmax (NaN wins, first maximum on ties) of each window; rows give the window bounds per
// output position: [h_lo[oh], h_hi[oh]) stepping h_step, likewise for w.
struct Windows {
  std::vector<int64_t> h_lo, h_hi, w_lo, w_hi;
  int64_t h_step = 1, w_step = 1;
};

// Windows of a strided / padded / dilated pool, clipped to the input (stepping by dilation).
inline Windows strided_windows(const PoolGeom& g) {
  Windows w;
  w.h_step = g.d[0];
  w.w_step = g.d[1];
  auto axis = [](int64_t out, int64_t in, int64_t k, int64_t s, int64_t p, int64_t d,
                 std::vector<int64_t>& lo, std::vector<int64_t>& hi) {
    lo.resize(size_t(out));
    hi.resize(size_t(out));
    for (int64_t o = 0; o < out; ++o) {
      int64_t start = o * s - p, end = start + (k - 1) * d + 1;
      while (start < 0) start += d;
      end = std::min(end, in);
      lo[size_t(o)] = start;
      hi[size_t(o)] = std::max(start, end);
    }
  };
  axis(g.OH, g.H, g.k[0], g.s[0], g.p[0], g.d[0], w.h_lo, w.h_hi);
  axis(g.OW, g.W, g.k[1], g.s[1], g.p[1], g.d[1], w.w_lo, w.w_hi);
  return w;
}

// Adaptive windows: [floor(o*in/out), ceil((o+1)*in/out)).
inline Windows adaptive_windows(const PoolGeom& g) {
  Windows w;
  auto axis = [](int64_t out, int64_t in, std::vector<int64_t>& lo, std::vector<int64_t>& hi) {
    lo.resize(size_t(out));
    hi.resize(size_t(out));
    for (int64_t o = 0; o < out; ++o) {
      lo[size_t(o)] = (o * in) / out;
      hi[size_t(o)] = ((o + 1) * in + out - 1) / out;
    }
  };
  axis(g.OH, g.H, w.h_lo, w.h_hi);
  axis(g.OW, g.W, w.w_lo, w.w_hi);
  return w;
}

template <class T>
void max_pool_kernel(const PoolGeom& g, const Windows& win, const T* x, T* out, int64_t* idx) {
  cpu::parallel_for(g.P, g.P * g.OH * g.OW * 4, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* xp = x + p * g.H * g.W;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          T best = -std::numeric_limits<T>::infinity();
          int64_t arg = -1;
          for (int64_t h = win.h_lo[size_t(oh)]; h < win.h_hi[size_t(oh)]; h += win.h_step)
            for (int64_t w = win.w_lo[size_t(ow)]; w < win.w_hi[size_t(ow)]; w += win.w_step) {
              const T v = xp[h * g.W + w];
              if (arg < 0 || v > best || std::isnan(v)) {
                best = v;
                arg = h * g.W + w;
                if (std::isnan(v)) goto done;
              }
            }
        done:
          const int64_t o = (p * g.OH + oh) * g.OW + ow;
          out[o] = best;
          idx[o] = arg < 0 ? 0 : arg;
        }
    }
  });
}

// Max pooling on CUDA (dispatch_spatial.hpp): the argmax kernel, then, when differentiating,
// the values as a linear map of x for the fixed indices (a gather at the indices, whose
// adjoint sums into each input the outputs that selected it, and vice versa), so derivatives
// of any order work as through the CPU's gather.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> max_pool_cuda(const Tensor<T>& x, const PoolGeom& g,
                                                    const Windows& win) {
  const Shape out_shape = pooled_shape(x, g.OH, g.OW), in_shape = x.shape();
  std::pair<Tensor<T>, Tensor<int64_t>> r = cuda::max_pool(x, g, win, out_shape);
  if (any_requires_grad(x)) {
    const Tensor<int64_t> idx = r.second;
    auto fwd = [idx, g, win, out_shape](const Tensor<T>& v) {
      return cuda::pool_gather(v, idx, g, win, out_shape, false);
    };
    auto adj = [idx, g, win, in_shape](const Tensor<T>& gr) {
      return cuda::pool_gather(gr, idx, g, win, in_shape, true);
    };
    r.first = linear_map(x, "max_pool2d", fwd, adj);
  }
  return r;
}

// Values at the argmax indices, through gather (whose gradient is the scatter-add).
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> max_pool_common(const Tensor<T>& x, const PoolGeom& g,
                                                      const Windows& win) {
  if (cuda::use_cuda("max_pool2d", x)) return max_pool_cuda(x, g, win);
  const Shape out_shape = pooled_shape(x, g.OH, g.OW);
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
  Tensor<int64_t> idx = Tensor<int64_t>::empty(out_shape, x.device());
  const Tensor<T> xc = x.detach().contiguous();
  max_pool_kernel(g, win, xc.data_ptr(), out.data_ptr(), idx.data_ptr());
  if (any_requires_grad(x))
    out = gather(x.reshape({g.P, g.H * g.W}), 1, idx.view({g.P, g.OH * g.OW})).view(out_shape);
  return {out, idx};
}

// Window means: out[p, oh, ow] = sum over the window / div[oh][ow] (forward) or its adjoint.
template <class T>
Tensor<T> window_mean_kernel(const Tensor<T>& src, const Shape& small, const Shape& big,
                             const PoolGeom& g, const Windows& win, const std::vector<T>& inv_div,
                             bool adjoint) {
  if (cuda::use_cuda("avg_pool2d", src))
    return cuda::window_mean(src, g, win, inv_div, adjoint, adjoint ? small : big);
  Tensor<T> out = adjoint ? Tensor<T>::zeros(small, src.device()) : Tensor<T>::empty(big, src.device());
  const T* s = src.data_ptr();
  T* o = out.data_ptr();
  cpu::parallel_for(g.P, g.P * g.OH * g.OW * 4, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t oi = (p * g.OH + oh) * g.OW + ow;
          const T scale = inv_div[size_t(oh * g.OW + ow)];
          if (!adjoint) {
            const T* xp = s + p * g.H * g.W;
            T acc = T(0);
            for (int64_t h = win.h_lo[size_t(oh)]; h < win.h_hi[size_t(oh)]; h += win.h_step)
              for (int64_t w = win.w_lo[size_t(ow)]; w < win.w_hi[size_t(ow)]; w += win.w_step)
                acc += xp[h * g.W + w];
            o[oi] = acc * scale;
          } else {
            T* xp = o + p * g.H * g.W;
            const T v = s[oi] * scale;
            for (int64_t h = win.h_lo[size_t(oh)]; h < win.h_hi[size_t(oh)]; h += win.h_step)
              for (int64_t w = win.w_lo[size_t(ow)]; w < win.w_hi[size_t(ow)]; w += win.w_step)
                xp[h * g.W + w] += v;
          }
        }
  });
  return out;
}

template <class T>
Tensor<T> window_mean(const Tensor<T>& x, const char* name, const PoolGeom& g, const Windows& win,
                      const std::vector<T>& inv_div) {
  const Shape small = x.shape(), big = pooled_shape(x, g.OH, g.OW);
  auto fwd = [small, big, g, win, inv_div](const Tensor<T>& v) {
    return window_mean_kernel(v, small, big, g, win, inv_div, false);
  };
  auto adj = [small, big, g, win, inv_div](const Tensor<T>& gr) {
    return window_mean_kernel(gr, small, big, g, win, inv_div, true);
  };
  return linear_map(x, name, fwd, adj);
}

template <class T>
void check_pool_dtype() {
  static_assert(std::is_floating_point_v<T>, "pooling needs float or double tensors");
}

inline void adaptive_sizes(PoolGeom& g, const ExpandingArray<2>& output_size, const char* op) {
  EMBER_CHECK(output_size[0] >= 1 && output_size[1] >= 1, op,
              ": output_size must be positive, got ", output_size.str());
  g.OH = output_size[0];
  g.OW = output_size[1];
}

}  // namespace detail

// ---------------------------------------------------------------------- max pooling

// Max over each window, and the flat index (h*W + w within its plane) it came from.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> max_pool2d_with_indices(const Tensor<T>& input,
                                                              ExpandingArray<2> kernel_size,
                                                              MaxPool2dOptions options = {}) {
  detail::check_pool_dtype<T>();
  const detail::PoolGeom g =
      detail::pool_geom("max_pool2d", input, kernel_size, options.stride, options.padding,
                        options.dilation, options.ceil_mode);
  return detail::max_pool_common(input, g, detail::strided_windows(g));
}

template <class T>
Tensor<T> max_pool2d(const Tensor<T>& input, ExpandingArray<2> kernel_size,
                     MaxPool2dOptions options = {}) {
  return max_pool2d_with_indices(input, kernel_size, options).first;
}

// Windows [floor(i*H/OH), ceil((i+1)*H/OH)) (they overlap when H is not a multiple of OH).
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> adaptive_max_pool2d_with_indices(
    const Tensor<T>& input, ExpandingArray<2> output_size) {
  detail::check_pool_dtype<T>();
  detail::PoolGeom g = detail::pool_input("adaptive_max_pool2d", input);
  detail::adaptive_sizes(g, output_size, "adaptive_max_pool2d");
  return detail::max_pool_common(input, g, detail::adaptive_windows(g));
}

template <class T>
Tensor<T> adaptive_max_pool2d(const Tensor<T>& input, ExpandingArray<2> output_size) {
  return adaptive_max_pool2d_with_indices(input, output_size).first;
}

// ---------------------------------------------------------------------- average pooling

template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& input, ExpandingArray<2> kernel_size,
                     AvgPool2dOptions options = {}) {
  detail::check_pool_dtype<T>();
  const detail::PoolGeom g = detail::pool_geom("avg_pool2d", input, kernel_size, options.stride,
                                               options.padding, 1, options.ceil_mode);
  EMBER_CHECK(options.divisor_override >= 0, "avg_pool2d: divisor_override must be positive, got ",
              options.divisor_override);
  const detail::Windows win = detail::strided_windows(g);
  // PyTorch's divisor: the window clipped to the padded input (count_include_pad) or to the
  // input itself, unless overridden.
  std::vector<T> inv(size_t(g.OH * g.OW));
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const int64_t hs = oh * g.s[0] - g.p[0], ws = ow * g.s[1] - g.p[1];
      const int64_t he = std::min(hs + g.k[0], g.H + g.p[0]), we = std::min(ws + g.k[1], g.W + g.p[1]);
      int64_t div;
      if (options.divisor_override > 0) div = options.divisor_override;
      else if (options.count_include_pad) div = (he - hs) * (we - ws);
      else div = (win.h_hi[size_t(oh)] - win.h_lo[size_t(oh)]) * (win.w_hi[size_t(ow)] - win.w_lo[size_t(ow)]);
      inv[size_t(oh * g.OW + ow)] = div > 0 ? T(1) / T(div) : T(0);
    }
  return detail::window_mean(input, "avg_pool2d", g, win, inv);
}

// Mean over the adaptive windows of max_pool's adaptive variant.
template <class T>
Tensor<T> adaptive_avg_pool2d(const Tensor<T>& input, ExpandingArray<2> output_size) {
  detail::check_pool_dtype<T>();
  detail::PoolGeom g = detail::pool_input("adaptive_avg_pool2d", input);
  detail::adaptive_sizes(g, output_size, "adaptive_avg_pool2d");
  const detail::Windows win = detail::adaptive_windows(g);
  std::vector<T> inv(size_t(g.OH * g.OW));
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow)
      inv[size_t(oh * g.OW + ow)] =
          T(1) / T((win.h_hi[size_t(oh)] - win.h_lo[size_t(oh)]) *
                   (win.w_hi[size_t(ow)] - win.w_lo[size_t(ow)]));
  return detail::window_mean(input, "adaptive_avg_pool2d", g, win, inv);
}

}  // namespace ember
