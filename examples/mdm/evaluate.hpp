// Scoring saliency maps (papers/01-mdm.md §4-5): deletion AUC from the dataset-mean image,
// insertion AUC from the blurred copy (MDM's own fill, which slightly favours it) and from the
// mean image (no arm was optimised for it), K = 32 steps, the target's softmax probability;
// the pointing game (arg-max within 3 px of the box); the energy pointing game with the box and
// with the pixel mask, on min-max normalised maps. Means over the explained images.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/explain.hpp>
#include <ember/image/gaussian.hpp>
#include <ember/metrics/attribution.hpp>
#include <ember/metrics/summary.hpp>
#include <string>
#include <vector>

#include "scenes.hpp"

namespace mdm {

using namespace ember;

inline constexpr int64_t kCurveSteps = 32;
inline constexpr double kPointingTolerance = 3.0;

struct Scores {
  double deletion = 0, insertion_blur = 0, insertion_mean = 0, pointing = 0, energy_box = 0,
         energy_mask = 0;
  double auc_gap() const { return insertion_blur - deletion; }
};

// maps [N, H, W] (any device) of the images x [N, 3, H, W] of `set` rows `rows`, explained for
// `targets`.
inline Scores score_maps(const explain::Forward& model, const Tensor<float>& x,
                         const std::vector<int64_t>& targets, const Tensor<float>& maps,
                         const SceneSet& set, const std::vector<int64_t>& rows,
                         const Tensor<float>& mean_image) {
  NoGradGuard no_grad;
  const Tensor<float> normalised = explain::minmax_per_map(maps).to(Device::cpu()).contiguous();
  const Tensor<float> blurred = image::gaussian_blur(x, double(kSide) / 12.0);
  const int64_t n = x.size(0), hw = kSide * kSide;
  std::vector<double> del, ins_b, ins_m, hit, e_box, e_mask;
  for (int64_t i = 0; i < n; ++i) {
    const float* m = normalised.data_ptr() + i * hw;
    const std::vector<float> map(m, m + hw);
    const Tensor<float> image = x.select(0, i);
    const int64_t t = targets[size_t(i)];
    del.push_back(metrics::deletion_auc(explain::perturbation_curve(
        model, image, mean_image, map, t, kCurveSteps, explain::Perturbation::Deletion)));
    ins_b.push_back(metrics::insertion_auc(
        explain::perturbation_curve(model, image, blurred.select(0, i), map, t, kCurveSteps,
                                    explain::Perturbation::Insertion)));
    ins_m.push_back(metrics::insertion_auc(explain::perturbation_curve(
        model, image, mean_image, map, t, kCurveSteps, explain::Perturbation::Insertion)));
    const metrics::Box& box = set.boxes[size_t(rows[size_t(i)])];
    hit.push_back(metrics::pointing_game_hit(map, kSide, kSide, box, kPointingTolerance) ? 1 : 0);
    const double eb = metrics::energy_pointing_game(map, kSide, kSide, box);
    const double em = metrics::energy_pointing_game(map, set.masks[size_t(rows[size_t(i)])]);
    // An all-zero map points nowhere: it scores 0, not NaN.
    e_box.push_back(std::isnan(eb) ? 0.0 : eb);
    e_mask.push_back(std::isnan(em) ? 0.0 : em);
  }
  return {metrics::mean(del), metrics::mean(ins_b), metrics::mean(ins_m),
          metrics::mean(hit), metrics::mean(e_box), metrics::mean(e_mask)};
}

// A uniformly random map per image (the random baseline) and a centred Gaussian (sigma H/4).
inline Tensor<float> random_maps(int64_t n, uint64_t seed) {
  Generator gen(seed);
  return Tensor<float>::rand({n, kSide, kSide}, gen);
}

inline Tensor<float> centre_maps(int64_t n) {
  Tensor<float> one = Tensor<float>::empty({1, kSide, kSide});
  const double c = (kSide - 1) / 2.0, s = kSide / 4.0;
  for (int64_t y = 0; y < kSide; ++y)
    for (int64_t x = 0; x < kSide; ++x)
      one.data_ptr()[y * kSide + x] =
          float(std::exp(-((y - c) * (y - c) + (x - c) * (x - c)) / (2 * s * s)));
  return one.expand({n, kSide, kSide}).contiguous();
}

}  // namespace mdm
