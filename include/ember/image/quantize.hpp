// Quantisation of block-DCT coefficients and the block codec round trip (transform,
// quantise, dequantise, inverse transform) that simulates JPEG-style compression.
//
// Rounding has a zero derivative, so these are for generating distorted data, not for a
// loss that should see through the quantiser.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/image/dct.hpp>
#include <ember/ops/unary.hpp>
#include <ember/ops/upsample.hpp>

namespace ember::image {

namespace detail {
template <class T>
Tensor<T> table_on(const Tensor<T>& table, const Tensor<T>& like, const char* op) {
  EMBER_CHECK(
      table.defined() && table.dim() == 2 && table.size(0) == table.size(1) && table.size(0) >= 1,
      op, ": expected a square table [n, n], got ",
      table.defined() ? shape_str(table.shape()) : std::string("an undefined tensor"));
  return table.to(like.device());
}
}  // namespace detail

// round(coeffs / table) blockwise: coeffs [..., H, W] in the image layout of block_dct, table
// [n, n] of positive steps.
template <class T>
Tensor<T> quantize(const Tensor<T>& coeffs, const Tensor<T>& table) {
  const Tensor<T> q = detail::table_on(table, coeffs, "quantize");
  return from_blocks(round(div(to_blocks(coeffs, table.size(0)), q)));
}

// levels * table blockwise, the inverse of quantize up to its rounding.
template <class T>
Tensor<T> dequantize(const Tensor<T>& levels, const Tensor<T>& table) {
  const Tensor<T> q = detail::table_on(table, levels, "dequantize");
  return from_blocks(mul(to_blocks(levels, table.size(0)), q));
}

struct BlockCodecOptions {
  double pixel_scale = 255.0;  // coefficients are of x * pixel_scale - level_shift, as JPEG's
  double level_shift = 128.0;  // 8-bit samples shifted to be signed
  bool clamp = true;           // clamp the decoded planes to [0, 1]
};

// Encodes and decodes every plane of x [..., H, W] (values in [0, 1]) with an n x n block
// DCT quantised by table [n, n]: the decoded planes, with JPEG's blocking and ringing. Planes
// whose size is not a multiple of n are extended by repeating the last row / column (as JPEG
// encoders do) and cut back after decoding. `keep` [n, n], when given, multiplies the
// coefficients before quantisation (e.g. zigzag_mask to remove high frequencies).
template <class T>
Tensor<T> block_codec(const Tensor<T>& x, const Tensor<T>& table, BlockCodecOptions o = {},
                      const Tensor<T>& keep = Tensor<T>()) {
  const Tensor<T> q = detail::table_on(table, x, "block_codec");
  EMBER_CHECK(x.defined() && x.dim() >= 2 && x.size(-1) > 0 && x.size(-2) > 0,
              "block_codec: expected planes [..., H, W], got ",
              x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  EMBER_CHECK(o.pixel_scale > 0.0, "block_codec: pixel_scale must be positive, got ",
              o.pixel_scale);
  const int64_t n = q.size(0), h = x.size(-2), w = x.size(-1);
  const int64_t ph = (h + n - 1) / n * n, pw = (w + n - 1) / n * n;
  Tensor<T> p = add(mul(x, T(o.pixel_scale)), T(-o.level_shift));
  if (ph != h || pw != w) {
    const Tensor<T> planes = p.reshape({p.numel() / (h * w), 1, h, w});
    Shape s = x.shape();
    s[s.size() - 2] = ph;
    s[s.size() - 1] = pw;
    p = pad(planes, {0, pw - w, 0, ph - h}, PadOptions{.mode = PadMode::Replicate}).reshape(s);
  }
  Tensor<T> d = block_dct(p, n);
  if (keep.defined()) {
    EMBER_CHECK(keep.shape() == q.shape(), "block_codec: keep must have the table's shape ",
                shape_str(q.shape()), ", got ", shape_str(keep.shape()));
    d = from_blocks(mul(to_blocks(d, n), keep.to(x.device())));
  }
  Tensor<T> y = block_idct(dequantize(quantize(d, q), q), n);
  if (ph != h || pw != w) y = y.slice(-2, 0, h).slice(-1, 0, w);
  y = mul(add(y, T(o.level_shift)), T(1.0 / o.pixel_scale));
  if (o.clamp) y = clamp(y, T(0), T(1));
  return y.contiguous();
}

}  // namespace ember::image
