// The frame every chart shares: value ranges, the plot area with margins in pixels, grid,
// ticks, numbers, title and axis labels, and the legend box.
#pragma once

#include <plplot/plplot.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/plot/detail/stream.hpp"
#include "ember/plot/figure.hpp"
#include "ember/viz/color.hpp"

namespace ember::plot::detail {

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // Widened by `fraction` of its span on both sides, so marks do not sit on the frame; a
  // single value gets a span of its own.
  Range padded(double fraction) const {
    double span = hi - lo;
    if (!(span > 0)) span = std::max(std::abs(lo), 1.0);
    if (hi - lo > 0) return {lo - fraction * span, hi + fraction * span};
    return {lo - 0.5 * span, hi + 0.5 * span};
  }
};

inline void check_spec(const ChartSpec& spec, const char* fn) {
  EMBER_CHECK(spec.width >= 200 && spec.height >= 150 && spec.width <= 8192 && spec.height <= 8192,
              fn, ": figure size ", spec.width, "x", spec.height,
              " is out of range; expected 200..8192 x 150..8192 pixels");
}

// y as plotted: decades on a log axis (PLplot draws log axes over log10 of the values).
inline double plotted_y(double y, bool log_y) { return log_y ? std::log10(y) : y; }

inline void check_value(double v, bool log_y, const char* fn, const std::string& what, size_t i) {
  EMBER_CHECK(std::isfinite(v), fn, ": ", what, " value ", i, " is ", v,
              "; expected a finite number");
  EMBER_CHECK(!log_y || v > 0, fn, ": ", what, " value ", i, " is ", v,
              "; a log-scale y axis needs positive values");
}

constexpr double kTextPx = 14.0;  // tick numbers, labels and legend
constexpr double kTitlePx = 17.0;

// Sets the plot area (fixed pixel margins leave room for numbers and labels), draws the grid,
// the frame with ticks and numbers, the title and the axis labels. x_numbers = false leaves
// the x axis without numbers (bar charts label their categories instead).
inline void draw_axes(Stream& s, const ChartSpec& spec, Range x, Range y, bool x_numbers = true) {
  const double w = spec.width, h = spec.height;
  const double top = spec.title.empty() ? 20.0 : 48.0;
  const double bottom = spec.xlabel.empty() ? 40.0 : 64.0;
  const double left = spec.ylabel.empty() ? 70.0 : 92.0;
  plvpor(left / w, 1.0 - 24.0 / w, bottom / h, 1.0 - top / h);
  plwind(x.lo, x.hi, y.lo, y.hi);
  s.text_px(kTextPx);
  plwidth(1.0);
  plcol0(kGrid);
  plbox(x_numbers ? "g" : "", 0.0, 0, spec.log_y ? "gl" : "g", 0.0, 0);
  plcol0(kInk);
  plbox(x_numbers ? "bcnst" : "bc", 0.0, 0, spec.log_y ? "bcnstvl" : "bcnstv", 0.0, 0);
  if (!spec.xlabel.empty()) plmtex("b", 3.2, 0.5, 0.5, escape_text(spec.xlabel).c_str());
  if (!spec.ylabel.empty()) plmtex("l", 5.2, 0.5, 0.5, escape_text(spec.ylabel).c_str());
  if (!spec.title.empty()) {
    s.text_px(kTitlePx);
    plmtex("t", 1.2, 0.5, 0.5, escape_text(spec.title).c_str());
    s.text_px(kTextPx);
  }
}

// A series' own colour, else the i-th categorical colour.
inline viz::Rgb series_colour(const std::optional<viz::Rgb>& colour, size_t i) {
  return colour ? *colour : viz::category_colour(i);
}

enum class LegendMark { Line, Symbol, Box };

// A legend in the top-right corner inside the plot area; entry i has cmap0 slot
// kFirstSeries + i. `symbol` is the marker of LegendMark::Symbol entries.
inline void draw_legend(const std::vector<std::string>& names, LegendMark mark,
                        const char* symbol = "") {
  if (names.empty()) return;
  const size_t n = names.size();
  std::vector<std::string> text(n);
  std::vector<const char*> text_p(n), symbols(n, symbol);
  std::vector<PLINT> opts(n), colours(n), ink(n, kInk), patterns(n, 0), styles(n, 1), numbers(n, 1);
  std::vector<PLFLT> box_scales(n, 0.8), box_widths(n, 1.0), line_widths(n, 2.5),
      symbol_scales(n, 1.0);
  const PLINT kind = mark == LegendMark::Line     ? PL_LEGEND_LINE
                     : mark == LegendMark::Symbol ? PL_LEGEND_SYMBOL
                                                  : PL_LEGEND_COLOR_BOX;
  for (size_t i = 0; i < n; ++i) {
    text[i] = escape_text(names[i]);
    text_p[i] = text[i].c_str();
    opts[i] = kind;
    colours[i] = kFirstSeries + static_cast<PLINT>(i);
  }
  PLFLT legend_w = 0, legend_h = 0;
  plwidth(1.0);
  pllegend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE, 0.02, 0.03, 0.06, kBackground,
           kInk, 1, 0, 0, static_cast<PLINT>(n), opts.data(), 1.0, 1.0, 2.0, 0.0, ink.data(),
           text_p.data(), colours.data(), patterns.data(), box_scales.data(), box_widths.data(),
           colours.data(), styles.data(), line_widths.data(), colours.data(), symbol_scales.data(),
           numbers.data(), symbols.data());
}

}  // namespace ember::plot::detail
