// Class activation maps of a model split at its last convolution: features(x) = A [N, K, h, w]
// and head(A) = logits. This `features` / `head` pair is the one convention every explainer
// that reads a layer uses (no hooks): a model exposes the two halves, e.g.
//   explain::grad_cam([&](auto& x) { return net.features(x); },
//                     [&](auto& a) { return net.head(a); }, images, targets);
//
//   CAM (Zhou et al.), for a head that is global average pooling then a linear layer W [C, K]:
//     CAM_c = sum_k W[c, k] A_k
//   Grad-CAM (Selvaraju et al.), any differentiable head:
//     alpha_k = mean_ij d a_c / d A_k[i, j],  Grad-CAM_c = ReLU(sum_k alpha_k A_k)
// Both are upsampled bilinearly (align_corners false) to the input's H x W.
#pragma once

#include <ember/autograd/engine.hpp>
#include <ember/autograd/grad_mode.hpp>
#include <ember/explain/common.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/upsample.hpp>

namespace ember::explain {

namespace detail {

inline void check_feature_maps(const char* op, const Tensor<float>& a, int64_t n) {
  EMBER_CHECK(a.defined() && a.dim() == 4 && a.size(0) == n, op, ": features must be maps [", n,
              ", K, h, w], got ",
              a.defined() ? shape_str(a.shape()) : std::string("an undefined tensor"));
}

// maps [N, h, w] -> [N, H, W], bilinear.
inline Tensor<float> upsample_maps(const Tensor<float>& maps, int64_t height, int64_t width) {
  const int64_t n = maps.size(0);
  if (maps.size(1) == height && maps.size(2) == width) return maps;
  return interpolate(maps.reshape({n, 1, maps.size(1), maps.size(2)}),
                     InterpolateOptions{.size = {height, width},
                                        .mode = InterpolateMode::Bilinear,
                                        .align_corners = false})
      .reshape({n, height, width});
}

}  // namespace detail

// CAM [N, H, W] from feature maps A [N, K, h, w] and the classifier weight W [C, K].
inline Tensor<float> cam(const Tensor<float>& feature_maps, const Tensor<float>& weight,
                         const std::vector<int64_t>& targets, int64_t height, int64_t width) {
  NoGradGuard no_grad;
  const int64_t n = feature_maps.defined() ? feature_maps.size(0) : 0;
  detail::check_feature_maps("cam", feature_maps, n);
  EMBER_CHECK(weight.defined() && weight.dim() == 2 && weight.size(1) == feature_maps.size(1),
              "cam: expected a classifier weight [C, ", feature_maps.size(1), "], got ",
              weight.defined() ? shape_str(weight.shape()) : std::string("an undefined tensor"));
  EMBER_CHECK(int64_t(targets.size()) == n, "cam: got ", targets.size(), " targets for ", n,
              " feature maps");
  for (size_t i = 0; i < targets.size(); ++i)
    EMBER_CHECK(targets[i] >= 0 && targets[i] < weight.size(0), "cam: target ", targets[i],
                " of image ", i, " is not one of the ", weight.size(0), " classes");
  const Tensor<int64_t> idx = Tensor<int64_t>::from_vector(targets).to(weight.device());
  const Tensor<float> w = index_select(weight, 0, idx);  // [N, K]
  const int64_t k = feature_maps.size(1), h = feature_maps.size(2), ww = feature_maps.size(3);
  // [N, 1, K] x [N, K, h*w] -> [N, 1, h*w]
  const Tensor<float> maps =
      bmm(w.reshape({n, 1, k}), feature_maps.reshape({n, k, h * ww})).reshape({n, h, ww});
  return detail::upsample_maps(maps, height, width);
}

// Grad-CAM [N, H, W] (non-negative) of images x for targets.
inline Tensor<float> grad_cam(const Forward& features, const Forward& head, const Tensor<float>& x,
                              const std::vector<int64_t>& targets) {
  explain::detail::check_images("grad_cam", x, targets);
  AutoGradMode enable(true);
  Tensor<float> a = features(x.detach()).detach();
  detail::check_feature_maps("grad_cam", a, x.size(0));
  a.requires_grad_(true);
  const Tensor<float> logits = head(a);
  explain::detail::check_logits("grad_cam", logits, x.size(0), targets);
  const Tensor<float> g = grad<float>({sum(target_scores(logits, targets))}, {a})[0];
  NoGradGuard no_grad;
  const Tensor<float> alpha = mean(g, {2, 3}, true);  // [N, K, 1, 1]
  const Tensor<float> maps = relu(sum(mul(alpha, a.detach()), {1}));
  return detail::upsample_maps(maps, x.size(2), x.size(3));
}

}  // namespace ember::explain
