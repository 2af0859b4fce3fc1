// Cutting, checking and converting natural-image crops: the background material of the
// synthetic scenes (compositor.hpp) and the references of the image-quality example.
//
//   crop(image, box)                    a rectangle, copied out
//   random_crop(image, h, w, gen)       uniform position, fully inside, Generator-driven
//   five_crops(image, h, w)             the four corners and the centre (torchvision FiveCrop)
//   is_flat(image, threshold)           too little texture to serve as a background
//   random_textured_crop(...)           random crops until one is not flat, else an Error
//   to_rgb(image)                       1, 2, 3 or 4 channels -> 3 channels
//   resize_bilinear(image, h, w)        half-pixel-centre bilinear, no antialiasing
//   image_to_tensor(s)                 HWC uint8 -> CHW float in [0, 1] (the way back, for
//                                      figures: viz::tensor_to_image)
//
// Every random choice draws from the Generator passed in (core/random.hpp), so one seed gives
// the same crops on every machine and standard library.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/image.hpp>
#include <vector>

namespace ember::data {

// A rectangle of pixels: rows top .. top + height - 1, columns left .. left + width - 1.
struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
  bool operator==(const CropBox&) const = default;
};

// The default texture threshold of is_flat: a crop whose every channel has a standard
// deviation below 0.05 (pixels scaled to [0, 1]) is near-flat (sky, a wall, a blown-out
// highlight). This is the rejection rule of the image-quality note (04-pmt-iqa.md).
inline constexpr double kFlatStdThreshold = 0.05;

namespace detail {

inline void check_image_shape(const Image& img, const char* fn) {
  EMBER_CHECK(
      img.channels >= 1 && img.channels <= 4 && img.height >= 1 && img.width >= 1 &&
          img.pixels.size() == size_t(img.height) * size_t(img.width) * size_t(img.channels),
      fn, ": expected a non-empty image with 1..4 channels whose pixels fill it, got ", img.height,
      "x", img.width, "x", img.channels, " holding ", img.pixels.size(), " bytes");
}

inline void check_crop_size(const Image& img, int height, int width, const char* fn) {
  check_image_shape(img, fn);
  EMBER_CHECK(height >= 1 && width >= 1 && height <= img.height && width <= img.width, fn,
              ": crop of ", height, "x", width, " does not fit in the ", img.height, "x", img.width,
              " image; expected 1 <= size <= the image's");
}

inline uint8_t to_byte(double v) {
  return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

}  // namespace detail

// Copies the rectangle `box` out of `img`; the box must lie inside the image.
inline Image crop(const Image& img, const CropBox& box) {
  detail::check_image_shape(img, "crop");
  EMBER_CHECK(box.height >= 1 && box.width >= 1 && box.top >= 0 && box.left >= 0 &&
                  box.top + box.height <= img.height && box.left + box.width <= img.width,
              "crop: box (top ", box.top, ", left ", box.left, ", ", box.height, "x", box.width,
              ") does not lie inside the ", img.height, "x", img.width, " image");
  Image out;
  out.height = box.height;
  out.width = box.width;
  out.channels = img.channels;
  const size_t row = size_t(box.width) * size_t(img.channels);
  out.pixels.resize(row * size_t(box.height));
  for (int y = 0; y < box.height; ++y) {
    const uint8_t* src =
        img.pixels.data() +
        (size_t(box.top + y) * size_t(img.width) + size_t(box.left)) * size_t(img.channels);
    std::copy(src, src + row, out.pixels.data() + size_t(y) * row);
  }
  return out;
}

// A height x width box at a uniformly random position fully inside `img`.
inline CropBox random_crop_box(const Image& img, int height, int width, Generator& gen) {
  detail::check_crop_size(img, height, width, "random_crop_box");
  const int top = int(gen.randint(0, img.height - height + 1));
  const int left = int(gen.randint(0, img.width - width + 1));
  return {top, left, height, width};
}

inline Image random_crop(const Image& img, int height, int width, Generator& gen) {
  return crop(img, random_crop_box(img, height, width, gen));
}

// The boxes of the four corner crops and the centre crop, in torchvision's FiveCrop order:
// top-left, top-right, bottom-left, bottom-right, centre. The centre's offset rounds down
// when the margin is odd.
inline std::array<CropBox, 5> five_crop_boxes(const Image& img, int height, int width) {
  detail::check_crop_size(img, height, width, "five_crop_boxes");
  const int bottom = img.height - height, right = img.width - width;
  return {{{0, 0, height, width},
           {0, right, height, width},
           {bottom, 0, height, width},
           {bottom, right, height, width},
           {bottom / 2, right / 2, height, width}}};
}

inline std::array<Image, 5> five_crops(const Image& img, int height, int width) {
  const std::array<CropBox, 5> boxes = five_crop_boxes(img, height, width);
  return {crop(img, boxes[0]), crop(img, boxes[1]), crop(img, boxes[2]), crop(img, boxes[3]),
          crop(img, boxes[4])};
}

// The population standard deviation of each channel, with pixels scaled to [0, 1].
inline std::vector<double> channel_std(const Image& img) {
  detail::check_image_shape(img, "channel_std");
  const size_t c = size_t(img.channels), n = img.pixels.size() / c;
  std::vector<double> sum(c, 0.0), sum_sq(c, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < c; ++k) {
      const double v = img.pixels[i * c + k] / 255.0;
      sum[k] += v;
      sum_sq[k] += v * v;
    }
  std::vector<double> out(c);
  for (size_t k = 0; k < c; ++k) {
    const double mean = sum[k] / double(n);
    out[k] = std::sqrt(std::max(0.0, sum_sq[k] / double(n) - mean * mean));
  }
  return out;
}

// True when no channel varies enough to be called texture: the standard deviation of every
// channel (pixels in [0, 1]) is below `threshold`. Taking the largest channel keeps a crop
// whose texture lies in one colour only (a red brick wall); a grey crop has equal channels.
inline bool is_flat(const Image& img, double threshold = kFlatStdThreshold) {
  EMBER_CHECK(threshold >= 0.0, "is_flat: threshold must be non-negative, got ", threshold);
  const std::vector<double> s = channel_std(img);
  return *std::max_element(s.begin(), s.end()) < threshold;
}

// A random height x width crop that is not flat (is_flat with `threshold`), trying up to
// `max_tries` positions; throws ember::Error when every one is flat, so a featureless photo
// in a catalogue is reported instead of looping forever or filling a data set with blank
// backgrounds.
inline Image random_textured_crop(const Image& img, int height, int width, Generator& gen,
                                  double threshold = kFlatStdThreshold, int max_tries = 50) {
  EMBER_CHECK(max_tries >= 1, "random_textured_crop: max_tries must be at least 1, got ",
              max_tries);
  detail::check_crop_size(img, height, width, "random_textured_crop");
  for (int i = 0; i < max_tries; ++i) {
    Image c = random_crop(img, height, width, gen);
    if (!is_flat(c, threshold)) return c;
  }
  fail("random_textured_crop: all ", max_tries, " random ", height, "x", width, " crops of the ",
       img.height, "x", img.width, "x", img.channels, " image are flat (every channel's std below ",
       threshold, "); use a more textured image or a lower threshold");
}

// Three channels: grey (1) is replicated, grey + alpha (2) and RGBA (4) lose their alpha
// (no compositing: a background photo's transparency means nothing here), RGB is copied.
inline Image to_rgb(const Image& img) {
  detail::check_image_shape(img, "to_rgb");
  const size_t n = size_t(img.height) * size_t(img.width), c = size_t(img.channels);
  Image out;
  out.height = img.height;
  out.width = img.width;
  out.channels = 3;
  out.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < 3; ++k) out.pixels[i * 3 + k] = img.pixels[i * c + (c >= 3 ? k : 0)];
  return out;
}

namespace detail {

// One axis of a half-pixel-centre bilinear resize (PyTorch's align_corners=False, OpenCV's
// INTER_LINEAR): output index i samples the input at (i + 0.5) * in / out - 0.5, clamped to
// the edge pixels.
struct LinearTap {
  int lo = 0, hi = 0;
  float w_hi = 0.0f;  // weight of `hi`; `lo` gets 1 - w_hi
};

inline std::vector<LinearTap> linear_taps(int in, int out) {
  std::vector<LinearTap> taps(static_cast<size_t>(out));
  const double scale = double(in) / double(out);
  for (int i = 0; i < out; ++i) {
    const double src = std::clamp((i + 0.5) * scale - 0.5, 0.0, double(in - 1));
    const int lo = int(std::floor(src));
    taps[size_t(i)] = {lo, std::min(lo + 1, in - 1), float(src - lo)};
  }
  return taps;
}

// Bilinear resize of an HWC float plane; `in` holds in_h * in_w * channels values.
inline std::vector<float> resize_bilinear_hwc(const float* in, int in_h, int in_w, int channels,
                                              int out_h, int out_w) {
  const std::vector<LinearTap> ty = linear_taps(in_h, out_h), tx = linear_taps(in_w, out_w);
  std::vector<float> out(size_t(out_h) * size_t(out_w) * size_t(channels));
  const size_t c = size_t(channels);
  for (int y = 0; y < out_h; ++y) {
    const LinearTap& a = ty[size_t(y)];
    const float* r0 = in + size_t(a.lo) * size_t(in_w) * c;
    const float* r1 = in + size_t(a.hi) * size_t(in_w) * c;
    for (int x = 0; x < out_w; ++x) {
      const LinearTap& b = tx[size_t(x)];
      for (size_t k = 0; k < c; ++k) {
        const float top =
            r0[size_t(b.lo) * c + k] * (1 - b.w_hi) + r0[size_t(b.hi) * c + k] * b.w_hi;
        const float bot =
            r1[size_t(b.lo) * c + k] * (1 - b.w_hi) + r1[size_t(b.hi) * c + k] * b.w_hi;
        out[(size_t(y) * size_t(out_w) + size_t(x)) * c + k] = top * (1 - a.w_hi) + bot * a.w_hi;
      }
    }
  }
  return out;
}

}  // namespace detail

// Bilinear resize with half-pixel centres (as torch.nn.functional.interpolate(mode="bilinear",
// align_corners=False, antialias=False)); values are rounded to the nearest byte. There is no
// antialiasing, so shrinking by more than 2x aliases: crop first, or shrink in halving steps.
inline Image resize_bilinear(const Image& img, int height, int width) {
  detail::check_image_shape(img, "resize_bilinear");
  EMBER_CHECK(height >= 1 && width >= 1 && int64_t{height} * width * img.channels <= kImageMaxBytes,
              "resize_bilinear: target size ", height, "x", width, "x", img.channels,
              " must be positive and at most ", kImageMaxBytes, " bytes");
  const std::vector<float> in(img.pixels.begin(), img.pixels.end());
  const std::vector<float> out =
      detail::resize_bilinear_hwc(in.data(), img.height, img.width, img.channels, height, width);
  Image r;
  r.height = height;
  r.width = width;
  r.channels = img.channels;
  r.pixels.resize(out.size());
  for (size_t i = 0; i < out.size(); ++i) r.pixels[i] = detail::to_byte(out[i]);
  return r;
}

// [C, H, W] float in [0, 1] (byte / 255): the layout a conv net takes.
inline Tensor<float> image_to_tensor(const Image& img) {
  detail::check_image_shape(img, "image_to_tensor");
  const int64_t c = img.channels, h = img.height, w = img.width;
  Tensor<float> t = Tensor<float>::empty({c, h, w});
  float* p = t.data_ptr();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k)
        p[(k * h + y) * w + x] = float(img.pixels[size_t((y * w + x) * c + k)]) / 255.0f;
  return t;
}

// [N, C, H, W] from images of one size and channel count.
inline Tensor<float> images_to_tensor(const std::vector<Image>& images) {
  EMBER_CHECK(!images.empty(), "images_to_tensor: expected at least one image");
  const Image& first = images.front();
  detail::check_image_shape(first, "images_to_tensor");
  const int64_t c = first.channels, h = first.height, w = first.width, plane = c * h * w;
  Tensor<float> t = Tensor<float>::empty({int64_t(images.size()), c, h, w});
  for (size_t i = 0; i < images.size(); ++i) {
    const Image& img = images[i];
    EMBER_CHECK(img.channels == c && img.height == h && img.width == w, "images_to_tensor: image ",
                i, " is ", img.height, "x", img.width, "x", img.channels, "; expected ", h, "x", w,
                "x", c, " like image 0");
    const Tensor<float> one = image_to_tensor(img);
    std::copy(one.data_ptr(), one.data_ptr() + plane, t.data_ptr() + int64_t(i) * plane);
  }
  return t;
}

}  // namespace ember::data
