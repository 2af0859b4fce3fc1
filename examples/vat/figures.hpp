// The example's figures: a grid of test scenes (their captions sit in report.md), CIDEr-D
// against Self-CIDEr per arm with the human point, and the training curves.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/plot.hpp>
#include <ember/viz.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "scenes.hpp"

namespace vat {

inline void save_scene_grid(const std::filesystem::path& path,
                            const std::vector<CaptionScene>& scenes, int64_t count) {
  std::vector<plot::Panel> panels;
  for (int64_t i = 0; i < std::min<int64_t>(count, int64_t(scenes.size())); ++i)
    panels.push_back({scenes[size_t(i)].image, "test scene " + std::to_string(i), std::nullopt});
  plot::image_grid(panels, {.title = "Test scenes (captions of arms A and D in report.md)",
                            .columns = 4,
                            .cell = 160,
                            .smooth = false})
      .save_png(path.string());
}

// One point per arm and the human point: x = Self-CIDEr, y = CIDEr-D.
inline void save_tradeoff(const std::filesystem::path& path, const std::vector<std::string>& names,
                          const std::vector<double>& self_cider, const std::vector<double>& cider,
                          const std::string& ylabel) {
  plot::ScatterData d;
  d.x = self_cider;
  d.y = cider;
  d.class_names = names;
  for (size_t i = 0; i < names.size(); ++i) d.labels.push_back(int(i));
  // The chart's legend sits in the top-right corner, over the data; one extra point at the
  // right edge and well above the data stretches the y axis so that the real points stay below
  // the legend (which, drawn last and opaque, hides that point).
  const double x1 = *std::max_element(self_cider.begin(), self_cider.end());
  const auto [y0, y1] = std::minmax_element(cider.begin(), cider.end());
  d.x.push_back(x1);
  d.y.push_back(*y1 + 1.5 * std::max(0.05, *y1 - *y0));
  d.labels.push_back(d.labels.back());
  plot::scatter(d, {.title = "Accuracy against diversity (test scenes)",
                    .xlabel = "Self-CIDEr of 5 captions",
                    .ylabel = ylabel,
                    .width = 800,
                    .height = 560})
      .save_png(path.string());
}

inline std::vector<double> epochs_axis(size_t n) {
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = double(i + 1);
  return x;
}

// Named curves over epochs.
inline void save_curves(const std::filesystem::path& path, const std::string& title,
                        const std::string& ylabel, const std::vector<std::string>& names,
                        const std::vector<std::vector<double>>& curves) {
  std::vector<plot::Series> series;
  for (size_t i = 0; i < names.size(); ++i)
    series.push_back({names[i], epochs_axis(curves[i].size()), curves[i], std::nullopt});
  plot::line_chart(
      series, {.title = title, .xlabel = "epoch", .ylabel = ylabel, .width = 700, .height = 450})
      .save_png(path.string());
}

}  // namespace vat
