// Vanilla gradient saliency (Simonyan et al.): S(p) = max over channels |d a_c / d x(p)|, with
// a_c the target's logit. The images of a batch are independent (a model in eval mode), so one
// backward pass of the summed target logits gives every image's gradient.
#pragma once

#include <ember/autograd/engine.hpp>
#include <ember/autograd/grad_mode.hpp>
#include <ember/explain/common.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/unary.hpp>

namespace ember::explain {

// Saliency maps [N, H, W] of images x [N, C, H, W] for targets (one class per image).
inline Tensor<float> vanilla_gradient(const Forward& model, const Tensor<float>& x,
                                      const std::vector<int64_t>& targets) {
  detail::check_images("vanilla_gradient", x, targets);
  AutoGradMode enable(true);  // explanations may be asked for inside a NoGradGuard
  Tensor<float> input = x.detach();
  input.requires_grad_(true);
  const Tensor<float> logits = model(input);
  detail::check_logits("vanilla_gradient", logits, x.size(0), targets);
  const Tensor<float> g = grad<float>({sum(target_scores(logits, targets))}, {input})[0];
  NoGradGuard no_grad;
  return amax(abs(g), {1});
}

}  // namespace ember::explain
