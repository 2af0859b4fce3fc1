// Gaussian kernels and Gaussian blur (separable; image/filter.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/image/filter.hpp>
#include <vector>

namespace ember::image {

// The default radius of a Gaussian of standard deviation sigma: ceil(3 sigma), which keeps
// all but 0.3% of the mass (the truncated tails are renormalised away).
inline int64_t gaussian_radius(double sigma) {
  return sigma <= 0.0 ? 0 : std::max<int64_t>(1, int64_t(std::ceil(3.0 * sigma)));
}

// Samples of exp(-x^2 / (2 sigma^2)) at x = -radius..radius, normalised to sum to 1.
// sigma = 0 gives the identity kernel {1}; radius < 0 means gaussian_radius(sigma).
inline std::vector<double> gaussian_kernel1d(double sigma, int64_t radius = -1) {
  EMBER_CHECK(std::isfinite(sigma) && sigma >= 0.0,
              "gaussian_kernel1d: sigma must be finite and >= 0, got ", sigma);
  if (radius < 0) radius = gaussian_radius(sigma);
  if (sigma == 0.0) radius = 0;
  std::vector<double> k(size_t(2 * radius + 1));
  double total = 0.0;
  for (int64_t i = -radius; i <= radius; ++i) {
    const double v = radius == 0 ? 1.0 : std::exp(-double(i * i) / (2.0 * sigma * sigma));
    k[size_t(i + radius)] = v;
    total += v;
  }
  for (double& v : k) v /= total;
  return k;
}

// The 2-D kernel [2r+1, 2r+1], the outer product of the 1-D one with itself (sums to 1).
template <class T = float>
Tensor<T> gaussian_kernel2d(double sigma, int64_t radius = -1) {
  const std::vector<double> k = gaussian_kernel1d(sigma, radius);
  const int64_t n = int64_t(k.size());
  Tensor<T> out = Tensor<T>::empty({n, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) out.data_ptr()[i * n + j] = T(k[size_t(i)] * k[size_t(j)]);
  return out;
}

// Blurs every plane of x [..., H, W] with a Gaussian of standard deviation sigma pixels.
template <class T>
Tensor<T> gaussian_blur(const Tensor<T>& x, double sigma, Border border = Border::Reflect,
                        int64_t radius = -1) {
  const std::vector<double> k = gaussian_kernel1d(sigma, radius);
  return separable_filter(x, k, k, border, "gaussian_blur");
}

}  // namespace ember::image
