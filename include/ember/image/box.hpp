// Box (moving-average) filter: the mean over a size x size window centred on each pixel.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/image/filter.hpp>
#include <vector>

namespace ember::image {

// Every plane of x [..., H, W] averaged over size x size windows (size odd, so the window has
// a centre). The spectral-residual saliency of the SSTAM note uses size 3 on log-amplitudes.
template <class T>
Tensor<T> box_filter(const Tensor<T>& x, int64_t size, Border border = Border::Reflect) {
  EMBER_CHECK(size >= 1 && size % 2 == 1, "box_filter: size must be odd and >= 1, got ", size);
  const std::vector<double> k(size_t(size), 1.0 / double(size));
  return separable_filter(x, k, k, border, "box_filter");
}

}  // namespace ember::image
