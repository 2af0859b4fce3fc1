// A rendered figure (an RGB image) and the spec shared by the charts.
#pragma once

#include <string>

#include "ember/core/error.hpp"
#include "ember/data/image.hpp"

namespace ember::plot {

// Title, axis labels and size (pixels) of a chart. log_y draws the y axis in decades; every
// y value must then be positive.
struct ChartSpec {
  std::string title, xlabel, ylabel;
  bool log_y = false;
  int width = 800, height = 500;
};

struct Figure {
  data::Image image;  // RGB, width x height as requested

  // Writes the figure as PNG (atomically, through ember::data::write_png). Throws
  // ember::Error naming `path` when it cannot be written (missing folder, no permission).
  void save_png(const std::string& path) const {
    try {
      data::write_png(path, image);
    } catch (const Error& e) {
      fail("save_png: cannot write the figure to '", path, "': ", e.what());
    }
  }
};

}  // namespace ember::plot
