// Line charts: several named series (loss curves, metrics per epoch, error against time),
// with a legend, axis labels, a title and an optional log-scale y axis.
#pragma once

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

// One curve: points (x[i], y[i]) joined in order. Without a colour, series i gets
// viz::category_colour(i).
struct Series {
  std::string name;
  std::vector<double> x, y;
  std::optional<viz::Rgb> colour;
};

inline Figure line_chart(const std::vector<Series>& series, const ChartSpec& spec) {
  detail::check_spec(spec, "line_chart");
  EMBER_CHECK(!series.empty(), "line_chart: no series; expected at least one");
  detail::Range xr, yr;
  for (const Series& s : series) {
    EMBER_CHECK(!s.x.empty() && s.x.size() == s.y.size(), "line_chart: series '", s.name, "' has ",
                s.x.size(), " x and ", s.y.size(), " y values; expected the same positive number");
    for (size_t i = 0; i < s.x.size(); ++i) {
      detail::check_value(s.x[i], false, "line_chart", "series '" + s.name + "' x", i);
      detail::check_value(s.y[i], spec.log_y, "line_chart", "series '" + s.name + "' y", i);
      xr.add(s.x[i]);
      yr.add(detail::plotted_y(s.y[i], spec.log_y));
    }
  }
  Figure fig{viz::blank(spec.height, spec.width)};
  detail::Stream stream(fig.image, static_cast<int>(series.size()), "line_chart");
  detail::draw_axes(stream, spec, xr.padded(0.0), yr.padded(0.05));
  std::vector<std::string> names;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const int slot = detail::kFirstSeries + static_cast<int>(k);
    detail::Stream::set_slot(slot, detail::series_colour(s.colour, k));
    plcol0(slot);
    std::vector<PLFLT> y(s.y.size());
    for (size_t i = 0; i < y.size(); ++i) y[i] = detail::plotted_y(s.y[i], spec.log_y);
    plwidth(2.5);
    if (s.x.size() == 1)
      plstring(1, s.x.data(), y.data(), "●");  // a lone point stays visible
    else
      plline(static_cast<PLINT>(y.size()), s.x.data(), y.data());
    names.push_back(s.name);
  }
  detail::draw_legend(names, detail::LegendMark::Line);
  stream.finish();
  return fig;
}

}  // namespace ember::plot
