// MDM, multiple dynamic masks (Peng et al., arXiv 2207.08046; the form of papers/01-mdm.md
// §3): for each image, target class c and scale s, a learnable mask m_s [s, s] with
// M_s = sigmoid(m_s), upsampled bilinearly to H x W (U), blends the image with a fill b (a
// Gaussian-blurred copy, sigma H/12):  x~_s = U(M_s) * x + (1 - U(M_s)) * b, and minimises
//   L_s = (a_c(x~_s) - a_c(x))^2 + lambda_area * mean(M_s) + lambda_binary * mean(M_s (1 - M_s))
// with Adam on the masks only (m_s = 0 at the start, M_s = 0.5). The CAM is the min-max
// normalised mean of U(M_s) over the scales.
//
// Every image and scale is an independent problem: all of them are one batch per step (their
// losses summed; Adam is element-wise, so they do not interact), and the model is touched
// only through forward and the gradient with respect to its input, so the same code explains a
// CNN and a Transformer. Run the model in eval mode (BatchNorm with running statistics), or
// the problems of a batch would see each other through the batch statistics.
#pragma once

#include <cstdint>
#include <ember/autograd/engine.hpp>
#include <ember/autograd/grad_mode.hpp>
#include <ember/explain/cam.hpp>
#include <ember/explain/common.hpp>
#include <ember/image/gaussian.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/unary.hpp>
#include <ember/ops/upsample.hpp>
#include <ember/optim/adam.hpp>
#include <vector>

namespace ember::explain {

struct MdmOptions {
  std::vector<int64_t> scales = {3, 6, 12, 24};  // the note's choice for 48 x 48 inputs
  double lambda_area = 0.1;
  double lambda_binary = 0.0;
  double lr = 0.05;
  int64_t steps = 80;
  double fill_sigma = 0;  // 0: H / 12
};

struct MdmResult {
  Tensor<float> cam;                      // [N, H, W], each map min-max normalised to [0, 1]
  std::vector<Tensor<float>> scale_maps;  // per scale: U(M_s) [N, H, W]
  std::vector<double> loss;               // the summed loss at every step
};

// Per image, (v - min) / (max - min) over H x W; a constant map becomes 0.
inline Tensor<float> minmax_per_map(const Tensor<float>& maps) {
  NoGradGuard no_grad;
  const Tensor<float> lo = amin(maps, {1, 2}, true), hi = amax(maps, {1, 2}, true);
  return div(sub(maps, lo), clamp_min(sub(hi, lo), 1e-12f));
}

inline MdmResult mdm(const Forward& model, const Tensor<float>& x,
                     const std::vector<int64_t>& targets, const MdmOptions& o = {}) {
  detail::check_images("mdm", x, targets);
  EMBER_CHECK(!o.scales.empty() && o.steps >= 1 && o.lr > 0 && o.lambda_area >= 0 &&
                  o.lambda_binary >= 0 && o.fill_sigma >= 0,
              "mdm: expected at least one scale, steps >= 1, lr > 0 and non-negative lambdas "
              "and fill_sigma, got ",
              o.scales.size(), " scales, steps ", o.steps, ", lr ", o.lr, ", lambda_area ",
              o.lambda_area, ", lambda_binary ", o.lambda_binary, ", fill_sigma ", o.fill_sigma);
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  for (int64_t s : o.scales)
    EMBER_CHECK(s >= 1 && s <= std::min(h, w), "mdm: scale ", s, " must be in 1..", std::min(h, w));
  const Tensor<float> image = x.detach();
  Tensor<float> reference, fill;
  {
    NoGradGuard no_grad;
    const Tensor<float> logits = model(image);
    detail::check_logits("mdm", logits, n, targets);
    reference = target_scores(logits, targets);  // a_c(x), [N]
    fill = image::gaussian_blur(image, o.fill_sigma > 0 ? o.fill_sigma : double(h) / 12.0);
  }
  const int64_t scales = int64_t(o.scales.size());
  std::vector<Tensor<float>> params;
  std::vector<AnyTensor> opt_params;
  for (int64_t s : o.scales) {
    Tensor<float> m = Tensor<float>::zeros({n, 1, s, s}).to(x.device());
    m.requires_grad_(true);
    params.push_back(m);
    opt_params.emplace_back(m);
  }
  optim::Adam opt(opt_params, {.lr = o.lr});
  const Tensor<float> reference_all = cat(std::vector<Tensor<float>>(size_t(scales), reference), 0);
  auto upsampled = [&](const Tensor<float>& m) {
    return interpolate(
        sigmoid(m), InterpolateOptions{
                        .size = {h, w}, .mode = InterpolateMode::Bilinear, .align_corners = false});
  };
  MdmResult r;
  AutoGradMode enable(true);
  for (int64_t step = 0; step < o.steps; ++step) {
    std::vector<Tensor<float>> blended;
    Tensor<float> penalty = Tensor<float>::zeros({}).to(x.device());
    for (int64_t k = 0; k < scales; ++k) {
      const Tensor<float> mask = sigmoid(params[size_t(k)]);  // [N, 1, s, s]
      const Tensor<float> u = upsampled(params[size_t(k)]);   // [N, 1, H, W]
      blended.push_back(add(mul(u, image), mul(rsub(u, 1.0f), fill)));
      Tensor<float> per_image = mul(mean(mask, {1, 2, 3}), float(o.lambda_area));
      if (o.lambda_binary > 0)
        per_image = add(per_image,
                        mul(mean(mul(mask, rsub(mask, 1.0f)), {1, 2, 3}), float(o.lambda_binary)));
      penalty = add(penalty, sum(per_image));
    }
    const Tensor<float> logits = model(cat(blended, 0));  // [scales * N, K]
    const Tensor<float> diff = sub(target_scores(logits, targets, true), reference_all);
    const Tensor<float> loss = add(sum(mul(diff, diff)), penalty);
    const std::vector<Tensor<float>> g = grad<float>({loss}, params);
    for (size_t k = 0; k < params.size(); ++k) params[k].set_grad(g[k]);
    opt.step();
    r.loss.push_back(double(loss.item()));
  }
  NoGradGuard no_grad;
  Tensor<float> total;
  for (const Tensor<float>& m : params) {
    const Tensor<float> u = upsampled(m).reshape({n, h, w});
    r.scale_maps.push_back(u);
    total = total.defined() ? add(total, u) : u;
  }
  r.cam = minmax_per_map(mul(total, float(1.0 / double(scales))));
  return r;
}

}  // namespace ember::explain
