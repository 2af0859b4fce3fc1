// Sobel gradients: a [1, 2, 1] smoothing across the derivative direction times a central
// difference [-1, 0, 1] along it. Unnormalised, as OpenCV's Sobel: on a ramp
// f(i, j) = a j the horizontal response is 8a in the interior.
#pragma once

#include <ember/core/tensor.hpp>
#include <ember/image/filter.hpp>
#include <ember/ops/unary.hpp>

namespace ember::image {

template <class T>
struct SobelGradients {
  Tensor<T> gx;  // d/dx: increases to the right (along W)
  Tensor<T> gy;  // d/dy: increases downwards (along H)
};

// Both gradients of every plane of x [..., H, W]. Replicate borders by default, so a
// constant plane has zero gradient everywhere and a ramp keeps a one-sided slope at the edge.
template <class T>
SobelGradients<T> sobel(const Tensor<T>& x, Border border = Border::Replicate) {
  const std::vector<double> smooth{1.0, 2.0, 1.0}, diff{-1.0, 0.0, 1.0};
  return {separable_filter(x, smooth, diff, border, "sobel"),
          separable_filter(x, diff, smooth, border, "sobel")};
}

// sqrt(gx^2 + gy^2) of every plane. Its gradient is infinite where both are 0; it is meant
// for data generation (edge masks), not for a loss.
template <class T>
Tensor<T> sobel_magnitude(const Tensor<T>& x, Border border = Border::Replicate) {
  const SobelGradients<T> g = sobel(x, border);
  return sqrt(add(mul(g.gx, g.gx), mul(g.gy, g.gy)));
}

}  // namespace ember::image
