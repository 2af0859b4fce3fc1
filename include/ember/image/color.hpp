// Colour conversions of images whose channel dim is -3 ([..., 3, H, W], values in [0, 1]):
//
//   rgb_to_ycbcr / ycbcr_to_rgb     BT.601 full range, as JPEG (JFIF) uses: Y in [0, 1],
//                                   Cb and Cr centred on 0.5 (128/255 in 8 bits)
//   rgb_to_yuv / yuv_to_rgb         analog BT.601 YUV: U = 0.436 (B - Y) / (1 - Kb),
//                                   V = 0.615 (R - Y) / (1 - Kr), centred on 0 (the
//                                   published matrix; skimage's rgb2yuv to 1e-4)
//   ycbcr_full_to_limited / ...     full range <-> video ("TV", limited) range: Y 16..235 and
//                                   C 16..240 out of 255, what ffmpeg writes to Y4M files
//
// Every coefficient follows from Kr = 0.299 and Kb = 0.114, so each pair is an exact inverse
// up to rounding. The conversions are 3 x 3 matrices plus offsets written with element-wise
// ops: they run on any device and are differentiable.
#pragma once

#include <array>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/shape.hpp>

namespace ember::image {

namespace detail {

inline constexpr double kKr = 0.299, kKb = 0.114, kKg = 1.0 - kKr - kKb;
inline constexpr double kUmax = 0.436, kVmax = 0.615;

using Mat3 = std::array<std::array<double, 3>, 3>;

// out_c = sum_k m[c][k] x_k + offset[c], on the channel dim -3 of x [..., 3, H, W].
template <class T>
Tensor<T> mix_channels(const Tensor<T>& x, const Mat3& m, const std::array<double, 3>& offset,
                       const char* op) {
  EMBER_CHECK(x.defined() && x.dim() >= 3 && x.size(-3) == 3, op,
              ": expected an image [..., 3, H, W] (channels at dim -3), got ",
              x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const Tensor<T> c[3] = {x.select(-3, 0), x.select(-3, 1), x.select(-3, 2)};
  std::vector<Tensor<T>> out;
  for (int i = 0; i < 3; ++i) {
    Tensor<T> o = add(add(mul(c[0], T(m[i][0])), mul(c[1], T(m[i][1]))), mul(c[2], T(m[i][2])));
    if (offset[size_t(i)] != 0.0) o = add(o, T(offset[size_t(i)]));
    out.push_back(o);
  }
  return stack(out, x.dim() - 3);
}

// Rows Y, Cb (or U), Cr (or V) of RGB -> luma / colour difference, the differences scaled by
// su / (1 - Kb) and sv / (1 - Kr).
inline Mat3 forward_matrix(double su, double sv) {
  const double bu = su / (1.0 - kKb), rv = sv / (1.0 - kKr);
  return {{{kKr, kKg, kKb},
           {-kKr * bu, -kKg * bu, (1.0 - kKb) * bu},
           {(1.0 - kKr) * rv, -kKg * rv, -kKb * rv}}};
}

// Its inverse: R = Y + V / rv, B = Y + U / bu, G = (Y - Kr R - Kb B) / Kg.
inline Mat3 inverse_matrix(double su, double sv) {
  const double ub = (1.0 - kKb) / su, vr = (1.0 - kKr) / sv;
  return {{{1.0, 0.0, vr}, {1.0, -kKb * ub / kKg, -kKr * vr / kKg}, {1.0, ub, 0.0}}};
}

}  // namespace detail

// RGB -> Y'CbCr, BT.601 full range (JPEG): Y = 0.299 R + 0.587 G + 0.114 B,
// Cb = 0.5 + (B - Y) / 1.772, Cr = 0.5 + (R - Y) / 1.402.
template <class T>
Tensor<T> rgb_to_ycbcr(const Tensor<T>& rgb) {
  return detail::mix_channels(rgb, detail::forward_matrix(0.5, 0.5), {0.0, 0.5, 0.5},
                              "rgb_to_ycbcr");
}

// Y'CbCr (BT.601 full range) -> RGB: R = Y + 1.402 (Cr - 0.5),
// G = Y - 0.344136 (Cb - 0.5) - 0.714136 (Cr - 0.5), B = Y + 1.772 (Cb - 0.5). Not clamped.
template <class T>
Tensor<T> ycbcr_to_rgb(const Tensor<T>& ycbcr) {
  const detail::Mat3 m = detail::inverse_matrix(0.5, 0.5);
  // The offsets fold the -0.5 of Cb and Cr into a constant per output channel.
  const std::array<double, 3> off{-0.5 * (m[0][1] + m[0][2]), -0.5 * (m[1][1] + m[1][2]),
                                  -0.5 * (m[2][1] + m[2][2])};
  return detail::mix_channels(ycbcr, m, off, "ycbcr_to_rgb");
}

// RGB -> analog BT.601 YUV: Y as above, U = 0.492111 (B - Y), V = 0.877283 (R - Y).
template <class T>
Tensor<T> rgb_to_yuv(const Tensor<T>& rgb) {
  return detail::mix_channels(rgb, detail::forward_matrix(detail::kUmax, detail::kVmax),
                              {0.0, 0.0, 0.0}, "rgb_to_yuv");
}

template <class T>
Tensor<T> yuv_to_rgb(const Tensor<T>& yuv) {
  return detail::mix_channels(yuv, detail::inverse_matrix(detail::kUmax, detail::kVmax),
                              {0.0, 0.0, 0.0}, "yuv_to_rgb");
}

// Full-range Y'CbCr in [0, 1] -> limited ("TV") range as a fraction of 255:
// Y' = (16 + 219 Y) / 255, C' = (128 + 224 (C - 0.5)) / 255.
template <class T>
Tensor<T> ycbcr_full_to_limited(const Tensor<T>& ycbcr) {
  const double ys = 219.0 / 255.0, cs = 224.0 / 255.0;
  return detail::mix_channels(ycbcr, {{{ys, 0, 0}, {0, cs, 0}, {0, 0, cs}}},
                              {16.0 / 255.0, 128.0 / 255.0 - 0.5 * cs, 128.0 / 255.0 - 0.5 * cs},
                              "ycbcr_full_to_limited");
}

// Limited-range Y'CbCr (code values / 255, as read from a Y4M file) -> full range; values
// outside 16..235 (Y) and 16..240 (C) map outside [0, 1] and are not clamped.
template <class T>
Tensor<T> ycbcr_limited_to_full(const Tensor<T>& ycbcr) {
  const double ys = 255.0 / 219.0, cs = 255.0 / 224.0;
  return detail::mix_channels(ycbcr, {{{ys, 0, 0}, {0, cs, 0}, {0, 0, cs}}},
                              {-16.0 / 219.0, 0.5 - 128.0 / 224.0, 0.5 - 128.0 / 224.0},
                              "ycbcr_limited_to_full");
}

}  // namespace ember::image
