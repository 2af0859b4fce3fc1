// Pixel-level helpers shared by the viz functions: blank canvases, conversion to RGB, pixel
// access and the checks that every function runs on its input image.
#pragma once

#include <cstdint>
#include <string>

#include "ember/core/error.hpp"
#include "ember/data/crops.hpp"
#include "ember/data/image.hpp"
#include "ember/viz/color.hpp"

namespace ember::viz {

using data::Image;

namespace detail {

// Throws unless `img` is a well-formed image (1..4 channels, positive size, matching bytes).
inline void check_image(const Image& img, const char* fn) {
  data::detail::check_image(img, fn, "argument");
}

inline void check_size(int height, int width, const char* fn) {
  EMBER_CHECK(height >= 1 && width >= 1 && int64_t{height} * width * 4 <= data::kImageMaxBytes, fn,
              ": image size ", height, "x", width,
              " is invalid; expected positive height and width within the ", data::kImageMaxBytes,
              "-byte image limit");
}

inline size_t offset(const Image& img, int y, int x) {
  return (static_cast<size_t>(y) * static_cast<size_t>(img.width) + static_cast<size_t>(x)) *
         static_cast<size_t>(img.channels);
}

}  // namespace detail

// A height x width RGB image filled with one colour.
inline Image blank(int height, int width, Rgb fill = kWhite) {
  detail::check_size(height, width, "blank");
  Image img;
  img.height = height;
  img.width = width;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(height) * static_cast<size_t>(width) * 3);
  for (size_t i = 0; i < img.pixels.size(); i += 3) {
    img.pixels[i] = fill.r;
    img.pixels[i + 1] = fill.g;
    img.pixels[i + 2] = fill.b;
  }
  return img;
}

// 3-channel RGB (grey repeated, alpha dropped): the one in data/crops.hpp.
using data::to_rgb;

// The colour at row y, column x of an RGB or RGBA image (grey images: convert with to_rgb).
inline Rgb pixel(const Image& img, int y, int x) {
  EMBER_CHECK(img.channels >= 3, "pixel: image has ", img.channels,
              " channels; expected RGB or RGBA (convert with to_rgb)");
  EMBER_CHECK(y >= 0 && y < img.height && x >= 0 && x < img.width, "pixel: (row ", y, ", column ",
              x, ") is outside the ", img.height, "x", img.width, " image");
  const uint8_t* p = &img.pixels[detail::offset(img, y, x)];
  return {p[0], p[1], p[2]};
}

namespace detail {

// Writes a colour into an RGB(A) image without bounds checks (callers clip); alpha becomes
// opaque so a drawn mark is never see-through.
inline void put(Image& img, int y, int x, Rgb c) {
  uint8_t* p = &img.pixels[offset(img, y, x)];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
  if (img.channels == 4) p[3] = 255;
}

}  // namespace detail

}  // namespace ember::viz
