// KL divergences for variational models with Gaussian latents: the closed form between
// diagonal Gaussians, and the standard upper bound between Gaussian mixtures (as used by VaT's
// auto-selectable GMM prior, arXiv 2205.14458).
//
// Gaussians are given by their mean and log-variance (what a network head outputs):
//   KL(N(mu1, s1^2) || N(mu2, s2^2)) = log(s2 / s1) + (s1^2 + (mu1 - mu2)^2) / (2 s2^2) - 1/2
//                                    = (lv2 - lv1) / 2 + (exp(lv1) + (mu1 - mu2)^2) / (2 exp(lv2))
//                                    - 1/2
// per dimension; a diagonal Gaussian's KL is the sum over its dimensions. For mixtures with
// weights c1, c2 over the same K components,
//   KL(sum_k c1_k N1_k || sum_k c2_k N2_k) <= sum_k c1_k log(c1_k / c2_k) + sum_k c1_k KL(N1_k ||
//   N2_k)
// (the KL of the joint over (component, z), which bounds that of the marginals).
//
// Built from differentiable ops (gradients with respect to every argument; create_graph gives
// second derivatives). Templated on T so they can be checked in float64.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>
#include <limits>
#include <type_traits>

namespace ember::nn::functional {

// Element-wise KL(N(mu1, exp(logvar1)) || N(mu2, exp(logvar2))), in nats. The four tensors
// broadcast together (e.g. a prior shared over a batch).
template <class T>
Tensor<T> gaussian_kl(const Tensor<T>& mu1, const Tensor<T>& logvar1, const Tensor<T>& mu2,
                      const Tensor<T>& logvar2) {
  static_assert(std::is_floating_point_v<T>, "gaussian_kl: needs a real floating-point tensor");
  EMBER_CHECK(mu1.defined() && logvar1.defined() && mu2.defined() && logvar2.defined(),
              "gaussian_kl: a mean or log-variance is undefined");
  const Tensor<T> d = sub(mu1, mu2);
  // (s1^2 + d^2) / s2^2, as a product with exp(-lv2).
  const Tensor<T> ratio = mul(add(exp(logvar1), mul(d, d)), exp(neg(logvar2)));
  return add(mul(add(sub(logvar2, logvar1), ratio), T(0.5)), T(-0.5));
}

// KL between diagonal Gaussians [..., D] summed over the last dimension: [...].
template <class T>
Tensor<T> diag_gaussian_kl(const Tensor<T>& mu1, const Tensor<T>& logvar1, const Tensor<T>& mu2,
                           const Tensor<T>& logvar2) {
  const Tensor<T> kl = gaussian_kl(mu1, logvar1, mu2, logvar2);
  EMBER_CHECK(kl.dim() >= 1, "diag_gaussian_kl: expected [..., D] means and log-variances, got ",
              shape_str(kl.shape()));
  return sum(kl, {-1});
}

// The mixture bound: weights c1, c2 [..., K] (probabilities, each summing to 1 over K; a zero
// c1_k contributes nothing), component means and log-variances [..., K, D]. Returns [...]:
//   sum_k c1_k (log c1_k - log c2_k) + sum_k c1_k sum_d KL(N1_kd || N2_kd).
// With c1 = c2 (both sides choose the component the same way) the first term vanishes.
template <class T>
Tensor<T> mixture_kl_upper_bound(const Tensor<T>& c1, const Tensor<T>& mu1,
                                 const Tensor<T>& logvar1, const Tensor<T>& c2,
                                 const Tensor<T>& mu2, const Tensor<T>& logvar2) {
  const char* op = "mixture_kl_upper_bound";
  EMBER_CHECK(c1.defined() && c2.defined() && c1.dim() >= 1 && c1.shape() == c2.shape(), op,
              ": expected weights c1, c2 of the same shape [..., K], got ",
              c1.defined() ? shape_str(c1.shape()) : "none", " and ",
              c2.defined() ? shape_str(c2.shape()) : "none");
  const Tensor<T> kl = diag_gaussian_kl(mu1, logvar1, mu2, logvar2);  // [..., K]
  EMBER_CHECK(kl.shape() == c1.shape(), op, ": the components' KL has shape ",
              shape_str(kl.shape()), " but the weights ", shape_str(c1.shape()),
              "; expected means and log-variances [..., K, D] for weights [..., K]");
  // c1 log c1 with 0 log 0 = 0: the clamp keeps log finite where c1 = 0 (the product is 0).
  const T tiny = std::numeric_limits<T>::min();
  const Tensor<T> log_ratio = sub(log(clamp_min(c1, tiny)), log(clamp_min(c2, tiny)));
  return sum(mul(c1, add(log_ratio, kl)), {-1});
}

}  // namespace ember::nn::functional
