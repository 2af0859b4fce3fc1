// The model's low-cost saliency (09-sstam-video.md, method step 1): spectral-residual
// saliency (Hou & Zhang 2007) on each DECODED luma frame, times motion energy —
//
//   A = log|F(Y)|, phi = arg F(Y), R = A - box3x3(A),
//   S_sr = G_2.5 * |F^-1(exp(R + i phi))|^2,
//   S = minmax(S_sr) * (1 + beta * minmax(G_2.5 * |Y_t - Y_{t-1}|)),  beta = 1,
//
// minmax over each cube. Built from ember's FFT, box and Gaussian filters, so it runs batched
// on the run's device. The label's reference map (artifacts.hpp) is computed from the
// PRISTINE frames with a different recipe; the two overlap (both like contrast and motion),
// which is the circularity caveat of the note.
#pragma once

#include <cstdint>
#include <ember/core/tensor.hpp>
#include <ember/image/box.hpp>
#include <ember/image/gaussian.hpp>
#include <ember/ops/complex.hpp>
#include <ember/ops/fft.hpp>
#include <ember/ops/reduce_more.hpp>
#include <vector>

#include "artifacts.hpp"

namespace sstam {

inline constexpr double kSaliencySigma = 2.5, kSaliencyBeta = 1.0;

// (x - min) / (max - min) over every dim but the first.
inline Tensor<float> minmax(const Tensor<float>& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  const Tensor<float> lo = amin(x, dims, true), hi = amax(x, dims, true);
  return div(sub(x, lo), add(sub(hi, lo), 1e-8f));
}

// y [N, T, H, W] decoded luma in [0, 1] -> saliency [N, T, H, W] in [0, 1 + beta].
inline Tensor<float> saliency_map(const Tensor<float>& y) {
  const auto spectrum = fft2(y);
  const Tensor<float> re = real(spectrum), im = imag(spectrum);
  const Tensor<float> amplitude = log(add(sqrt(add(mul(re, re), mul(im, im))), 1e-6f));
  const Tensor<float> phase = angle(spectrum);
  const Tensor<float> residual = sub(amplitude, image::box_filter(amplitude, 3));
  const auto back = ifft2(polar(exp(residual), phase));
  const Tensor<float> br = real(back), bi = imag(back);
  const Tensor<float> sr =
      image::gaussian_blur(add(mul(br, br), mul(bi, bi)), kSaliencySigma, image::Border::Reflect);
  const int64_t t = y.size(1);
  Tensor<float> diff = abs(sub(y.slice(1, 1, t), y.slice(1, 0, t - 1)));  // [N, T-1, H, W]
  diff = cat(std::vector<Tensor<float>>{diff.slice(1, 0, 1), diff}, 1);   // frame 0 reuses 1
  const Tensor<float> motion = image::gaussian_blur(diff, kSaliencySigma, image::Border::Reflect);
  return mul(minmax(sr), add(mul(minmax(motion), float(kSaliencyBeta)), 1.0f));
}

// Mean saliency of each 32 x 32 sub-patch over all frames: s [N, T, 64, 64] -> [N, 4] in the
// sub-patch order (top-left, top-right, bottom-left, bottom-right).
inline Tensor<float> patch_saliency(const Tensor<float>& s) {
  const int64_t n = s.size(0), t = s.size(1);
  const Tensor<float> g = s.reshape({n, t, 2, kSub, 2, kSub});
  return mean(g, {1, 3, 5}).reshape({n, kSubs});
}

}  // namespace sstam
