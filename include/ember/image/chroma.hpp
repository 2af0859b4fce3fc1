// Chroma subsampling and upsampling.
//
//   chroma_downsample(c, f)          box mean over f x f blocks (f = 2: 4:2:0; the SSTAM note's
//                                    colour-bleeding artifact uses f = 4); a plane whose size
//                                    is not a multiple of f is first extended by repeating its
//                                    last row / column, so [H, W] -> [ceil(H/f), ceil(W/f)]
//                                    (the Y4M plane sizes)
//   chroma_upsample(c, h, w, f)      back to [h, w]: nearest (each sample covers its f x f
//                                    block) or bilinear with the samples at the block centres
//                                    (JPEG's / 420jpeg's centred siting)
//   to_420 / from_420                a [..., 3, H, W] Y'CbCr image <-> Y [..., H, W] plus
//                                    half-size Cb, Cr
//
// All are built from pad / reshape / mean / interpolate: any device, differentiable.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/image/filter.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/upsample.hpp>

namespace ember::image {

enum class ChromaUpsample { Nearest, Bilinear };

// Every plane of c [..., H, W] averaged over factor x factor blocks -> [..., ceil(H/f),
// ceil(W/f)].
template <class T>
Tensor<T> chroma_downsample(const Tensor<T>& c, int64_t factor = 2) {
  detail::check_planes(c, "chroma_downsample");
  EMBER_CHECK(factor >= 1, "chroma_downsample: factor must be >= 1, got ", factor);
  const int64_t h = c.size(-2), w = c.size(-1);
  const int64_t oh = (h + factor - 1) / factor, ow = (w + factor - 1) / factor;
  Tensor<T> p = detail::as_plane_batch(c);
  if (oh * factor != h || ow * factor != w)
    p = pad(p, {0, ow * factor - w, 0, oh * factor - h}, PadOptions{.mode = PadMode::Replicate});
  const int64_t n = p.size(0);
  p = mean(p.reshape({n, oh, factor, ow, factor}), {2, 4});
  Shape out = c.shape();
  out[out.size() - 2] = oh;
  out[out.size() - 1] = ow;
  return p.reshape(out);
}

// Every plane of c [..., h', w'] upsampled by factor and cut to [..., height, width]; the
// planes must be the ones chroma_downsample gives for that size (h' = ceil(height / factor)).
template <class T>
Tensor<T> chroma_upsample(const Tensor<T>& c, int64_t height, int64_t width, int64_t factor = 2,
                          ChromaUpsample mode = ChromaUpsample::Nearest) {
  detail::check_planes(c, "chroma_upsample");
  EMBER_CHECK(factor >= 1 && height > 0 && width > 0 &&
                  c.size(-2) == (height + factor - 1) / factor &&
                  c.size(-1) == (width + factor - 1) / factor,
              "chroma_upsample: planes of shape ", shape_str(c.shape()), " are not the factor-",
              factor, " subsampling of ", height, " x ", width, " (expected ",
              (height + factor - 1) / factor, " x ", (width + factor - 1) / factor, ")");
  const int64_t h = c.size(-2), w = c.size(-1);
  if (factor == 1) return c;
  InterpolateOptions o;
  o.size = {h * factor, w * factor};
  if (mode == ChromaUpsample::Bilinear) {
    o.mode = InterpolateMode::Bilinear;
    o.align_corners = false;  // half-pixel centres: sample k sits at the centre of its block
  }
  Tensor<T> p = interpolate(detail::as_plane_batch(c), o);
  if (h * factor != height || w * factor != width) p = p.slice(2, 0, height).slice(3, 0, width);
  Shape out = c.shape();
  out[out.size() - 2] = height;
  out[out.size() - 1] = width;
  return p.reshape(out);
}

template <class T>
struct Planes420 {
  Tensor<T> y;   // [..., H, W]
  Tensor<T> cb;  // [..., ceil(H/2), ceil(W/2)]
  Tensor<T> cr;
};

// A Y'CbCr image [..., 3, H, W] as 4:2:0 planes (chroma averaged over 2 x 2 blocks).
template <class T>
Planes420<T> to_420(const Tensor<T>& ycbcr) {
  EMBER_CHECK(ycbcr.defined() && ycbcr.dim() >= 3 && ycbcr.size(-3) == 3,
              "to_420: expected a Y'CbCr image [..., 3, H, W], got ",
              ycbcr.defined() ? shape_str(ycbcr.shape()) : std::string("an undefined tensor"));
  return {ycbcr.select(-3, 0), chroma_downsample(ycbcr.select(-3, 1), 2),
          chroma_downsample(ycbcr.select(-3, 2), 2)};
}

// 4:2:0 planes back to a [..., 3, H, W] image, chroma upsampled by `mode`.
template <class T>
Tensor<T> from_420(const Planes420<T>& p, ChromaUpsample mode = ChromaUpsample::Nearest) {
  EMBER_CHECK(p.y.defined() && p.cb.defined() && p.cr.defined() && p.y.dim() >= 2 &&
                  p.cb.shape() == p.cr.shape(),
              "from_420: expected Y [..., H, W] and Cb, Cr of one shape");
  const int64_t h = p.y.size(-2), w = p.y.size(-1);
  return stack(std::vector<Tensor<T>>{p.y, chroma_upsample(p.cb, h, w, 2, mode),
                                      chroma_upsample(p.cr, h, w, 2, mode)},
               p.y.dim() - 2);
}

}  // namespace ember::image
