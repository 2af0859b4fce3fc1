// Resizing images: nearest neighbour (keeps the pixels of a 28x28 item crisp when enlarged
// for a figure) and bilinear (smooth, for coarse heat maps laid over an image).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ember/core/error.hpp"
#include "ember/data/crops.hpp"
#include "ember/viz/canvas.hpp"

namespace ember::viz {

namespace detail {

inline Image resized_canvas(const Image& image, int height, int width, const char* fn) {
  check_image(image, fn);
  check_size(height, width, fn);
  Image out;
  out.height = height;
  out.width = width;
  out.channels = image.channels;
  out.pixels.resize(static_cast<size_t>(height) * static_cast<size_t>(width) *
                    static_cast<size_t>(image.channels));
  return out;
}

// The source coordinate of output pixel i's centre, with pixel centres at half-integers
// (the convention of OpenCV, PIL and PyTorch's align_corners = false).
inline double source_coordinate(int i, int in, int out) {
  return (i + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
}

// The input pixel that output pixel i's centre falls in.
inline int nearest_source(int i, int in, int out) {
  const auto s = static_cast<int>(std::floor(source_coordinate(i, in, out) + 0.5));
  return std::min(s, in - 1);
}

}  // namespace detail

// Each output pixel copies the input pixel its centre falls in; an integer upscale repeats
// every pixel factor x factor times.
inline Image resize_nearest(const Image& image, int height, int width) {
  Image out = detail::resized_canvas(image, height, width, "resize_nearest");
  const auto c = static_cast<size_t>(image.channels);
  for (int y = 0; y < height; ++y) {
    const int sy = detail::nearest_source(y, image.height, height);
    for (int x = 0; x < width; ++x) {
      const int sx = detail::nearest_source(x, image.width, width);
      std::copy_n(&image.pixels[detail::offset(image, sy, sx)], c,
                  &out.pixels[detail::offset(out, y, x)]);
    }
  }
  return out;
}

// Bilinear (half-pixel centres, edge-clamped): the one in data/crops.hpp, shared with the
// scene compositor.
using data::resize_bilinear;

}  // namespace ember::viz
