// The doorping example's figures: the condensed images of an arm (one column per class, one
// row per image) and the triggers (the fixed white patch beside DOORPING's learned one, alone
// and stamped on a test image).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ember/core/tensor.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/plot.hpp>
#include <ember/viz.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "poison.hpp"

namespace doorping {

// Image k of a normalised [N, 1, 28, 28] host tensor as 8-bit grey, clipped to [0, 1] after
// undoing the normalisation (as the reference code saves its images).
inline ember::data::Image to_grey(const std::vector<float>& x, int64_t k) {
  ember::data::Image img{int(kSide), int(kSide), 1, {}};
  for (int64_t i = 0; i < kSide * kSide; ++i) {
    const float v = std::clamp(denormalise(x[size_t(k * kSide * kSide + i)]), 0.0f, 1.0f);
    img.pixels.push_back(uint8_t(v * 255.0f + 0.5f));
  }
  return img;
}

// The ipc x 10 grid of an arm's images (labels: the class under the first row).
inline void save_condensed(const std::filesystem::path& path, const std::string& title,
                           const Tensor<float>& images, int64_t ipc) {
  namespace plot = ember::plot;
  const std::vector<float> x = images.to_vector();
  std::vector<plot::Panel> panels;
  for (int64_t row = 0; row < ipc; ++row)
    for (int64_t c = 0; c < kClasses; ++c)
      panels.push_back({ember::viz::to_rgb(to_grey(x, c * ipc + row)),
                        row == 0 ? ember::data::fashion_mnist_class_name(c) : "", std::nullopt});
  plot::image_grid(panels, {.title = title, .columns = int(kClasses), .cell = 64, .text_px = 11})
      .save_png(path.string());
}

// Fixed and learned triggers alone (on mid-grey, so that a trigger darker than the images
// shows as well as a white one) and stamped on the first test image.
inline void save_triggers(const std::filesystem::path& path, const Tensor<float>& fixed,
                          const Tensor<float>& learned, const Tensor<float>& test_image) {
  namespace plot = ember::plot;
  const Tensor<float> mask = patch_mask(fixed.device());
  auto alone = [&](const Tensor<float>& t) {
    return stamp(Tensor<float>::full({1, 1, kSide, kSide}, normalise(0.5f), t.device()), t, mask)
        .to_vector();
  };
  auto on_image = [&](const Tensor<float>& t) { return stamp(test_image, t, mask).to_vector(); };
  std::vector<plot::Panel> panels{
      {ember::viz::to_rgb(to_grey(alone(fixed), 0)), "fixed", std::nullopt},
      {ember::viz::to_rgb(to_grey(alone(learned), 0)), "learned", std::nullopt},
      {ember::viz::to_rgb(to_grey(on_image(fixed), 0)), "+ fixed", std::nullopt},
      {ember::viz::to_rgb(to_grey(on_image(learned), 0)), "+ learned", std::nullopt}};
  plot::image_grid(panels,
                   {.title = "Triggers (2x2 patch, bottom right)", .columns = 4, .cell = 168})
      .save_png(path.string());
}

// The four patch values of a trigger as pixel intensities (0..1 is the image range; the
// learned trigger is not clipped, as in the reference code).
inline std::string patch_values(const Tensor<float>& t) {
  const Tensor<float> c = t.to(ember::Device::cpu());
  std::string s;
  for (int64_t r = kPatchLo; r < kPatchLo + kPatchSize; ++r)
    for (int64_t col = kPatchLo; col < kPatchLo + kPatchSize; ++col) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.2f", s.empty() ? "" : ", ",
                    denormalise(c.at({0, 0, r, col})));
      s += buf;
    }
  return "[" + s + "]";
}

}  // namespace doorping
