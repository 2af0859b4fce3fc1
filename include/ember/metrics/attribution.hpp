// Scores of saliency (attribution) maps: deletion / insertion AUC, the pointing game, the
// energy-based pointing game, and the CAM → box step of weakly supervised localisation.
//
// Maps are flat row-major height×width ranges of any arithmetic type.
//
// Deletion / insertion (Petsiuk et al., RISE): rank pixels by saliency, highest first
// (saliency_order); in K steps change the next pixels in that order (perturbation_counts says
// how many are changed after each step); record the model's score p_0..p_K; the AUC is the
// trapezoid rule over the changed fraction in [0, 1] (curve_auc). Deletion starts from the
// image and removes pixels (lower is better); insertion starts from the fill and inserts them
// (higher is better).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/metrics/boxes.hpp>
#include <ember/metrics/inputs.hpp>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

namespace ember::metrics {

// Pixel indices by saliency, highest first; equal values keep index order (a stable sort), so
// a flat map gives the raster order and the result is the same on every machine.
template <NumberRange S>
std::vector<int64_t> saliency_order(const S& saliency) {
  const auto s = as_span(saliency);
  detail::check_non_empty("saliency_order", "saliency", s.size());
  detail::check_finite("saliency_order", "saliency", s);
  std::vector<int64_t> order(s.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return s[static_cast<size_t>(a)] > s[static_cast<size_t>(b)];
  });
  return order;
}

// How many pixels are changed after step k = 0..n_steps: floor(k·n_pixels / n_steps), so
// step sizes differ by at most one when n_steps does not divide n_pixels, and the last step
// changes every pixel.
inline std::vector<int64_t> perturbation_counts(int64_t n_pixels, int64_t n_steps) {
  EMBER_CHECK(n_pixels > 0 && n_steps > 0, "perturbation_counts: n_pixels = ", n_pixels,
              ", n_steps = ", n_steps, "; expected both > 0");
  std::vector<int64_t> counts;
  for (int64_t k = 0; k <= n_steps; ++k) counts.push_back(k * n_pixels / n_steps);
  return counts;
}

// Area under a curve sampled at K + 1 equally spaced points of [0, 1]:
// (1/K) Σ_{k=1..K} (p_{k−1} + p_k) / 2.
template <NumberRange C>
double curve_auc(const C& curve) {
  const auto p = as_span(curve);
  EMBER_CHECK(p.size() >= 2, "curve_auc: ", p.size(), " points; expected at least 2 (the ",
              "scores before the first and after the last step)");
  detail::check_finite("curve_auc", "curve", p);
  double area = 0;
  for (size_t k = 1; k < p.size(); ++k)
    area += 0.5 * (static_cast<double>(p[k - 1]) + static_cast<double>(p[k]));
  return area / static_cast<double>(p.size() - 1);
}

// Deletion AUC: curve[k] is the score after k of K deletion steps. Lower is better.
template <NumberRange C>
double deletion_auc(const C& curve) {
  return curve_auc(curve);
}
// Insertion AUC: curve[k] is the score after k of K insertion steps. Higher is better.
template <NumberRange C>
double insertion_auc(const C& curve) {
  return curve_auc(curve);
}

// (v − min) / (max − min) per pixel, the CAM normalisation; all zeros for a constant map.
template <NumberRange S>
std::vector<double> min_max_normalize(const S& values) {
  const auto v = as_span(values);
  detail::check_non_empty("min_max_normalize", "values", v.size());
  detail::check_finite("min_max_normalize", "values", v);
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  const double low = static_cast<double>(*lo), range = static_cast<double>(*hi) - low;
  std::vector<double> out(v.size(), 0.0);
  if (range > 0)
    for (size_t i = 0; i < v.size(); ++i) out[i] = (static_cast<double>(v[i]) - low) / range;
  return out;
}

// The weakly-supervised-localisation box of a CAM: min-max normalise it, keep the pixels
// above seg_thr (cv2.THRESH_BINARY's strict >, as the official CAM code thresholds at
// seg_thr·max of the normalised map, whose max is 1), take the largest connected component
// and return its box; nullopt when no pixel passes (a constant map, or seg_thr ≥ 1). The
// official code picks the contour of largest area (cv2.findContours); the component with the
// most pixels is the same region except for contours with holes or thin spurs.
template <NumberRange S>
std::optional<Box> cam_box(const S& cam, int64_t height, int64_t width, double seg_thr,
                           Connectivity connectivity = Connectivity::eight) {
  const auto c = as_span(cam);
  detail::check_matrix("cam_box", "cam", c.size(), height, width);
  EMBER_CHECK(seg_thr >= 0 && seg_thr <= 1, "cam_box: seg_thr = ", seg_thr,
              "; expected a fraction in [0, 1]");
  const std::vector<double> norm = min_max_normalize(cam);
  std::vector<uint8_t> above(norm.size());
  for (size_t i = 0; i < norm.size(); ++i) above[i] = norm[i] > seg_thr;
  return box_from_mask(largest_connected_component(above, height, width, connectivity), height,
                       width);
}

namespace detail {
// (row, column) of the first maximum in row-major order.
template <class T>
std::pair<int64_t, int64_t> argmax_pixel(const char* metric, std::span<const T> s, int64_t height,
                                         int64_t width) {
  check_matrix(metric, "saliency", s.size(), height, width);
  check_finite(metric, "saliency", s);
  const auto at = static_cast<int64_t>(std::max_element(s.begin(), s.end()) - s.begin());
  return {at / width, at % width};
}

inline void check_tolerance(const char* metric, double tolerance) {
  EMBER_CHECK(tolerance >= 0 && std::isfinite(tolerance), metric, ": tolerance = ", tolerance,
              " px; expected a finite number ≥ 0");
}

template <class T>
void check_non_negative(const char* metric, std::span<const T> s) {
  for (size_t i = 0; i < s.size(); ++i)
    EMBER_CHECK(s[i] >= T(0), metric, ": saliency[", i, "] = ", +s[i],
                " is negative; energy needs a non-negative map (clamp or take |·| first)");
}
}  // namespace detail

// Pointing game: a hit when the saliency maximum (the first one in row-major order) lies in
// the mask or within `tolerance` pixels (Euclidean distance between pixel centres) of a mask
// pixel, i.e. inside the mask dilated by a disc, as TorchRay scores it (15 px at 224²).
template <NumberRange S, NumberRange M>
bool pointing_game_hit(const S& saliency, const M& mask, int64_t height, int64_t width,
                       double tolerance = 0) {
  const char* name = "pointing_game_hit";
  const auto m = as_span(mask);
  const auto [py, px] = detail::argmax_pixel(name, as_span(saliency), height, width);
  detail::check_matrix(name, "mask", m.size(), height, width);
  detail::check_tolerance(name, tolerance);
  const auto r = static_cast<int64_t>(std::floor(tolerance));
  for (int64_t y = std::max<int64_t>(py - r, 0); y <= std::min(py + r, height - 1); ++y)
    for (int64_t x = std::max<int64_t>(px - r, 0); x <= std::min(px + r, width - 1); ++x) {
      const auto d2 = static_cast<double>((y - py) * (y - py) + (x - px) * (x - px));
      if (d2 <= tolerance * tolerance && m[static_cast<size_t>(y * width + x)] != 0) return true;
    }
  return false;
}

// Pointing game against a box: a hit when the saliency maximum is within `tolerance` pixels
// of the box (Euclidean distance to its nearest pixel), the same rule as the mask form.
template <NumberRange S>
bool pointing_game_hit(const S& saliency, int64_t height, int64_t width, const Box& box,
                       double tolerance = 0) {
  const char* name = "pointing_game_hit";
  const auto [py, px] = detail::argmax_pixel(name, as_span(saliency), height, width);
  EMBER_CHECK(!box.empty(), name, ": the box (", box.x0, ", ", box.y0, ", ", box.x1, ", ", box.y1,
              ") is empty");
  detail::check_tolerance(name, tolerance);
  const int64_t dx = std::max<int64_t>({box.x0 - px, int64_t{0}, px - (box.x1 - 1)});
  const int64_t dy = std::max<int64_t>({box.y0 - py, int64_t{0}, py - (box.y1 - 1)});
  return static_cast<double>(dx * dx + dy * dy) <= tolerance * tolerance;
}

// Energy-based pointing game (Score-CAM): the share of the saliency mass inside the mask,
// Σ_{mask} s / Σ s, for a non-negative map. NaN for an all-zero map, which points nowhere.
// 1 minus it is the "context energy" outside the object.
template <NumberRange S, NumberRange M>
double energy_pointing_game(const S& saliency, const M& mask) {
  const char* name = "energy_pointing_game";
  const auto s = as_span(saliency);
  const auto m = as_span(mask);
  detail::check_same_size(name, "saliency", s.size(), "mask", m.size());
  detail::check_non_empty(name, "saliency", s.size());
  detail::check_finite(name, "saliency", s);
  detail::check_non_negative(name, s);
  double inside = 0, total = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    total += static_cast<double>(s[i]);
    if (m[i] != 0) inside += static_cast<double>(s[i]);
  }
  return total > 0 ? inside / total : std::numeric_limits<double>::quiet_NaN();
}

// Energy-based pointing game against a box.
template <NumberRange S>
double energy_pointing_game(const S& saliency, int64_t height, int64_t width, const Box& box) {
  detail::check_matrix("energy_pointing_game", "saliency", std::ranges::size(saliency), height,
                       width);
  return energy_pointing_game(saliency, box_mask(box, height, width));
}

}  // namespace ember::metrics
