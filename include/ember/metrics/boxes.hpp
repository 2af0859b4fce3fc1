// Boxes and binary masks on an image grid: box IoU, the box around a mask, the largest
// connected component of a mask, mask IoU. Weakly supervised localisation (CAM → box → IoU)
// and the pointing games are built from these.
//
// Masks are flat row-major height×width ranges of any arithmetic type, nonzero = inside
// (std::vector<uint8_t>, a span over a Tensor<bool>); masks returned are std::vector<uint8_t>
// holding 0 / 1.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/metrics/inputs.hpp>
#include <limits>
#include <optional>
#include <vector>

namespace ember::metrics {

// An axis-aligned box in pixel indices, half-open: columns x0 ≤ x < x1, rows y0 ≤ y < y1,
// so area = (x1 − x0)·(y1 − y0) with no "+1". The inclusive corners used by CUB's box files
// and the official CAM code (x_max, y_max on the last pixel inside) convert with
// from_inclusive; IoUs are the same in both conventions.
struct Box {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;

  static Box from_inclusive(int64_t x_min, int64_t y_min, int64_t x_max, int64_t y_max) {
    return {x_min, y_min, x_max + 1, y_max + 1};
  }
  int64_t width() const { return std::max<int64_t>(0, x1 - x0); }
  int64_t height() const { return std::max<int64_t>(0, y1 - y0); }
  int64_t area() const { return width() * height(); }
  bool empty() const { return area() == 0; }
  bool contains(int64_t x, int64_t y) const { return x >= x0 && x < x1 && y >= y0 && y < y1; }
  bool operator==(const Box&) const = default;
};

// Intersection over union of two boxes; NaN when both are empty (0/0).
inline double box_iou(const Box& a, const Box& b) {
  const Box inter{std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1),
                  std::min(a.y1, b.y1)};
  const auto i = static_cast<double>(inter.area());
  const double u = static_cast<double>(a.area() + b.area()) - i;
  return u > 0 ? i / u : std::numeric_limits<double>::quiet_NaN();
}

// The tightest box holding every nonzero pixel, or nullopt for an empty mask.
template <NumberRange M>
std::optional<Box> box_from_mask(const M& mask, int64_t height, int64_t width) {
  const auto m = as_span(mask);
  detail::check_matrix("box_from_mask", "mask", m.size(), height, width);
  Box b{width, height, 0, 0};
  bool any = false;
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      if (m[static_cast<size_t>(y * width + x)] != 0) {
        any = true;
        b = {std::min(b.x0, x), std::min(b.y0, y), std::max(b.x1, x + 1), std::max(b.y1, y + 1)};
      }
  if (!any) return std::nullopt;
  return b;
}

// The box as a height×width 0/1 mask (the part inside the image).
inline std::vector<uint8_t> box_mask(const Box& box, int64_t height, int64_t width) {
  EMBER_CHECK(height > 0 && width > 0, "box_mask: image is ", height, "x", width,
              "; expected positive sizes");
  std::vector<uint8_t> m(static_cast<size_t>(height * width), 0);
  for (int64_t y = std::max<int64_t>(box.y0, 0); y < std::min(box.y1, height); ++y)
    for (int64_t x = std::max<int64_t>(box.x0, 0); x < std::min(box.x1, width); ++x)
      m[static_cast<size_t>(y * width + x)] = 1;
  return m;
}

// Which neighbours join pixels into one component: the 4 sharing an edge, or all 8.
enum class Connectivity { four, eight };

// The largest connected component of the nonzero pixels, as a 0/1 mask (all zeros for an
// empty mask). Among components of equal size, the one reached first in row-major order wins,
// so the result does not depend on anything but the mask.
template <NumberRange M>
std::vector<uint8_t> largest_connected_component(const M& mask, int64_t height, int64_t width,
                                                 Connectivity connectivity) {
  const auto m = as_span(mask);
  detail::check_matrix("largest_connected_component", "mask", m.size(), height, width);
  const auto n = static_cast<size_t>(height * width);
  std::vector<int64_t> component(n, -1);
  std::vector<size_t> queue;
  queue.reserve(n);
  int64_t best = -1, best_size = 0, next_id = 0;
  const int n_neighbours = connectivity == Connectivity::four ? 4 : 8;
  // The 4 edge neighbours first, then the 4 diagonals.
  const int64_t dy[8] = {-1, 1, 0, 0, -1, -1, 1, 1};
  const int64_t dx[8] = {0, 0, -1, 1, -1, 1, -1, 1};
  for (size_t start = 0; start < n; ++start) {
    if (m[start] == 0 || component[start] >= 0) continue;
    const int64_t id = next_id++;
    queue.clear();
    queue.push_back(start);
    component[start] = id;
    for (size_t head = 0; head < queue.size(); ++head) {
      const auto y = static_cast<int64_t>(queue[head]) / width;
      const auto x = static_cast<int64_t>(queue[head]) % width;
      for (int k = 0; k < n_neighbours; ++k) {
        const int64_t ny = y + dy[k], nx = x + dx[k];
        if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
        const auto at = static_cast<size_t>(ny * width + nx);
        if (m[at] == 0 || component[at] >= 0) continue;
        component[at] = id;
        queue.push_back(at);
      }
    }
    if (static_cast<int64_t>(queue.size()) > best_size) {
      best_size = static_cast<int64_t>(queue.size());
      best = id;
    }
  }
  std::vector<uint8_t> out(n, 0);
  for (size_t i = 0; i < n; ++i) out[i] = best >= 0 && component[i] == best;
  return out;
}

// |a ∧ b| / |a ∨ b| of two masks of equal size; NaN when both are empty (0/0).
template <NumberRange A, NumberRange B>
double mask_iou(const A& mask_a, const B& mask_b) {
  const auto a = as_span(mask_a);
  const auto b = as_span(mask_b);
  detail::check_same_size("mask_iou", "mask_a", a.size(), "mask_b", b.size());
  detail::check_non_empty("mask_iou", "mask_a", a.size());
  int64_t inter = 0, uni = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool ai = a[i] != 0, bi = b[i] != 0;
    inter += ai && bi;
    uni += ai || bi;
  }
  return uni > 0 ? static_cast<double>(inter) / static_cast<double>(uni)
                 : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace ember::metrics
