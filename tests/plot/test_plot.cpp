// ember::plot: every chart renders a PNG of the requested size that decodes, is not blank
// and shows its series' colours; bad input and unwritable paths throw ember::Error; PLplot's
// global stream state is left as it was found. Links PLplot (target ember::plot).
#include <doctest/doctest.h>

#include <ember/data/image.hpp>
#include <ember/plot.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

using namespace ember;
namespace fs = std::filesystem;

namespace {

fs::path out_dir() {
  const fs::path d = fs::temp_directory_path() / "ember_plot_test";
  fs::create_directories(d);
  return d;
}

// Saves, checks the file exists and decodes it back as RGB.
data::Image save_and_load(const plot::Figure& fig, const std::string& name) {
  const fs::path path = out_dir() / name;
  fs::remove(path);
  fig.save_png(path.string());
  REQUIRE(fs::exists(path));
  return data::load_image(path.string(), 3);
}

size_t count_colour(const data::Image& img, viz::Rgb c) {
  size_t n = 0;
  for (size_t i = 0; i + 2 < img.pixels.size(); i += 3)
    n += img.pixels[i] == c.r && img.pixels[i + 1] == c.g && img.pixels[i + 2] == c.b;
  return n;
}

size_t distinct_colours(const data::Image& img) {
  std::set<uint32_t> seen;
  for (size_t i = 0; i + 2 < img.pixels.size(); i += 3)
    seen.insert(uint32_t{img.pixels[i]} << 16 | uint32_t{img.pixels[i + 1]} << 8 |
                img.pixels[i + 2]);
  return seen.size();
}

PLINT current_stream() {
  PLINT s = -1;
  plgstrm(&s);
  return s;
}

constexpr viz::Rgb kMagenta{200, 30, 160};

}  // namespace

TEST_CASE("line_chart: size, colours, log scale") {
  const PLINT stream_before = current_stream();
  std::vector<double> x, fall, rise;
  for (int i = 1; i <= 20; ++i) {
    x.push_back(i);
    fall.push_back(10.0 / i);
    rise.push_back(0.1 * i);
  }
  plot::ChartSpec spec{"Loss", "epoch", "loss", true, 640, 360};
  const plot::Figure fig =
      plot::line_chart({{"train", x, fall, kMagenta}, {"val", x, rise, {}}}, spec);
  const data::Image img = save_and_load(fig, "line.png");
  CHECK(img.width == 640);
  CHECK(img.height == 360);
  CHECK(distinct_colours(img) > 10);
  CHECK(count_colour(img, kMagenta) > 50);                 // the explicit colour
  CHECK(count_colour(img, viz::category_colour(1)) > 50);  // the default for series 1
  CHECK(count_colour(img, viz::category_colour(0)) == 0);  // series 0 has its own colour
  CHECK(current_stream() == stream_before);

  // Rendering is deterministic and independent of the figure before it.
  const plot::Figure again =
      plot::line_chart({{"train", x, fall, kMagenta}, {"val", x, rise, {}}}, spec);
  CHECK(again.image.pixels == fig.image.pixels);

  CHECK_THROWS_AS(plot::line_chart({}, spec), ember::Error);
  CHECK_THROWS_AS(plot::line_chart({{"bad", {1, 2}, {1}, {}}}, spec), ember::Error);
  CHECK_THROWS_AS(plot::line_chart({{"neg", {1, 2}, {1, -1}, {}}}, spec), ember::Error);  // log
  spec.log_y = false;
  CHECK_NOTHROW(plot::line_chart({{"neg", {1, 2}, {1, -1}, {}}}, spec));
  CHECK_THROWS_AS(plot::line_chart({{"nan", {1, 2}, {1, std::nan("")}, {}}}, spec), ember::Error);
  spec.width = 10;
  CHECK_THROWS_AS(plot::line_chart({{"a", {1, 2}, {1, 2}, {}}}, spec), ember::Error);
  CHECK(current_stream() == stream_before);
}

TEST_CASE("scatter: one colour per class") {
  plot::ScatterData data;
  for (int i = 0; i < 60; ++i) {
    data.x.push_back(i % 3 * 10.0 + (i % 7));
    data.y.push_back(i % 3 * 5.0 + (i % 5));
    data.labels.push_back(i % 3);
  }
  data.class_names = {"a", "b", "c"};
  const data::Image img =
      save_and_load(plot::scatter(data, {"Embedding", "x", "y", false, 500, 420}), "scatter.png");
  CHECK(img.width == 500);
  CHECK(img.height == 420);
  for (size_t c = 0; c < 3; ++c) CHECK(count_colour(img, viz::category_colour(c)) > 30);
  CHECK(count_colour(img, viz::category_colour(3)) == 0);

  data.labels[5] = 3;  // no name for class 3
  CHECK_THROWS_AS(plot::scatter(data, {}), ember::Error);
  data.labels.pop_back();  // one label short
  CHECK_THROWS_AS(plot::scatter(data, {}), ember::Error);
}

TEST_CASE("bar_chart: grouped bars in their colours") {
  const plot::Figure fig =
      plot::bar_chart({"MDM", "Grad-CAM", "random"},
                      {{"box", {0.6, 0.45, 0.2}, {}}, {"mask", {0.55, 0.4, 0.15}, kMagenta}},
                      {"Energy pointing game", "", "score", false, 600, 400});
  const data::Image img = save_and_load(fig, "bar.png");
  CHECK(img.width == 600);
  CHECK(img.height == 400);
  // Bars are filled areas: thousands of pixels of each series' colour.
  CHECK(count_colour(img, viz::category_colour(0)) > 2000);
  CHECK(count_colour(img, kMagenta) > 2000);
  // The tallest bar (0.6, of series 0) is taller than series 1's tallest (0.55).
  CHECK(count_colour(img, viz::category_colour(0)) > count_colour(img, kMagenta));

  plot::ChartSpec log_spec{"", "", "", true, 400, 300};
  CHECK(plot::bar_chart({"a", "b"}, {{"", {1.0, 100.0}, {}}}, log_spec).image.width == 400);
  CHECK_THROWS_AS(plot::bar_chart({"a", "b"}, {{"", {1.0, 0.0}, {}}}, log_spec), ember::Error);
  CHECK_THROWS_AS(plot::bar_chart({"a", "b"}, {{"s", {1.0}, {}}}, {}), ember::Error);
  CHECK_THROWS_AS(plot::bar_chart({}, {{"s", {}, {}}}, {}), ember::Error);
}

TEST_CASE("image_grid: exact pixels, frames and labels") {
  const viz::Rgb teal{0, 128, 128};
  std::vector<plot::Panel> panels = {
      {viz::blank(28, 28, teal), "pred: 7", viz::kCorrect},
      {viz::blank(28, 28, teal), "pred: 1\ntrue: 7", viz::kWrong},
      {viz::blank(14, 28, teal), "wide", std::nullopt},
  };
  plot::GridSpec spec;
  spec.cell = 56;
  spec.columns = 2;
  const data::Image img = save_and_load(plot::image_grid(panels, spec), "grid.png");
  // Layout (see GridSpec): slot = 56 + 2 * 3 (frame) + 10 (padding) = 72 wide; two label
  // lines of 1.5 * 13 px = 39 px, so 56 + 6 + 39 + 10 = 111 high; 10 px outer padding.
  CHECK(img.width == 10 + 2 * 72);
  CHECK(img.height == 10 + 2 * 111);
  CHECK(viz::pixel(img, 10, 10) == viz::kCorrect);          // frame corner of panel 0
  CHECK(viz::pixel(img, 13, 13) == teal);                   // its picture, exactly
  CHECK(viz::pixel(img, 10 + 61, 10 + 72) == viz::kWrong);  // bottom-left frame of panel 1
  CHECK(viz::pixel(img, 40, 72 + 40) == teal);
  // Panel 2 (28 wide, 14 high -> 56 x 28) sits centred in its cell, unframed.
  CHECK(viz::pixel(img, 121 + 3 + 14, 10 + 3) == teal);
  CHECK(viz::pixel(img, 121 + 3 + 13, 10 + 3) == viz::kWhite);
  CHECK(count_colour(img, viz::kCorrect) == 4 * 3 * 62 - 4 * 9);  // a 62x62 ring, 3 px wide
  // Label text under panel 0: dark pixels in the band below its frame.
  int dark = 0;
  for (int y = 10 + 62; y < 10 + 62 + 39; ++y)
    for (int x = 10; x < 10 + 62; ++x) {
      const viz::Rgb p = viz::pixel(img, y, x);
      dark += p.r < 100 && p.g < 100 && p.b < 100;
    }
  CHECK(dark > 20);

  CHECK_THROWS_AS(plot::image_grid({}), ember::Error);
  spec.frame = -1;
  CHECK_THROWS_AS(plot::image_grid(panels, spec), ember::Error);
}

TEST_CASE("save_png: an unwritable path throws naming it") {
  const plot::Figure fig = plot::bar_chart({"a"}, {{"", {1.0}, {}}}, {});
  const std::string bad = (out_dir() / "no_such_folder" / "bar.png").string();
  CHECK_THROWS_AS(fig.save_png(bad), ember::Error);
  try {
    fig.save_png(bad);
  } catch (const ember::Error& e) {
    CHECK(std::string(e.what()).find(bad) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(bad));
}
