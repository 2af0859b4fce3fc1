// Heat maps: a grid of values coloured through a colormap, and blended over an image.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/viz/canvas.hpp"
#include "ember/viz/colormap.hpp"

namespace ember::viz {

namespace detail {

template <class T>
Image heatmap_impl(const T* values, size_t count, int height, int width, double lo, double hi,
                   Colormap map) {
  check_size(height, width, "heatmap");
  EMBER_CHECK(count == static_cast<size_t>(height) * static_cast<size_t>(width), "heatmap: got ",
              count, " values for a ", height, "x", width, " map; expected height * width = ",
              static_cast<size_t>(height) * static_cast<size_t>(width));
  EMBER_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi, "heatmap: value range [", lo, ", ",
              hi, "] is invalid; expected finite lo < hi");
  Image img = blank(height, width);
  for (size_t i = 0; i < count; ++i) {
    const double v = static_cast<double>(values[i]);
    EMBER_CHECK(std::isfinite(v), "heatmap: value at (row ", i / static_cast<size_t>(width),
                ", column ", i % static_cast<size_t>(width), ") is ", v,
                "; expected a finite number");
    const Rgb c = colormap_colour(map, (v - lo) / (hi - lo));
    img.pixels[i * 3] = c.r;
    img.pixels[i * 3 + 1] = c.g;
    img.pixels[i * 3 + 2] = c.b;
  }
  return img;
}

}  // namespace detail

// An RGB image of height x width values (row-major): lo maps to the colormap's first colour,
// hi to its last, values outside [lo, hi] are clamped. A fixed range (not each map's own
// min / max) keeps maps of one figure comparable. Non-finite values throw.
inline Image heatmap(const std::vector<float>& values, int height, int width, double lo, double hi,
                     Colormap map = Colormap::Viridis) {
  return detail::heatmap_impl(values.data(), values.size(), height, width, lo, hi, map);
}

inline Image heatmap(const std::vector<double>& values, int height, int width, double lo, double hi,
                     Colormap map = Colormap::Viridis) {
  return detail::heatmap_impl(values.data(), values.size(), height, width, lo, hi, map);
}

// `heat` blended over `image`, pixel by pixel: round((1 - alpha) * image + alpha * heat),
// both taken as RGB (grey is repeated, alpha dropped). The two must have the same size:
// resize a coarse map (e.g. a 7x7 CAM) with resize_bilinear first.
inline Image overlay(const Image& image, const Image& heat, double alpha) {
  detail::check_image(image, "overlay");
  detail::check_image(heat, "overlay");
  EMBER_CHECK(image.height == heat.height && image.width == heat.width, "overlay: image is ",
              image.height, "x", image.width, " but the heat map is ", heat.height, "x", heat.width,
              "; expected the same size (resize the map with resize_bilinear)");
  EMBER_CHECK(alpha >= 0.0 && alpha <= 1.0, "overlay: alpha is ", alpha,
              "; expected a weight in [0, 1]");
  const Image a = to_rgb(image);
  const Image b = to_rgb(heat);
  Image out = a;
  for (size_t i = 0; i < out.pixels.size(); ++i) {
    const double v = (1.0 - alpha) * a.pixels[i] + alpha * b.pixels[i];
    out.pixels[i] = static_cast<uint8_t>(std::lround(v));
  }
  return out;
}

}  // namespace ember::viz
