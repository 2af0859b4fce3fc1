// 2-D pooling with PyTorch's semantics: max_pool2d (with indices), avg_pool2d,
// adaptive_avg_pool2d and adaptive_max_pool2d, on [N, C, H, W] or unbatched [C, H, W] inputs.
//
// Gradients. Max pooling finds the argmax indices with a kernel; for those fixed indices its
// values are a linear map of the input (a gather at the indices), so its gradient is the
// adjoint (each input sums the outputs that selected it, gather's scatter-add) and second
// derivatives follow (detail::linear_map: the two are each other's gradient). Average pooling
// is a linear map too: a window-averaging kernel and its adjoint, each the other's gradient.
// Indices are flat positions h*W + w inside each plane, as PyTorch returns them.
//
// The kernels are in backend/pool.hpp (CPU: backend/cpu/pool.hpp); they read the window
// tables built here, so both devices pool over the same windows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ember/backend/pool.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/expanding_array.hpp>
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

using cpu::PoolGeom;
using cpu::PoolWindows;

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

// Windows of a strided / padded / dilated pool, clipped to the input (stepping by dilation).
inline PoolWindows strided_windows(const PoolGeom& g) {
  PoolWindows w;
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
inline PoolWindows adaptive_windows(const PoolGeom& g) {
  PoolWindows w;
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

// Max over each window and its index; for the fixed indices the values are a gather at them,
// whose gradient is the adjoint sum (and the adjoint's gradient the gather), so derivatives of
// any order work.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> max_pool_op(const Tensor<T>& x, const PoolGeom& g,
                                                  const PoolWindows& win, const char* name) {
  const Shape out_shape = pooled_shape(x, g.OH, g.OW), in_shape = x.shape();
  std::pair<Tensor<T>, Tensor<int64_t>> r = backend::max_pool(x, g, win, out_shape, name);
  if (any_requires_grad(x)) {
    auto fwd = [idx = r.second, g, win, out_shape, name](const Tensor<T>& v) {
      return backend::pool_gather(v, idx, g, win, out_shape, false, name);
    };
    auto adj = [idx = r.second, g, win, in_shape, name](const Tensor<T>& gr) {
      return backend::pool_gather(gr, idx, g, win, in_shape, true, name);
    };
    record(r.first, name, {x}, [fwd, adj, name](const Tensor<T>& gy) -> Grads {
      return {linear_map(gy, name, adj, fwd)};
    });
  }
  return r;
}

// Window means (inv_div per output position): a linear map, its adjoint the gradient.
template <class T>
Tensor<T> window_mean(const Tensor<T>& x, const char* name, const PoolGeom& g,
                      const PoolWindows& win, const std::vector<T>& inv_div) {
  const Shape small = x.shape(), big = pooled_shape(x, g.OH, g.OW);
  auto fwd = [small, big, g, win, inv_div, name](const Tensor<T>& v) {
    return backend::window_mean(v, g, win, inv_div, false, big, name);
  };
  auto adj = [small, big, g, win, inv_div, name](const Tensor<T>& gr) {
    return backend::window_mean(gr, g, win, inv_div, true, small, name);
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
  return detail::max_pool_op(input, g, detail::strided_windows(g), "max_pool2d");
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
  return detail::max_pool_op(input, g, detail::adaptive_windows(g), "adaptive_max_pool2d");
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
  const detail::PoolWindows win = detail::strided_windows(g);
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
  const detail::PoolWindows win = detail::adaptive_windows(g);
  std::vector<T> inv(size_t(g.OH * g.OW));
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow)
      inv[size_t(oh * g.OW + ow)] =
          T(1) / T((win.h_hi[size_t(oh)] - win.h_lo[size_t(oh)]) *
                   (win.w_hi[size_t(ow)] - win.w_lo[size_t(ow)]));
  return detail::window_mean(input, "adaptive_avg_pool2d", g, win, inv);
}

}  // namespace ember
