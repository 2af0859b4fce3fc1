// Marks on images: rectangles (boxes) drawn in place, and a coloured frame around an image.
#pragma once

#include <algorithm>

#include "ember/core/error.hpp"
#include "ember/viz/canvas.hpp"

namespace ember::viz {

// A box in pixel coordinates: columns x0..x1 and rows y0..y1, both ends included, so a box
// of one pixel is {x, y, x, y}. Detection boxes in floating point: round outward first.
struct Box {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// Draws the outline of `box` into an RGB or RGBA image. The outline grows inward from the
// box's edges, so the box's outer edge stays where the coordinates say and a thickness larger
// than half the box fills it. Parts outside the image are clipped (a box may stick out).
inline void draw_rect(Image& image, const Box& box, Rgb colour, int thickness = 1) {
  detail::check_image(image, "draw_rect");
  EMBER_CHECK(image.channels >= 3, "draw_rect: image has ", image.channels,
              " channels; expected RGB or RGBA (convert with to_rgb first)");
  EMBER_CHECK(box.x0 <= box.x1 && box.y0 <= box.y1, "draw_rect: box (x0 ", box.x0, ", y0 ", box.y0,
              ", x1 ", box.x1, ", y1 ", box.y1, ") is empty; expected x0 <= x1, y0 <= y1");
  EMBER_CHECK(thickness >= 1, "draw_rect: thickness is ", thickness, "; expected >= 1");
  const int y_lo = std::max(box.y0, 0), y_hi = std::min(box.y1, image.height - 1);
  const int x_lo = std::max(box.x0, 0), x_hi = std::min(box.x1, image.width - 1);
  for (int y = y_lo; y <= y_hi; ++y) {
    const bool edge_row = y - box.y0 < thickness || box.y1 - y < thickness;
    for (int x = x_lo; x <= x_hi; ++x) {
      if (edge_row || x - box.x0 < thickness || box.x1 - x < thickness)
        detail::put(image, y, x, colour);
    }
  }
}

// A new RGB image: `image` (as RGB) surrounded by a border of `thickness` pixels, so it is
// 2 * thickness larger in each direction and none of the picture is covered.
inline Image frame(const Image& image, Rgb colour, int thickness) {
  detail::check_image(image, "frame");
  EMBER_CHECK(thickness >= 0, "frame: thickness is ", thickness, "; expected >= 0");
  const Image rgb = to_rgb(image);
  Image out = blank(image.height + 2 * thickness, image.width + 2 * thickness, colour);
  const size_t row = static_cast<size_t>(image.width) * 3;
  for (int y = 0; y < image.height; ++y)
    std::copy_n(&rgb.pixels[static_cast<size_t>(y) * row], row,
                &out.pixels[detail::offset(out, y + thickness, thickness)]);
  return out;
}

}  // namespace ember::viz
