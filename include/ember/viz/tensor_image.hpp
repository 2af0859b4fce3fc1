// Tensors as images: an image tensor ([H, W], [1, H, W] or [3, H, W]) to 8-bit pixels, a
// [H, W] tensor to a heat map, a [H, W] label tensor to a mask picture. CUDA and
// non-contiguous tensors are copied to a contiguous host buffer first.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/tensor.hpp"
#include "ember/viz/canvas.hpp"
#include "ember/viz/heatmap.hpp"
#include "ember/viz/mask.hpp"

namespace ember::viz {

namespace detail {

inline int checked_extent(int64_t n, const char* fn, const Shape& shape) {
  EMBER_CHECK(n >= 1 && n <= (int64_t{1} << 30), fn, ": tensor of shape ", shape_str(shape),
              " has an image side of ", n, "; expected 1 .. 2^30");
  return static_cast<int>(n);
}

}  // namespace detail

// An image of a [H, W] (grey), [1, H, W] (grey) or [3, H, W] (RGB, channels first) tensor.
// The value lo becomes 0 and hi becomes 255, linearly; values outside are clamped. The
// default range [0, 1] suits images as the data loaders give them; for a normalised image
// pass its range (e.g. lo = -1, hi = 1). Grey stays one channel: to_rgb() repeats it.
template <class T>
Image tensor_to_image(const Tensor<T>& t, double lo = 0.0, double hi = 1.0) {
  static_assert(std::is_arithmetic_v<T>, "tensor_to_image: expected a real tensor");
  const Shape& s = t.shape();
  EMBER_CHECK(s.size() == 2 || (s.size() == 3 && (s[0] == 1 || s[0] == 3)),
              "tensor_to_image: tensor has shape ", shape_str(s),
              "; expected [H, W], [1, H, W] or [3, H, W]");
  EMBER_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi, "tensor_to_image: value range [",
              lo, ", ", hi, "] is invalid; expected lo < hi");
  const int channels = s.size() == 2 ? 1 : static_cast<int>(s[0]);
  const int height = detail::checked_extent(s[s.size() - 2], "tensor_to_image", s);
  const int width = detail::checked_extent(s[s.size() - 1], "tensor_to_image", s);
  detail::check_size(height, width, "tensor_to_image");
  const std::vector<T> values = t.to_vector();  // CHW order
  Image img;
  img.height = height;
  img.width = width;
  img.channels = channels;
  img.pixels.resize(values.size());
  const size_t plane = static_cast<size_t>(height) * static_cast<size_t>(width);
  for (size_t ch = 0; ch < static_cast<size_t>(channels); ++ch) {
    for (size_t i = 0; i < plane; ++i) {
      const double v = static_cast<double>(values[ch * plane + i]);
      EMBER_CHECK(!std::isnan(v), "tensor_to_image: NaN at channel ", ch, ", row ",
                  i / static_cast<size_t>(width), ", column ", i % static_cast<size_t>(width),
                  " of a tensor of shape ", shape_str(s));
      const double scaled = std::clamp((v - lo) / (hi - lo), 0.0, 1.0) * 255.0;
      img.pixels[i * static_cast<size_t>(channels) + ch] =
          static_cast<uint8_t>(std::lround(scaled));
    }
  }
  return img;
}

// heatmap() of a [H, W] tensor; see heatmap.hpp for lo, hi and the colormap.
template <class T>
Image heatmap(const Tensor<T>& values, double lo, double hi, Colormap map = Colormap::Viridis) {
  static_assert(std::is_arithmetic_v<T>, "heatmap: expected a real tensor");
  const Shape& s = values.shape();
  EMBER_CHECK(s.size() == 2, "heatmap: tensor has shape ", shape_str(s), "; expected [H, W]");
  const int height = detail::checked_extent(s[0], "heatmap", s);
  const int width = detail::checked_extent(s[1], "heatmap", s);
  const std::vector<T> v = values.to_vector();
  return detail::heatmap_impl(v.data(), v.size(), height, width, lo, hi, map);
}

// mask_to_rgb() of a [H, W] integer label tensor; see mask.hpp.
template <std::integral L>
Image mask_to_rgb(const Tensor<L>& labels, const MaskPalette& palette = default_mask_palette()) {
  const Shape& s = labels.shape();
  EMBER_CHECK(s.size() == 2, "mask_to_rgb: label tensor has shape ", shape_str(s),
              "; expected [H, W]");
  const int height = detail::checked_extent(s[0], "mask_to_rgb", s);
  const int width = detail::checked_extent(s[1], "mask_to_rgb", s);
  return mask_to_rgb(labels.to_vector(), height, width, palette);
}

}  // namespace ember::viz
