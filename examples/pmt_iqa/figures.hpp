// The PMT-IQA figures: a reference x distortion x level grid with the labels, predicted against
// target quality for each arm, and the validation SRCC per epoch.
#pragma once

#include <algorithm>
#include <cstdio>
#include <ember/core/random.hpp>
#include <ember/plot.hpp>
#include <ember/viz.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "data.hpp"
#include "train.hpp"

namespace pmt_iqa {

inline constexpr const char* kShortTypeNames[] = {"blur", "noise", "jpeg", "contr."};

// "skimage-astronaut" -> "astronaut": the photo id without its source prefix.
inline std::string short_name(const std::string& id) {
  const size_t dash = id.find('-');
  return dash == std::string::npos ? id : id.substr(dash + 1);
}

// For each reference in `refs`: one row per distortion type, the pristine crop then levels
// 1-5, each labelled with its (noisy) label q. Distortions are redrawn from a fixed seed for
// the picture; the labels shown are the data set's.
inline void save_distortion_grid(const std::filesystem::path& path, const Dataset& d,
                                 const std::vector<int>& refs) {
  std::vector<plot::Panel> panels;
  for (int r : refs) {
    const Reference& ref = d.refs[size_t(r)];
    for (size_t i = 0; i < d.samples.size(); ++i) {
      const Sample& s = d.samples[i];
      if (s.ref != r) continue;
      if (s.type < 0) continue;
      if (s.level == 1) {  // the pristine crop starts every row
        const Sample& p = d.samples[i - size_t(s.type) * kLevels - 1];
        char label[96];
        std::snprintf(label, sizeof label, "%.10s\nq %.0f", short_name(ref.photo).c_str(),
                      p.quality);
        panels.push_back(
            {viz::tensor_to_image(d.images.select(0, int64_t(i) - s.type * kLevels - 1)), label,
             std::nullopt});
      }
      char label[64];
      std::snprintf(label, sizeof label, "%s %d\nq %.0f", kShortTypeNames[s.type], s.level,
                    s.quality);
      panels.push_back({viz::tensor_to_image(d.images.select(0, int64_t(i))), label, std::nullopt});
    }
  }
  plot::image_grid(panels, {.title = "References x distortion x level, with the synthetic label q",
                            .columns = 1 + kLevels,
                            .cell = 96,
                            .smooth = true})
      .save_png(path.string());
}

inline void save_prediction_scatter(const std::filesystem::path& path, const std::string& arm,
                                    const RunResult& r) {
  plot::ScatterData data;
  data.x = r.test_target;
  data.y = r.test_pred;
  for (int t : r.test_type) data.labels.push_back(t + 1);
  data.class_names = {"pristine", "blur", "noise", "compression", "contrast"};
  char title[160];
  std::snprintf(title, sizeof title, "%s: test images of split 1 (SRCC %.3f, PLCC %.3f)",
                arm.c_str(), r.test.srcc, r.test.plcc);
  plot::scatter(data, {.title = title,
                       .xlabel = "target quality q (synthetic)",
                       .ylabel = "predicted quality",
                       .width = 700,
                       .height = 600})
      .save_png(path.string());
}

inline void save_val_curves(const std::filesystem::path& path, const std::vector<Arm>& arms,
                            const std::vector<RunResult>& runs) {
  std::vector<plot::Series> series;
  for (size_t a = 0; a < arms.size(); ++a) {
    std::vector<double> x, y;
    for (size_t e = 0; e < runs[a].epochs.size(); ++e) {
      x.push_back(double(e + 1));
      y.push_back(runs[a].epochs[e].val.srcc);
    }
    series.push_back({arms[a].label, x, y, std::nullopt});
  }
  plot::line_chart(series, {.title = "Validation SRCC per epoch (split 1)",
                            .xlabel = "epoch",
                            .ylabel = "SRCC",
                            .width = 900,
                            .height = 500})
      .save_png(path.string());
}

}  // namespace pmt_iqa
