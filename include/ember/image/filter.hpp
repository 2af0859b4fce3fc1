// Separable 2-D filtering of image planes: the plumbing under the Gaussian, box and Sobel
// filters. Any tensor [..., H, W] is a stack of planes; each plane is filtered on its own
// (the leading dims are flattened into a batch of one-channel images), so the same call
// serves [H, W], [C, H, W], [N, C, H, W] and [T, H, W] frames.
//
// The filter is two 1-D cross-correlations (along W, then along H) done with conv2d after
// padding the border, so it runs wherever conv2d and pad run (CPU, CUDA) and is
// differentiable in the input.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/conv.hpp>
#include <ember/ops/upsample.hpp>
#include <vector>

namespace ember::image {

// How the plane is extended beyond its edges: mirrored without repeating the edge pixel
// (dcb|abcd|cba, the usual choice for blur), the edge pixel repeated (aaa|abcd|ddd), or
// zeros.
enum class Border { Reflect, Replicate, Zero };

namespace detail {

inline const char* border_name(Border b) {
  return b == Border::Reflect ? "reflect" : b == Border::Replicate ? "replicate" : "zero";
}

// x [..., H, W] checked to have at least two dims, non-empty planes.
template <class T>
void check_planes(const Tensor<T>& x, const char* op) {
  EMBER_CHECK(x.defined() && x.dim() >= 2, op, ": expected a tensor [..., H, W], got ",
              x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  EMBER_CHECK(x.size(-1) > 0 && x.size(-2) > 0, op, ": expected non-empty planes, got shape ",
              shape_str(x.shape()));
}

// [..., H, W] -> [N, 1, H, W] with N the product of the leading dims.
template <class T>
Tensor<T> as_plane_batch(const Tensor<T>& x) {
  const int64_t h = x.size(-2), w = x.size(-1);
  return x.reshape({x.numel() / (h * w), 1, h, w});
}

}  // namespace detail

// Cross-correlates every plane of x [..., H, W] with the 2-D kernel outer(along_h, along_w):
// out(i, j) = sum_{a, b} along_h[a] along_w[b] x(i + a - rh, j + b - rw), rh and rw the kernel
// radii (both kernels must have odd length). The output has the input's shape.
template <class T>
Tensor<T> separable_filter(const Tensor<T>& x, const std::vector<double>& along_h,
                           const std::vector<double>& along_w, Border border = Border::Reflect,
                           const char* op = "separable_filter") {
  static_assert(std::is_floating_point_v<T>, "separable_filter: needs float or double tensors");
  detail::check_planes(x, op);
  EMBER_CHECK(along_h.size() % 2 == 1 && along_w.size() % 2 == 1, op,
              ": kernels need odd lengths (a centre tap), got ", along_h.size(), " along H and ",
              along_w.size(), " along W");
  const int64_t h = x.size(-2), w = x.size(-1);
  const int64_t rh = int64_t(along_h.size()) / 2, rw = int64_t(along_w.size()) / 2;
  if (border == Border::Reflect)
    EMBER_CHECK(rh < h && rw < w, op, ": reflect border needs a kernel radius below the plane ",
                "size, got radius ", rh, " x ", rw, " for planes ", h, " x ", w,
                " (use Border::Replicate or a smaller kernel)");
  const PadMode mode = border == Border::Reflect     ? PadMode::Reflect
                       : border == Border::Replicate ? PadMode::Replicate
                                                     : PadMode::Constant;
  Tensor<T> y = detail::as_plane_batch(x);
  if (rh > 0 || rw > 0) y = pad(y, {rw, rw, rh, rh}, PadOptions{.mode = mode});
  const auto kernel = [&](const std::vector<double>& k, Shape shape) {
    std::vector<T> v(k.begin(), k.end());
    return Tensor<T>::from_vector(v, shape).to(x.device());
  };
  if (rw > 0)
    y = conv2d(y, kernel(along_w, {1, 1, 1, int64_t(along_w.size())}));
  else if (along_w[0] != 1.0)
    y = mul(y, T(along_w[0]));
  if (rh > 0)
    y = conv2d(y, kernel(along_h, {1, 1, int64_t(along_h.size()), 1}));
  else if (along_h[0] != 1.0)
    y = mul(y, T(along_h[0]));
  return y.reshape(x.shape());
}

}  // namespace ember::image
