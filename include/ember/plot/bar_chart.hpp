// Grouped bar charts: one group per category (a method, a dataset), one bar per series (a
// metric, a setting) in each group, with the category names under the groups.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/plot/detail/axes.hpp"
#include "ember/plot/detail/stream.hpp"
#include "ember/plot/figure.hpp"
#include "ember/viz/canvas.hpp"
#include "ember/viz/color.hpp"

namespace ember::plot {

// values[i] is the bar of category i. Without a colour, series k gets category_colour(k).
struct BarSeries {
  std::string name;
  std::vector<double> values;
  std::optional<viz::Rgb> colour;
};

// Bars rise from 0 (from the bottom of the axis with log_y). A single series needs no legend,
// so its name may be empty.
inline Figure bar_chart(const std::vector<std::string>& categories,
                        const std::vector<BarSeries>& series, const ChartSpec& spec) {
  detail::check_spec(spec, "bar_chart");
  EMBER_CHECK(!categories.empty() && !series.empty(), "bar_chart: got ", categories.size(),
              " categories and ", series.size(), " series; expected at least one of each");
  detail::Range yr;
  if (!spec.log_y) yr.add(0.0);
  for (const BarSeries& s : series) {
    EMBER_CHECK(s.values.size() == categories.size(), "bar_chart: series '", s.name, "' has ",
                s.values.size(), " values for ", categories.size(),
                " categories; expected one per category");
    for (size_t i = 0; i < s.values.size(); ++i) {
      detail::check_value(s.values[i], spec.log_y, "bar_chart", "series '" + s.name + "'", i);
      yr.add(detail::plotted_y(s.values[i], spec.log_y));
    }
  }
  detail::Range padded = yr.padded(0.08);
  if (!spec.log_y) {  // keep the zero line on the frame when all bars point one way
    if (yr.lo >= 0) padded.lo = 0;
    if (yr.hi <= 0) padded.hi = 0;
  }
  const auto n_cat = static_cast<double>(categories.size());
  Figure fig{viz::blank(spec.height, spec.width)};
  detail::Stream stream(fig.image, static_cast<int>(series.size()), "bar_chart");
  detail::draw_axes(stream, spec, detail::Range{0.0, n_cat}, padded, false);
  for (size_t i = 0; i < categories.size(); ++i)
    plmtex("b", 1.4, (static_cast<double>(i) + 0.5) / n_cat, 0.5,
           detail::escape_text(categories[i]).c_str());
  const double group = 0.8, bar = group / static_cast<double>(series.size());
  const double base = spec.log_y ? padded.lo : 0.0;
  std::vector<std::string> names;
  for (size_t k = 0; k < series.size(); ++k) {
    const int slot = detail::kFirstSeries + static_cast<int>(k);
    detail::Stream::set_slot(slot, detail::series_colour(series[k].colour, k));
    for (size_t i = 0; i < categories.size(); ++i) {
      const double x0 = static_cast<double>(i) + 0.5 * (1.0 - group) + bar * static_cast<double>(k);
      const double top = detail::plotted_y(series[k].values[i], spec.log_y);
      PLFLT xs[4] = {x0, x0 + bar, x0 + bar, x0};
      PLFLT ys[4] = {base, base, top, top};
      plcol0(slot);
      plfill(4, xs, ys);
    }
    names.push_back(series[k].name);
  }
  plcol0(detail::kInk);
  plwidth(1.0);
  plbox("bc", 0.0, 0, "", 0.0, 0);  // redraw the frame over the bars' feet
  if (series.size() > 1) detail::draw_legend(names, detail::LegendMark::Box);
  stream.finish();
  return fig;
}

}  // namespace ember::plot
