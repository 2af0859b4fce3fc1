// Space-time cubes: random [T, h, w] windows of a frame sequence, the training samples of the
// compressed-video example (09-sstam-video.md: 8 frames x 64 x 64 at random positions and
// times, from a frame range such as the first 70% of a clip).
//
//   sample_cube_positions(...)   `count` random (t, top, left) corners, uniform over the
//                                frame range and the frame, on an `align` grid; every draw
//                                comes from the Generator passed in, so one seed gives the
//                                same cubes everywhere
//   video_cube(video, pos, spec) the Y, Cb, Cr planes of a cube of a decoded Y4M video
//                                (data/video.hpp) as float tensors [T, h, w] (chroma at its
//                                subsampled size), scaled to full range [0, 1]
//   crop_cube(frames, pos, spec) the same window of any tensor [F, ..., H, W]
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/video.hpp>
#include <vector>

namespace ember::data {

struct CubeSpec {
  int64_t frames = 8;   // T
  int64_t height = 64;  // h
  int64_t width = 64;   // w
  int64_t align = 2;    // top and left are multiples of this (2 keeps 4:2:0 chroma aligned;
                        // 8 puts the cube on the codec's block grid)
};

struct CubePos {
  int64_t t = 0, top = 0, left = 0;  // first frame, first row, first column
  bool operator==(const CubePos&) const = default;
};

// `count` cube corners for a sequence of num_frames frames of height x width, the first
// frame in [first, end - spec.frames] (end < 0: num_frames), top and left uniform on the
// align grid such that the cube fits.
inline std::vector<CubePos> sample_cube_positions(int64_t num_frames, int64_t height, int64_t width,
                                                  const CubeSpec& spec, int64_t count,
                                                  Generator& gen, int64_t first = 0,
                                                  int64_t end = -1) {
  if (end < 0) end = num_frames;
  EMBER_CHECK(spec.frames >= 1 && spec.height >= 1 && spec.width >= 1 && spec.align >= 1,
              "sample_cube_positions: cube sizes and align must be >= 1, got T=", spec.frames,
              " h=", spec.height, " w=", spec.width, " align=", spec.align);
  EMBER_CHECK(count >= 0, "sample_cube_positions: count must be >= 0, got ", count);
  EMBER_CHECK(0 <= first && first <= end && end <= num_frames,
              "sample_cube_positions: frame range [", first, ", ", end,
              ") is not inside a sequence of ", num_frames, " frames");
  EMBER_CHECK(end - first >= spec.frames && height >= spec.height && width >= spec.width,
              "sample_cube_positions: a ", spec.frames, " x ", spec.height, " x ", spec.width,
              " cube does not fit frames [", first, ", ", end, ") of ", height, " x ", width);
  const int64_t nt = end - first - spec.frames + 1;
  const int64_t ny = (height - spec.height) / spec.align + 1;
  const int64_t nx = (width - spec.width) / spec.align + 1;
  std::vector<CubePos> out;
  out.reserve(size_t(count));
  for (int64_t i = 0; i < count; ++i) {
    CubePos p;
    p.t = first + gen.randint(0, nt);
    p.top = gen.randint(0, ny) * spec.align;
    p.left = gen.randint(0, nx) * spec.align;
    out.push_back(p);
  }
  return out;
}

inline std::vector<CubePos> sample_cube_positions(const Video& v, const CubeSpec& spec,
                                                  int64_t count, Generator& gen, int64_t first = 0,
                                                  int64_t end = -1) {
  return sample_cube_positions(v.frames, v.height, v.width, spec, count, gen, first, end);
}

struct VideoCube {
  Tensor<float> y;       // [T, h, w]
  Tensor<float> cb, cr;  // [T, h / sy, w / sx] (sy, sx the chroma subsampling); undefined for mono
  CubePos pos;
};

// The cube at pos: luma and chroma planes as floats. With full_range (the default) limited-range
// videos are rescaled to full range, Y = (y - 16) / 219 and C = (c - 128) / 224 + 0.5, so the
// planes feed image/color.hpp's ycbcr_to_rgb directly (code values outside 16..235 / 16..240
// land slightly outside [0, 1]; they are not clamped); otherwise code value / 255.
inline VideoCube video_cube(const Video& v, const CubePos& pos, const CubeSpec& spec,
                            bool full_range = true) {
  const int64_t sx = v.chroma == Chroma::C444 || v.chroma == Chroma::Mono ? 1 : 2;
  const int64_t sy = v.chroma == Chroma::C420 ? 2 : 1;
  EMBER_CHECK(spec.frames >= 1 && spec.height >= 1 && spec.width >= 1 && pos.t >= 0 &&
                  pos.top >= 0 && pos.left >= 0 && pos.t + spec.frames <= v.frames &&
                  pos.top + spec.height <= v.height && pos.left + spec.width <= v.width,
              "video_cube: a ", spec.frames, " x ", spec.height, " x ", spec.width,
              " cube at (t=", pos.t, ", top=", pos.top, ", left=", pos.left,
              ") is not inside a video of ", v.frames, " frames of ", v.width, "x", v.height);
  EMBER_CHECK(
      pos.top % sy == 0 && spec.height % sy == 0 && pos.left % sx == 0 && spec.width % sx == 0,
      "video_cube: with ", sx, "x", sy, " chroma subsampling the cube's top (", pos.top,
      "), left (", pos.left, "), height (", spec.height, ") and width (", spec.width,
      ") must be multiples of ", sy, " (rows) and ", sx, " (columns)");
  const bool limited = full_range && !v.full_range;
  const float ys = limited ? 1.0f / 219.0f : 1.0f / 255.0f, y0 = limited ? 16.0f : 0.0f;
  const float cs = limited ? 1.0f / 224.0f : 1.0f / 255.0f;
  const float c0 = limited ? 128.0f - 0.5f * 224.0f : 0.0f;  // C = (c - 128) / 224 + 0.5
  const auto cut = [&](const auto& plane, int64_t pw, int64_t top, int64_t left, int64_t h,
                       int64_t w, float scale, float offset) {
    Tensor<float> out = Tensor<float>::empty({spec.frames, h, w});
    float* o = out.data_ptr();
    for (int64_t t = 0; t < spec.frames; ++t) {
      const uint8_t* src = plane(pos.t + t);
      for (int64_t r = 0; r < h; ++r)
        for (int64_t c = 0; c < w; ++c)
          *o++ = (float(src[(top + r) * pw + left + c]) - offset) * scale;
    }
    return out;
  };
  VideoCube cube;
  cube.pos = pos;
  cube.y = cut([&](int64_t t) { return v.y(t); }, v.width, pos.top, pos.left, spec.height,
               spec.width, ys, y0);
  if (v.chroma != Chroma::Mono) {
    const int64_t cw = v.chroma_width();
    const int64_t ct = pos.top / sy, cl = pos.left / sx, ch = spec.height / sy,
                  cwid = spec.width / sx;
    cube.cb = cut([&](int64_t t) { return v.cb(t); }, cw, ct, cl, ch, cwid, cs, c0);
    cube.cr = cut([&](int64_t t) { return v.cr(t); }, cw, ct, cl, ch, cwid, cs, c0);
  }
  return cube;
}

// The window [t, t + T) x [top, top + h) x [left, left + w) of frames [F, ..., H, W], copied
// (contiguous).
template <class T>
Tensor<T> crop_cube(const Tensor<T>& frames, const CubePos& pos, const CubeSpec& spec) {
  EMBER_CHECK(frames.defined() && frames.dim() >= 3, "crop_cube: expected frames [F, ..., H, W], ",
              "got ", frames.defined() ? shape_str(frames.shape()) : std::string("undefined"));
  const int64_t f = frames.size(0), h = frames.size(-2), w = frames.size(-1);
  EMBER_CHECK(pos.t >= 0 && pos.top >= 0 && pos.left >= 0 && spec.frames >= 1 && spec.height >= 1 &&
                  spec.width >= 1 && pos.t + spec.frames <= f && pos.top + spec.height <= h &&
                  pos.left + spec.width <= w,
              "crop_cube: a ", spec.frames, " x ", spec.height, " x ", spec.width,
              " cube at (t=", pos.t, ", top=", pos.top, ", left=", pos.left,
              ") is not inside frames ", shape_str(frames.shape()));
  return frames.slice(0, pos.t, pos.t + spec.frames)
      .slice(-2, pos.top, pos.top + spec.height)
      .slice(-1, pos.left, pos.left + spec.width)
      .contiguous();
}

}  // namespace ember::data
