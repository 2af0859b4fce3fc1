// The codec simulation of the SSTAM note (09-sstam-video.md, "Codec simulation"): six
// perceivable encoding artifacts (PEAs) put into a pristine space-time cube by ember's own
// block-DCT codec (image/dct.hpp, quantize.hpp, quant_tables.hpp), each with a known strength
// s in [0, 1] and a per-block mask of where it was applied, and the note's synthetic quality
// score.
//
// A cube is 8 frames of 64 x 64 luma and 32 x 32 chroma (4:2:0), placed on the 8 x 8 block
// grid, so it holds 8 x 8 luma blocks. Each artifact is applied inside a random rectangle of
// blocks, narrowed by the content where the note says so (ringing: blocks with strong Sobel
// edges; flickering: textured blocks; floating: moving blocks), and composited block by block
// into the decoded cube. Strength s maps onto the codec's knob between a visible minimum and
// a severe maximum (QP, zig-zag cutoff, number of frozen frames), so s = 0 is still a present,
// mild artifact: presence is the mask, severity is s.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/video_cubes.hpp>
#include <ember/image/chroma.hpp>
#include <ember/image/dct.hpp>
#include <ember/image/gaussian.hpp>
#include <ember/image/quant_tables.hpp>
#include <ember/image/quantize.hpp>
#include <ember/image/sobel.hpp>
#include <string>
#include <vector>

namespace sstam {

using namespace ember;

inline constexpr int kPeas = 6;
enum Pea { Blur = 0, Block = 1, Bleed = 2, Ring = 3, Flicker = 4, Float = 5 };
inline const std::array<std::string, kPeas> kPeaNames = {"blur", "block",   "bleed",
                                                         "ring", "flicker", "float"};
// The note's MOS weights w_a.
inline constexpr std::array<double, kPeas> kMosWeights = {0.8, 1.0, 0.5, 0.6, 1.2, 1.0};

inline constexpr int64_t kT = 8, kSide = 64, kBlock = 8, kGrid = kSide / kBlock;  // 8 x 8 blocks
inline constexpr int64_t kSub = 32, kSubs = 4;  // 32 x 32 sub-patches, 2 x 2 per cube
inline constexpr double kPresence = 0.35;       // share of cubes that carry each artifact

using BlockMask = std::array<uint8_t, kGrid * kGrid>;

// One degraded cube, with everything the labels and the figures need.
struct SimCube {
  Tensor<float> y, cb, cr;  // decoded: [8, 64, 64], [8, 32, 32] x 2, in [0, 1]
  std::array<double, kPeas> strength{};
  std::array<BlockMask, kPeas> mask{};                   // where each artifact was applied
  std::array<std::array<float, kPeas>, kSubs> labels{};  // per sub-patch: >= 25% of its blocks
  std::array<double, kPeas> visibility{};                // mask averaged under the reference map
  double mos = 0, psnr = 0, blockiness = 0;
  std::array<float, kGrid * kGrid> attention{};  // the reference attention map per block
};

namespace detail {

// Plain copies and per-block statistics on contiguous CPU planes.
inline float* ptr(Tensor<float>& t) { return t.data_ptr(); }

// The 8 x 8 luma table at a QP, the note's 2^((QP - 4) / 6) scaling relative to QP 28 (where
// the JPEG table of quality 50 is used as is).
inline Tensor<float> luma_table(double qp) {
  return mul(image::jpeg_luma_table<float>(50), float(image::qp_step(qp) / image::qp_step(28)));
}
inline Tensor<float> chroma_table(double qp) {
  return mul(image::jpeg_chroma_table<float>(50), float(image::qp_step(qp) / image::qp_step(28)));
}

// dst = src on the blocks of `m` (block side `b` pixels in this plane), all frames.
inline void composite(Tensor<float>& dst, const Tensor<float>& src, const BlockMask& m, int64_t b,
                      int64_t first_frame = 0, int64_t last_frame = kT) {
  const int64_t side = dst.size(-1);
  const Tensor<float> s = src.contiguous();
  float* d = dst.data_ptr();
  const float* p = s.data_ptr();
  for (int64_t t = first_frame; t < last_frame; ++t)
    for (int64_t by = 0; by < kGrid; ++by)
      for (int64_t bx = 0; bx < kGrid; ++bx) {
        if (!m[size_t(by * kGrid + bx)]) continue;
        for (int64_t r = by * b; r < (by + 1) * b; ++r)
          for (int64_t c = bx * b; c < (bx + 1) * b; ++c) {
            const int64_t i = (t * side + r) * side + c;
            d[i] = p[i];
          }
      }
}

// Per-block mean over frames of plane values [8, 64, 64].
inline std::array<float, kGrid * kGrid> block_mean(const Tensor<float>& x) {
  const Tensor<float> c = x.contiguous();
  const float* p = c.data_ptr();
  std::array<float, kGrid * kGrid> out{};
  const int64_t frames = c.size(0);
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t r = 0; r < kSide; ++r)
      for (int64_t col = 0; col < kSide; ++col)
        out[size_t((r / kBlock) * kGrid + col / kBlock)] += p[(t * kSide + r) * kSide + col];
  for (float& v : out) v /= float(frames * kBlock * kBlock);
  return out;
}

// Per-block standard deviation of luma, averaged over frames (local contrast / texture).
inline std::array<float, kGrid * kGrid> block_std(const Tensor<float>& y) {
  const float* p = y.data_ptr();
  std::array<float, kGrid * kGrid> out{};
  for (int64_t t = 0; t < kT; ++t)
    for (int64_t by = 0; by < kGrid; ++by)
      for (int64_t bx = 0; bx < kGrid; ++bx) {
        double s = 0, s2 = 0;
        for (int64_t r = by * kBlock; r < (by + 1) * kBlock; ++r)
          for (int64_t c = bx * kBlock; c < (bx + 1) * kBlock; ++c) {
            const double v = p[(t * kSide + r) * kSide + c];
            s += v;
            s2 += v * v;
          }
        const double n = kBlock * kBlock, m = s / n;
        out[size_t(by * kGrid + bx)] += float(std::sqrt(std::max(0.0, s2 / n - m * m)) / kT);
      }
  return out;
}

// Per-block mean |Y_t - Y_{t-1}| over the 7 frame pairs (motion energy).
inline std::array<float, kGrid * kGrid> block_motion(const Tensor<float>& y) {
  const Tensor<float> d = abs(sub(y.slice(0, 1, kT), y.slice(0, 0, kT - 1)));
  return block_mean(d);
}

inline BlockMask random_rectangle(Generator& gen) {
  BlockMask m{};
  const int64_t h = gen.randint(3, kGrid + 1), w = gen.randint(3, kGrid + 1);
  const int64_t top = gen.randint(0, kGrid - h + 1), left = gen.randint(0, kGrid - w + 1);
  for (int64_t r = top; r < top + h; ++r)
    for (int64_t c = left; c < left + w; ++c) m[size_t(r * kGrid + c)] = 1;
  return m;
}

// The region narrowed to blocks whose statistic passes.
template <class Pred>
BlockMask gate(const BlockMask& region, Pred pass) {
  BlockMask m{};
  for (size_t i = 0; i < m.size(); ++i) m[i] = region[i] && pass(i);
  return m;
}

// Per-block mean |a - b| over the frames of planes [8, side, side], blocks of b pixels.
inline std::array<float, kGrid * kGrid> block_change(const Tensor<float>& a, const Tensor<float>& b,
                                                     int64_t block) {
  const Tensor<float> d = abs(sub(a, b)).contiguous();
  const float* p = d.data_ptr();
  const int64_t side = d.size(-1), frames = d.size(0);
  std::array<float, kGrid * kGrid> out{};
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t r = 0; r < side; ++r)
      for (int64_t c = 0; c < side; ++c)
        out[size_t((r / block) * kGrid + c / block)] += p[(t * side + r) * side + c];
  for (float& v : out) v /= float(frames * block * block);
  return out;
}

// A change this large (mean absolute, 3 of 255 in 8-bit units) counts as visible: an artifact's
// mask keeps only the blocks where it changed the picture at least this much, so a label
// never marks a block the codec left as it was (a flat block under coarse quantisation).
inline constexpr float kVisibleChange = 3.0f / 255.0f;

inline float median(std::array<float, kGrid * kGrid> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace detail

// Where the cube sits, for the reference map's centre bias.
struct FrameGeometry {
  int64_t top = 0, left = 0, height = 0, width = 0;
};

// Degrades one pristine cube: which artifacts, where and how strong all come from gen.
inline SimCube simulate(const data::VideoCube& pristine, const FrameGeometry& geo, Generator& gen) {
  using namespace detail;
  SimCube out;
  Tensor<float> y = clamp(pristine.y, 0.0f, 1.0f).contiguous();
  Tensor<float> cb = clamp(pristine.cb, 0.0f, 1.0f).contiguous();
  Tensor<float> cr = clamp(pristine.cr, 0.0f, 1.0f).contiguous();
  const Tensor<float> y0 = y.clone();

  // Content statistics of the pristine cube, per block.
  const auto edge = block_mean(image::sobel_magnitude(y));
  const auto texture = block_std(y);
  const auto motion = block_motion(y);
  const float edge_med = median(edge), tex_med = median(texture);

  // Which artifacts: 0-3 per cube, P = (0.05, 0.2, 0.35, 0.4), so that each of the six is
  // present in 2.1 / 6 = 35% of the cubes (the note's "0-2 per cube" cannot reach 35%).
  const double u = gen.uniform();
  const int count = u < 0.05 ? 0 : u < 0.25 ? 1 : u < 0.6 ? 2 : 3;
  std::array<int, kPeas> order = {0, 1, 2, 3, 4, 5};
  for (int i = kPeas - 1; i > 0; --i)
    std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
  std::array<bool, kPeas> on{};
  for (int i = 0; i < count; ++i) on[size_t(order[size_t(i)])] = true;
  std::array<BlockMask, kPeas> region{};
  for (int a = 0; a < kPeas; ++a) {
    out.strength[size_t(a)] = gen.uniform();
    region[size_t(a)] = random_rectangle(gen);
  }
  const auto s = [&](Pea a) { return out.strength[size_t(a)]; };

  // Spatial artifacts, the same codec settings in every frame.
  if (on[Blur]) {  // high frequencies cut beyond a zig-zag cutoff, then a mild deblocking blur
    const int64_t keep = 6 - int64_t(std::lround(4 * s(Blur)));
    Tensor<float> b =
        image::block_codec(y, Tensor<float>::ones({8, 8}), {}, image::zigzag_mask<float>(8, keep));
    b = image::gaussian_blur(b, 1.0);
    const auto change = block_change(b, y, kBlock);
    out.mask[Blur] = gate(region[Blur], [&](size_t i) { return change[i] >= kVisibleChange; });
    composite(y, b, out.mask[Blur], kBlock);
  }
  if (on[Block]) {  // coarse QP on DC and the lowest AC, the rest dropped, no deblocking
    const int64_t keep = s(Block) > 0.5 ? 1 : 3;
    const Tensor<float> b = image::block_codec(y, luma_table(38 + 12 * s(Block)), {},
                                               image::zigzag_mask<float>(8, keep));
    const auto change = block_change(b, y, kBlock);
    out.mask[Block] = gate(region[Block], [&](size_t i) { return change[i] >= kVisibleChange; });
    composite(y, b, out.mask[Block], kBlock);
  }
  if (on[Ring]) {  // 16 x 16 DCT, fine low frequencies, coarse mid / high, on strong edges
    Tensor<float> table = image::resize_table(luma_table(38 + 10 * s(Ring)), 16);
    float* q = table.data_ptr();
    for (int64_t u2 = 0; u2 < 16; ++u2)
      for (int64_t v2 = 0; v2 < 16; ++v2)
        if (u2 + v2 < 3) q[u2 * 16 + v2] = 2.0f;
    const Tensor<float> b = image::block_codec(y, table);
    const auto change = block_change(b, y, kBlock);
    out.mask[Ring] = gate(region[Ring], [&](size_t i) {
      return edge[i] >= std::max(edge_med, 0.15f) && change[i] >= kVisibleChange;
    });
    composite(y, b, out.mask[Ring], kBlock);
  }
  if (on[Bleed]) {  // chroma box-downsampled x4, coarsely quantised, bilinear back up
    const Tensor<float> table = chroma_table(38 + 10 * s(Bleed));
    auto bleed = [&](const Tensor<float>& c) {
      const Tensor<float> small = image::block_codec(image::chroma_downsample(c, 4), table);
      return image::chroma_upsample(small, kSide / 2, kSide / 2, 4, image::ChromaUpsample::Bilinear)
          .contiguous();
    };
    const Tensor<float> bb = bleed(cb), br = bleed(cr);
    const auto cb_change = block_change(bb, cb, kBlock / 2),
               cr_change = block_change(br, cr, kBlock / 2);
    out.mask[Bleed] = gate(region[Bleed],
                           [&](size_t i) { return cb_change[i] + cr_change[i] >= kVisibleChange; });
    composite(cb, bb, out.mask[Bleed], kBlock / 2);
    composite(cr, br, out.mask[Bleed], kBlock / 2);
  }
  // Temporal artifacts.
  if (on[Flicker]) {  // QP alternating by +-delta between frames, in textured blocks
    const double delta = 4 + 6 * s(Flicker);
    Tensor<float> f = y.clone();
    for (int64_t t = 0; t < kT; ++t) {
      const double qp = 30 + (t % 2 == 0 ? -delta : delta);
      f.select(0, t).copy_(image::block_codec(y.select(0, t).contiguous(), luma_table(qp)));
    }
    const auto change = block_change(f, y, kBlock);
    out.mask[Flicker] = gate(region[Flicker], [&](size_t i) {
      return texture[i] >= std::max(tex_med, 0.02f) && change[i] >= kVisibleChange;
    });
    composite(y, f, out.mask[Flicker], kBlock);
  }
  if (on[Float]) {  // skip blocks: frames t0..t0+k-1 copy the previous decoded frame, where
                    // the content moves, so the texture stays put while the scene moves on
    const int64_t k = 2 + int64_t(std::lround(5 * s(Float)));
    const int64_t t0 = 1 + gen.randint(0, kT - k);
    out.mask[Float] = gate(region[Float], [&](size_t i) { return motion[i] >= 0.012f; });
    for (int64_t t = t0; t < t0 + k; ++t) {
      const Tensor<float> prev_y = y.select(0, t - 1).unsqueeze(0).expand({kT, kSide, kSide});
      const Tensor<float> prev_b = cb.select(0, t - 1).unsqueeze(0).expand({kT, 32, 32});
      const Tensor<float> prev_r = cr.select(0, t - 1).unsqueeze(0).expand({kT, 32, 32});
      composite(y, prev_y, out.mask[Float], kBlock, t, t + 1);
      composite(cb, prev_b, out.mask[Float], kBlock / 2, t, t + 1);
      composite(cr, prev_r, out.mask[Float], kBlock / 2, t, t + 1);
    }
  }
  // Round to 8 bits, as a decoder's output.
  auto to8 = [](const Tensor<float>& x) {
    return mul(round(mul(clamp(x, 0.0f, 1.0f), 255.0f)), 1.0f / 255.0f).contiguous();
  };
  out.y = to8(y);
  out.cb = to8(cb);
  out.cr = to8(cr);

  // Patch labels: an artifact is on a 32 x 32 sub-patch when >= 25% of its 16 blocks carry it.
  for (int64_t p = 0; p < kSubs; ++p)
    for (int a = 0; a < kPeas; ++a) {
      int n = 0;
      for (int64_t r = (p / 2) * 4; r < (p / 2) * 4 + 4; ++r)
        for (int64_t c = (p % 2) * 4; c < (p % 2) * 4 + 4; ++c)
          n += out.mask[size_t(a)][size_t(r * kGrid + c)];
      out.labels[size_t(p)][size_t(a)] = n >= 4 ? 1.0f : 0.0f;
    }

  // The reference attention map, from the PRISTINE cube: a centre bias (distance of the block
  // from the frame's centre) times local contrast times motion energy, per block.
  double total = 0;
  for (int64_t by = 0; by < kGrid; ++by)
    for (int64_t bx = 0; bx < kGrid; ++bx) {
      const size_t i = size_t(by * kGrid + bx);
      const double cy = (double(geo.top + by * kBlock) + 4.0) / double(geo.height) - 0.5;
      const double cx = (double(geo.left + bx * kBlock) + 4.0) / double(geo.width) - 0.5;
      const double centre = std::exp(-(cx * cx + cy * cy) / (2 * 0.3 * 0.3));
      const double a = centre * (0.02 + texture[i]) * (0.005 + motion[i]);
      out.attention[i] = float(a);
      total += a;
    }
  double damage = 0;
  for (int a = 0; a < kPeas; ++a) {
    double v = 0;
    for (size_t i = 0; i < out.attention.size(); ++i)
      v += out.attention[i] * out.mask[size_t(a)][i];
    out.visibility[size_t(a)] = v / total;
    const bool present = std::any_of(out.mask[size_t(a)].begin(), out.mask[size_t(a)].end(),
                                     [](uint8_t b) { return b != 0; });
    if (!present) out.strength[size_t(a)] = 0;  // not applied: no strength to report
    damage += kMosWeights[size_t(a)] * out.strength[size_t(a)] * out.visibility[size_t(a)];
  }
  out.mos = 100.0 * std::exp(-damage) + 2.0 * gen.normal();

  // The simple metrics: full-reference PSNR of luma, and the no-reference blockiness index.
  const double mse = mean(square(sub(out.y, y0))).item();
  out.psnr = std::min(60.0, 10.0 * std::log10(1.0 / std::max(mse, 1e-12)));
  const float* p = out.y.data_ptr();
  double across = 0, inside = 0;
  int64_t na = 0, ni = 0;
  for (int64_t t = 0; t < kT; ++t)
    for (int64_t r = 0; r < kSide; ++r)
      for (int64_t c = 1; c < kSide; ++c) {
        // horizontal neighbours (c-1, c) and vertical ones (c-1, c) in the transposed plane
        const double dh =
            std::abs(p[(t * kSide + r) * kSide + c] - p[(t * kSide + r) * kSide + c - 1]);
        const double dv =
            std::abs(p[(t * kSide + c) * kSide + r] - p[(t * kSide + c - 1) * kSide + r]);
        if (c % kBlock == 0) {
          across += dh + dv;
          na += 2;
        } else {
          inside += dh + dv;
          ni += 2;
        }
      }
  out.blockiness = (across / double(na)) / std::max(inside / double(ni), 1e-6);
  return out;
}

}  // namespace sstam
