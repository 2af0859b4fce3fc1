// Quantisation tables for the block-DCT codec simulation.
//
//   jpeg_luma_table / jpeg_chroma_table   ITU-T T.81 Annex K tables K.1 and K.2 (the JPEG
//                                         examples at quality 50), in natural (row) order
//   jpeg_quality_scale, jpeg_table        the IJG library's quality scaling (jcparam.c:
//                                         jpeg_quality_scaling + jpeg_add_quant_table, baseline)
//   h264_qstep, qp_step                   H.264's quantiser step for a QP (doubles every 6) and
//                                         its smooth form 2^((QP - 4) / 6)
//   resize_table                          an 8 x 8 table stretched to the 16 x 16 transform
//
// Tables are in units of 8-bit pixel values (coefficients of x * 255 - 128); the returned
// tensors are [n, n] float on the CPU.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <string_view>

namespace ember::image {

// T.81 Table K.1, luminance.
inline constexpr std::array<int, 64> kJpegLuma = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};

// T.81 Table K.2, chrominance.
inline constexpr std::array<int, 64> kJpegChroma = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
    99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

// IJG's percentage scale for a quality in 1..100 (clamped, as libjpeg does): 5000 / q below
// 50, 200 - 2q from 50 on; 100 means the table as is.
inline int jpeg_quality_scale(int quality) {
  quality = std::clamp(quality, 1, 100);
  return quality < 50 ? 5000 / quality : 200 - 2 * quality;
}

// The base table scaled as libjpeg does for baseline JPEG: (base * scale + 50) / 100 in
// integers, then clamped to 1..255.
inline std::array<int, 64> jpeg_scaled_table(const std::array<int, 64>& base, int quality) {
  const long scale = jpeg_quality_scale(quality);
  std::array<int, 64> out{};
  for (size_t i = 0; i < 64; ++i)
    out[i] = int(std::clamp((long(base[i]) * scale + 50L) / 100L, 1L, 255L));
  return out;
}

namespace detail {
template <class T>
Tensor<T> table_tensor(const std::array<int, 64>& t) {
  Tensor<T> out = Tensor<T>::empty({8, 8});
  for (size_t i = 0; i < 64; ++i) out.data_ptr()[i] = T(t[i]);
  return out;
}
}  // namespace detail

// The luminance ("luma") or chrominance ("chroma") table at an IJG quality, [8, 8].
template <class T = float>
Tensor<T> jpeg_table(std::string_view kind, int quality = 50) {
  EMBER_CHECK(kind == "luma" || kind == "chroma", "jpeg_table: kind must be \"luma\" or ",
              "\"chroma\", got \"", kind, "\"");
  return detail::table_tensor<T>(
      jpeg_scaled_table(kind == "luma" ? kJpegLuma : kJpegChroma, quality));
}
template <class T = float>
Tensor<T> jpeg_luma_table(int quality = 50) {
  return jpeg_table<T>("luma", quality);
}
template <class T = float>
Tensor<T> jpeg_chroma_table(int quality = 50) {
  return jpeg_table<T>("chroma", quality);
}

// H.264's quantiser step for QP 0..51: 0.625, 0.6875, 0.8125, 0.875, 1, 1.125 for QP 0..5,
// doubling every 6 (QP 4 -> 1, 28 -> 16, 51 -> 224).
inline double h264_qstep(int qp) {
  EMBER_CHECK(qp >= 0 && qp <= 51, "h264_qstep: QP must be in 0..51, got ", qp);
  static constexpr double base[6] = {0.625, 0.6875, 0.8125, 0.875, 1.0, 1.125};
  return base[qp % 6] * double(1 << (qp / 6));
}

// The smooth step 2^((QP - 4) / 6) of the SSTAM note (equal to h264_qstep at QP = 4 + 6k);
// any real QP.
inline double qp_step(double qp) {
  EMBER_CHECK(std::isfinite(qp), "qp_step: QP must be finite, got ", qp);
  return std::exp2((qp - 4.0) / 6.0);
}

// A table for the n x n transform from an 8 x 8 one: frequency (u, v) of the n-point DCT
// takes the step of frequency (u * 8 / n, v * 8 / n), times n / 8 because an orthonormal
// n-point DCT's coefficients grow with n (a flat block of value a has DC n a). n must be a
// multiple of 8.
template <class T>
Tensor<T> resize_table(const Tensor<T>& table8, int64_t n) {
  EMBER_CHECK(table8.defined() && table8.shape() == Shape({8, 8}) && n >= 8 && n % 8 == 0,
              "resize_table: expected an [8, 8] table and n a positive multiple of 8, got ",
              table8.defined() ? shape_str(table8.shape()) : std::string("undefined"), " and ", n);
  const std::vector<T> t = table8.to_vector();
  Tensor<T> out = Tensor<T>::empty({n, n});
  const int64_t f = n / 8;
  for (int64_t u = 0; u < n; ++u)
    for (int64_t v = 0; v < n; ++v)
      out.data_ptr()[u * n + v] = T(double(t[size_t((u / f) * 8 + v / f)]) * double(f));
  return out;
}

}  // namespace ember::image
