// Photometric degradations of the image-quality note (04-pmt-iqa.md): contrast reduction
// about the image mean and additive white Gaussian noise.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/unary.hpp>

namespace ember::image {

// x' = mu + kappa (x - mu) for each image of x [..., C, H, W], mu its mean over C, H and W
// (kappa < 1 lowers the contrast; the mean is kept).
template <class T>
Tensor<T> adjust_contrast(const Tensor<T>& x, double kappa) {
  EMBER_CHECK(x.defined() && x.dim() >= 3, "adjust_contrast: expected images [..., C, H, W], got ",
              x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  EMBER_CHECK(std::isfinite(kappa), "adjust_contrast: kappa must be finite, got ", kappa);
  const int64_t d = x.dim();
  const Tensor<T> mu = mean(x, {d - 3, d - 2, d - 1}, true);
  return add(mu, mul(sub(x, mu), T(kappa)));
}

// x + N(0, sigma^2) per element, drawn on the CPU from gen (so one seed gives the same noise
// on every device) and moved to x's device; clamped to [0, 1] when clamp01.
template <class T>
Tensor<T> add_gaussian_noise(const Tensor<T>& x, double sigma, Generator& gen,
                             bool clamp01 = false) {
  EMBER_CHECK(x.defined(), "add_gaussian_noise: input is undefined");
  EMBER_CHECK(std::isfinite(sigma) && sigma >= 0.0,
              "add_gaussian_noise: sigma must be finite and >= 0, got ", sigma);
  Tensor<T> y = add(x, Tensor<T>::randn(x.shape(), gen, 0.0, sigma).to(x.device()));
  return clamp01 ? clamp(y, T(0), T(1)) : y;
}

}  // namespace ember::image
