// The SSTAM example's figures: frame strips of test cubes with their artifact masks, the
// model's saliency map and the label's reference map; predicted against target score; F1 per
// artifact and detector.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <ember/image/chroma.hpp>
#include <ember/image/color.hpp>
#include <ember/kit/table.hpp>
#include <ember/ops/shape.hpp>
#include <ember/plot.hpp>
#include <ember/viz.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "artifacts.hpp"
#include "train.hpp"

namespace sstam {

// Frame t of cube i as an RGB image (BT.601 full range, chroma upsampled by nearest).
inline data::Image frame_rgb(const CubeSet& s, int64_t i, int64_t t) {
  const Tensor<float> y = mul(s.y.select(0, i).select(0, t).to<float>(), 1.0f / 255.0f);
  const Tensor<float> cb = mul(s.cb.select(0, i).select(0, t).to<float>(), 1.0f / 255.0f);
  const Tensor<float> cr = mul(s.cr.select(0, i).select(0, t).to<float>(), 1.0f / 255.0f);
  const Tensor<float> ycc =
      stack(std::vector<Tensor<float>>{y, image::chroma_upsample(cb, kSide, kSide, 2),
                                       image::chroma_upsample(cr, kSide, kSide, 2)},
            0);
  return viz::tensor_to_image(clamp(image::ycbcr_to_rgb(ycc), 0.0f, 1.0f));
}

// A per-block map [64] (mask or attention) as a 64 x 64 image.
inline Tensor<float> block_plane(const std::vector<float>& blocks) {
  Tensor<float> out = Tensor<float>::empty({kSide, kSide});
  for (int64_t r = 0; r < kSide; ++r)
    for (int64_t c = 0; c < kSide; ++c)
      out.data_ptr()[r * kSide + c] = blocks[size_t((r / kBlock) * kGrid + c / kBlock)];
  return out;
}

// One row per cube: frames 0, 2, 4, 6; the six artifact masks (white: applied; the strength
// under each); the model's saliency (mean over frames) and the label's reference map.
inline void save_frame_strips(const std::filesystem::path& path, const CubeSet& s,
                              const std::vector<int64_t>& cubes, const Tensor<float>& saliency) {
  std::vector<plot::Panel> panels;
  for (int64_t i : cubes) {
    for (int64_t t : {0, 2, 4, 6})
      panels.push_back({frame_rgb(s, i, t),
                        "cube " + std::to_string(i) + "\nframe " + std::to_string(t),
                        std::nullopt});
    for (int a = 0; a < kPeas; ++a) {
      std::vector<float> m(size_t(kGrid * kGrid));
      for (int64_t b = 0; b < kGrid * kGrid; ++b)
        m[size_t(b)] = float(s.masks.data_ptr()[(i * kPeas + a) * kGrid * kGrid + b]);
      const float st = s.strength.data_ptr()[i * kPeas + a];
      panels.push_back({viz::tensor_to_image(block_plane(m)),
                        kPeaNames[size_t(a)] + " mask\ns = " + kit::fmt(st, 2), std::nullopt});
    }
    const Tensor<float> sal = mean(saliency.select(0, i), {0});
    panels.push_back({viz::heatmap(sal, 0.0, 2.0), "saliency\n(model)", std::nullopt});
    std::vector<float> att(size_t(kGrid * kGrid));
    float hi = 1e-12f;
    for (int64_t b = 0; b < kGrid * kGrid; ++b)
      hi = std::max(hi, att[size_t(b)] = s.attention.data_ptr()[i * kGrid * kGrid + b]);
    for (float& v : att) v /= hi;
    panels.push_back({viz::heatmap(block_plane(att), 0.0, 1.0), "reference map\n(label, pristine)",
                      std::nullopt});
  }
  plot::image_grid(panels, {.title = "Test cubes: frames, artifact masks (s = strength) and the "
                                     "model's spectral-residual x motion saliency",
                            .columns = 12,
                            .cell = 96})
      .save_png(path.string());
}

// Predicted against target score: one class per split.
inline void save_prediction_scatter(const std::filesystem::path& path, const std::string& title,
                                    const std::vector<std::vector<double>>& target,
                                    const std::vector<std::vector<double>>& predicted,
                                    const std::vector<std::string>& names) {
  plot::ScatterData d;
  for (size_t k = 0; k < target.size(); ++k)
    for (size_t i = 0; i < target[k].size(); ++i) {
      d.x.push_back(target[k][i]);
      d.y.push_back(predicted[k][i]);
      d.labels.push_back(int(k));
    }
  d.class_names = names;
  plot::scatter(d, {.title = title,
                    .xlabel = "synthetic MOS (target)",
                    .ylabel = "predicted",
                    .width = 800,
                    .height = 600})
      .save_png(path.string());
}

inline void save_f1_chart(const std::filesystem::path& path, const std::vector<std::string>& peas,
                          const std::vector<plot::BarSeries>& series) {
  plot::bar_chart(peas, series,
                  {.title = "Per-PEA F1 on the time-split test sub-patches (threshold 0.5)",
                   .xlabel = "artifact",
                   .ylabel = "F1",
                   .width = 1000,
                   .height = 500})
      .save_png(path.string());
}

}  // namespace sstam
