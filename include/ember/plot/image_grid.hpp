// Image grids: panels (an item, its heat map, its mask ...) in rows, each with a label
// under it and an optional coloured frame (e.g. viz::kCorrect / viz::kWrong for a
// prediction), and a title on top.
//
// The pixels are composed by ember::viz (resize, frame) and copied into the canvas
// exactly; PLplot only draws the text on top. PLplot's own image call (plimage) maps a
// single value per pixel through a colour map, so it cannot show RGB pictures, heat maps in
// their own colours or exact frame colours; drawing pixels as filled rectangles would blur
// their edges with anti-aliasing. Text is what PLplot adds: fonts, sizes, anti-aliasing.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/plot/detail/stream.hpp"
#include "ember/plot/figure.hpp"
#include "ember/viz/canvas.hpp"
#include "ember/viz/color.hpp"
#include "ember/viz/draw.hpp"
#include "ember/viz/resize.hpp"

namespace ember::plot {

// One panel. The label may hold several lines separated by '\n' ("pred: 7\ntrue: 1").
struct Panel {
  data::Image image;
  std::string label;
  std::optional<viz::Rgb> frame;
};

// Layout, in pixels. Each image is scaled so its longer side is `cell` (0 keeps the native
// size; panels of different sizes then share the largest cell), by nearest neighbour (crisp
// pixels: digits, masks) or, with smooth, bilinear (photos). Cells are centred in a slot of
// cell + 2 * frame wide, with `padding` between slots and around the grid; `frame` pixels of
// border are reserved around every image when any panel has a frame.
struct GridSpec {
  std::string title;
  int columns = 0;  // 0: ceil(sqrt(number of panels))
  int cell = 96;
  bool smooth = false;
  int frame = 3;
  int text_px = 13;
  int padding = 10;
};

namespace detail {

inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::stringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct GridLayout {
  int columns = 1, rows = 1, cell_w = 1, cell_h = 1, frame = 0, label_lines = 0;
  int title_h = 0, slot_w = 1, slot_h = 1, width = 1, height = 1;
  double line_h = 1;
};

inline GridLayout grid_layout(const std::vector<Panel>& panels, const GridSpec& spec) {
  GridLayout g;
  const int n = static_cast<int>(panels.size());
  g.columns = spec.columns > 0 ? std::min(spec.columns, n)
                               : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  g.rows = (n + g.columns - 1) / g.columns;
  for (const Panel& p : panels) {
    const int longer = std::max(p.image.height, p.image.width);
    const double scale = spec.cell > 0 ? static_cast<double>(spec.cell) / longer : 1.0;
    g.cell_w = std::max(g.cell_w, static_cast<int>(std::lround(p.image.width * scale)));
    g.cell_h = std::max(g.cell_h, static_cast<int>(std::lround(p.image.height * scale)));
    g.label_lines = std::max(g.label_lines, static_cast<int>(split_lines(p.label).size()));
    if (p.frame) g.frame = spec.frame;
  }
  g.line_h = 1.5 * spec.text_px;
  g.title_h = spec.title.empty() ? 0 : static_cast<int>(std::lround(2.2 * spec.text_px));
  g.slot_w = g.cell_w + 2 * g.frame + spec.padding;
  g.slot_h = g.cell_h + 2 * g.frame + static_cast<int>(std::lround(g.label_lines * g.line_h)) +
             spec.padding;
  g.width = spec.padding + g.columns * g.slot_w;
  g.height = spec.padding + g.title_h + g.rows * g.slot_h;
  return g;
}

// Copies `src` (RGB) into `dst` with its top-left corner at (y, x).
inline void paste(data::Image& dst, const data::Image& src, int y, int x) {
  const size_t row = static_cast<size_t>(src.width) * 3;
  for (int r = 0; r < src.height; ++r)
    std::copy_n(&src.pixels[static_cast<size_t>(r) * row], row,
                &dst.pixels[viz::detail::offset(dst, y + r, x)]);
}

}  // namespace detail

inline Figure image_grid(const std::vector<Panel>& panels, const GridSpec& spec = {}) {
  EMBER_CHECK(!panels.empty(), "image_grid: no panels; expected at least one");
  EMBER_CHECK(spec.cell >= 0 && spec.cell <= 4096 && spec.frame >= 0 && spec.frame <= 64 &&
                  spec.text_px >= 6 && spec.text_px <= 96 && spec.padding >= 0 &&
                  spec.padding <= 256 && spec.columns >= 0,
              "image_grid: spec (cell ", spec.cell, ", frame ", spec.frame, ", text_px ",
              spec.text_px, ", padding ", spec.padding, ", columns ", spec.columns,
              ") is out of range; expected cell 0..4096, frame 0..64, text_px 6..96, "
              "padding 0..256, columns >= 0");
  for (size_t i = 0; i < panels.size(); ++i)
    viz::detail::check_image(panels[i].image, "image_grid");
  const detail::GridLayout g = detail::grid_layout(panels, spec);
  EMBER_CHECK(int64_t{g.width} * g.height <= (int64_t{1} << 26), "image_grid: the grid would be ",
              g.height, "x", g.width, " pixels; expected at most 2^26 (use a smaller cell)");
  Figure fig{viz::blank(g.height, g.width)};

  for (size_t i = 0; i < panels.size(); ++i) {
    const Panel& p = panels[i];
    const int longer = std::max(p.image.height, p.image.width);
    const double scale = spec.cell > 0 ? static_cast<double>(spec.cell) / longer : 1.0;
    const int h = std::max(1, static_cast<int>(std::lround(p.image.height * scale)));
    const int w = std::max(1, static_cast<int>(std::lround(p.image.width * scale)));
    data::Image img =
        spec.smooth ? viz::resize_bilinear(p.image, h, w) : viz::resize_nearest(p.image, h, w);
    img = p.frame ? viz::frame(img, *p.frame, g.frame) : viz::to_rgb(img);
    const int col = static_cast<int>(i) % g.columns, row = static_cast<int>(i) / g.columns;
    const int slot_x = spec.padding + col * g.slot_w,
              slot_y = spec.padding + g.title_h + row * g.slot_h;
    const int inset = p.frame ? 0 : g.frame;  // unframed images sit where framed ones' pictures do
    detail::paste(fig.image, img, slot_y + inset + (g.cell_h - h) / 2,
                  slot_x + inset + (g.cell_w - w) / 2);
  }

  detail::Stream stream(fig.image, 0, "image_grid");
  plvpor(0.0, 1.0, 0.0, 1.0);
  plwind(0.0, g.width, 0.0, g.height);  // pixels, y upwards
  plcol0(detail::kInk);
  const auto text_at = [&](double x, double y_down, const std::string& s) {
    // plptex's reference point is the vertical middle of the text
    plptex(x, g.height - y_down, 1.0, 0.0, 0.5, detail::escape_text(s).c_str());
  };
  if (!spec.title.empty()) {
    stream.text_px(1.2 * spec.text_px);
    text_at(0.5 * g.width, spec.padding + 0.5 * g.title_h, spec.title);
  }
  stream.text_px(spec.text_px);
  for (size_t i = 0; i < panels.size(); ++i) {
    const int col = static_cast<int>(i) % g.columns, row = static_cast<int>(i) / g.columns;
    const double centre_x = spec.padding + col * g.slot_w + 0.5 * (g.cell_w + 2 * g.frame);
    double y = spec.padding + g.title_h + row * g.slot_h + g.cell_h + 2 * g.frame + 0.5 * g.line_h;
    for (const std::string& line : detail::split_lines(panels[i].label)) {
      text_at(centre_x, y + 0.1 * g.line_h, line);
      y += g.line_h;
    }
  }
  stream.finish();
  return fig;
}

}  // namespace ember::plot
