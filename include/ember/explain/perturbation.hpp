// Deletion and insertion curves (Petsiuk et al.; papers/01-mdm.md §4) of one image: pixels
// ranked by saliency (metrics::saliency_order), changed in K steps (metrics::perturbation_counts),
// and the target's softmax probability after each step, p_0..p_K. Deletion starts from the
// image and replaces pixels by the fill; insertion starts from the fill and puts the image's
// pixels back. The K + 1 perturbed images are one batched forward (in chunks of `batch`).
// Score the curves with metrics::deletion_auc / insertion_auc.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/autograd/grad_mode.hpp>
#include <ember/explain/common.hpp>
#include <ember/metrics/attribution.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/softmax.hpp>
#include <vector>

namespace ember::explain {

enum class Perturbation { Deletion, Insertion };

// image and fill [C, H, W]; saliency: H * W values, row-major.
template <class S>
std::vector<double> perturbation_curve(const Forward& model, const Tensor<float>& image,
                                       const Tensor<float>& fill, const S& saliency, int64_t target,
                                       int64_t steps, Perturbation kind, int64_t batch = 64) {
  EMBER_CHECK(
      image.defined() && image.dim() == 3 && fill.defined() && fill.shape() == image.shape(),
      "perturbation_curve: expected an image [C, H, W] and a fill of the same shape, got ",
      image.defined() ? shape_str(image.shape()) : std::string("undefined"), " and ",
      fill.defined() ? shape_str(fill.shape()) : std::string("undefined"));
  const int64_t h = image.size(1), w = image.size(2);
  EMBER_CHECK(int64_t(std::size(saliency)) == h * w, "perturbation_curve: expected ", h * w,
              " saliency values (", h, "x", w, "), got ", std::size(saliency));
  EMBER_CHECK(steps >= 1 && batch >= 1, "perturbation_curve: steps and batch must be >= 1, got ",
              steps, " and ", batch);
  NoGradGuard no_grad;
  const std::vector<int64_t> order = metrics::saliency_order(saliency);
  const std::vector<int64_t> counts = metrics::perturbation_counts(h * w, steps);
  // changed[k, p] = 1 when pixel p is among the first counts[k] of the order.
  Tensor<float> changed = Tensor<float>::zeros({steps + 1, 1, h, w});
  float* c = changed.data_ptr();
  for (int64_t k = 0; k <= steps; ++k)
    for (int64_t i = 0; i < counts[size_t(k)]; ++i) c[k * h * w + order[size_t(i)]] = 1.0f;
  changed = changed.to(image.device());
  const Tensor<float> from = kind == Perturbation::Deletion ? image : fill;
  const Tensor<float> to = kind == Perturbation::Deletion ? fill : image;
  std::vector<double> curve;
  for (int64_t b = 0; b <= steps; b += batch) {
    const Tensor<float> m = changed.slice(0, b, std::min(steps + 1, b + batch));
    const Tensor<float> x = add(from.unsqueeze(0), mul(m, sub(to, from).unsqueeze(0)));
    const Tensor<float> logits = model(x);
    detail::check_logits("perturbation_curve", logits, m.size(0), {target});
    const std::vector<float> p =
        target_scores(softmax(logits, 1), {target}, true).to(Device::cpu()).to_vector();
    curve.insert(curve.end(), p.begin(), p.end());
  }
  return curve;
}

}  // namespace ember::explain
