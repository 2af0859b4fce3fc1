// Scatter plots: points coloured by class (embeddings, clusters), with a legend of classes.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/plot/detail/axes.hpp"
#include "ember/plot/detail/stream.hpp"
#include "ember/plot/figure.hpp"
#include "ember/viz/canvas.hpp"
#include "ember/viz/color.hpp"

namespace ember::plot {

// Points (x[i], y[i]) of class labels[i], drawn in viz::category_colour(labels[i]). labels
// may be empty (every point is class 0); class_names, when given, name the classes in the
// legend and then every label must be below class_names.size().
struct ScatterData {
  std::vector<double> x, y;
  std::vector<int> labels;
  std::vector<std::string> class_names;
};

inline Figure scatter(const ScatterData& data, const ChartSpec& spec) {
  detail::check_spec(spec, "scatter");
  const size_t n = data.x.size();
  EMBER_CHECK(n >= 1 && data.y.size() == n, "scatter: got ", n, " x and ", data.y.size(),
              " y values; expected the same positive number");
  EMBER_CHECK(data.labels.empty() || data.labels.size() == n, "scatter: got ", data.labels.size(),
              " labels for ", n, " points; expected one per point or none");
  int classes = 1;
  for (size_t i = 0; i < data.labels.size(); ++i) {
    const int c = data.labels[i];
    EMBER_CHECK(
        c >= 0 && (data.class_names.empty() || static_cast<size_t>(c) < data.class_names.size()),
        "scatter: label ", c, " of point ", i, " is invalid; expected 0..",
        data.class_names.empty() ? std::string("") : std::to_string(data.class_names.size() - 1));
    classes = std::max(classes, c + 1);
  }
  classes = std::max(classes, static_cast<int>(data.class_names.size()));
  detail::Range xr, yr;
  for (size_t i = 0; i < n; ++i) {
    detail::check_value(data.x[i], false, "scatter", "x", i);
    detail::check_value(data.y[i], spec.log_y, "scatter", "y", i);
    xr.add(data.x[i]);
    yr.add(detail::plotted_y(data.y[i], spec.log_y));
  }
  Figure fig{viz::blank(spec.height, spec.width)};
  detail::Stream stream(fig.image, classes, "scatter");
  detail::draw_axes(stream, spec, xr.padded(0.05), yr.padded(0.05));
  stream.text_px(9.0);  // the marker glyph's size
  for (int c = 0; c < classes; ++c) {
    std::vector<PLFLT> px, py;
    for (size_t i = 0; i < n; ++i) {
      if ((data.labels.empty() ? 0 : data.labels[i]) != c) continue;
      px.push_back(data.x[i]);
      py.push_back(detail::plotted_y(data.y[i], spec.log_y));
    }
    const int slot = detail::kFirstSeries + c;
    detail::Stream::set_slot(slot, viz::category_colour(static_cast<size_t>(c)));
    plcol0(slot);
    if (!px.empty()) plstring(static_cast<PLINT>(px.size()), px.data(), py.data(), "●");
  }
  stream.text_px(detail::kTextPx);
  detail::draw_legend(data.class_names, detail::LegendMark::Symbol, "●");
  stream.finish();
  return fig;
}

}  // namespace ember::plot
