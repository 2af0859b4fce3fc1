// The MDM figure: a grid with one row per test scene — the scene with its true box, then each
// method's min-max normalised map overlaid on it (viridis, alpha 0.55) with the box.
#pragma once

#include <algorithm>
#include <ember/explain/mdm.hpp>
#include <ember/plot.hpp>
#include <ember/viz.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "scenes.hpp"

namespace mdm {

inline viz::Box to_viz(const metrics::Box& b) {
  return {int(b.x0), int(b.y0), int(b.x1) - 1, int(b.y1) - 1};
}

// Panel captions short enough for a 96 px cell.
inline std::string short_label(const std::string& key) {
  if (key == "mdm") return "MDM";
  if (key == "mdm_fine") return "MDM 24 only";
  if (key == "mdm_coarse") return "MDM 3 only";
  if (key == "gradcam") return "Grad-CAM";
  if (key == "rise") return "RISE";
  return key;
}

template <class Selection, class Arm>
void save_map_grid(const std::filesystem::path& path, const std::string& model, const SceneSet& set,
                   const Selection& s, const std::vector<Arm>& arms, size_t rows) {
  static const char* kClasses[] = {"T-shirt", "trouser", "pullover", "dress", "coat",
                                   "sandal",  "shirt",   "sneaker",  "bag",   "boot"};
  std::vector<plot::Panel> panels;
  rows = std::min(rows, s.rows.size());
  for (size_t i = 0; i < rows; ++i) {
    const int64_t r = s.rows[i];
    data::Image scene = viz::tensor_to_image(set.images.select(0, r));
    const viz::Box box = to_viz(set.boxes[size_t(r)]);
    data::Image framed = scene;
    viz::draw_rect(framed, box, viz::kWhite, 1);
    panels.push_back({framed, kClasses[s.targets[i]], std::nullopt});
    for (const Arm& a : arms) {
      const Tensor<float> map =
          explain::minmax_per_map(a.maps.slice(0, int64_t(i), int64_t(i) + 1)).select(0, 0);
      data::Image over = viz::overlay(scene, viz::heatmap(map.to(Device::cpu()), 0.0, 1.0), 0.55);
      viz::draw_rect(over, box, viz::kWhite, 1);
      panels.push_back({over, short_label(a.key), std::nullopt});
    }
  }
  plot::image_grid(panels, {.title = model + ": scene and true box, then each method's map",
                            .columns = int(arms.size()) + 1,
                            .cell = 96,
                            .smooth = false,
                            .text_px = 11})
      .save_png(path.string());
}

}  // namespace mdm
