// Perceptual colormaps: a value in [0, 1] -> an sRGB colour, by a 256-entry table.
//
// Viridis (sequential) is for magnitudes: saliency, attention, probabilities. CoolWarm
// (diverging, neutral grey in the middle) is for signed quantities around a centre: errors,
// differences, correlations; give it a range symmetric about the centre.
#pragma once

#include <array>
#include <cmath>

#include "ember/core/error.hpp"
#include "ember/viz/color.hpp"
#include "ember/viz/detail/colormap_tables.hpp"

namespace ember::viz {

enum class Colormap { Viridis, CoolWarm };

inline const std::array<Rgb, 256>& colormap_table(Colormap map) {
  return map == Colormap::CoolWarm ? detail::kCoolWarmTable : detail::kViridisTable;
}

// The colour of t in [0, 1] (values outside are clamped). Like matplotlib, the unit interval
// is cut into 256 equal bins, so 0 gives the first entry and 1 the last.
inline Rgb colormap_colour(Colormap map, double t) {
  EMBER_CHECK(!std::isnan(t), "colormap_colour: the value is NaN; expected a number in [0, 1]");
  const double clamped = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
  const int index = static_cast<int>(clamped * 256.0);
  return colormap_table(map)[static_cast<size_t>(index > 255 ? 255 : index)];
}

}  // namespace ember::viz
