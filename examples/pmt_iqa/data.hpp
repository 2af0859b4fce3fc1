// The PMT-IQA data set of the note (papers/04-pmt-iqa.md §5): natural reference crops from the
// photo catalogue, four distortion types at five levels each, and the note's SYNTHETIC quality
// label standing in for human opinion scores.
//
//   q = 100 (1 - min(0.95, s_level * c_type(ref))) + eps,  eps ~ N(0, 2^2),  pristine: s = 0
//   class = min(9, floor(q / 10))
//
// c_type(ref) in [0.7, 1.3] makes one level score differently on different content: for blur
// and compression it grows with the reference's high-frequency energy (textured content loses
// more), for noise with its flatness (noise shows on smooth regions), for contrast it is 1.
// Both content statistics are turned into [0.7, 1.3] through their rank among all references,
// so the factors spread over the whole interval whatever the photos are.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/crops.hpp>
#include <ember/data/photos.hpp>
#include <ember/image/color.hpp>
#include <ember/image/degrade.hpp>
#include <ember/image/gaussian.hpp>
#include <ember/image/quant_tables.hpp>
#include <ember/image/quantize.hpp>
#include <ember/image/sobel.hpp>
#include <ember/ops/reduce_more.hpp>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace pmt_iqa {

using namespace ember;

inline constexpr int kRefSide = 96;  // reference crops, 96 x 96 (the note)
inline constexpr int kLevels = 5;
inline constexpr int kClasses = 10;
inline constexpr const char* kTypeNames[] = {"blur", "noise", "compression", "contrast"};
inline constexpr int kTypes = 4;

// Levels 1..5 of each type (the note's table) and the label's severity per level.
inline constexpr double kBlurSigma[kLevels] = {0.5, 1.0, 1.5, 2.5, 4.0};
inline constexpr double kNoiseSigma[kLevels] = {0.02, 0.04, 0.07, 0.10, 0.15};
inline constexpr int kJpegQuality[kLevels] = {80, 50, 30, 15, 5};
inline constexpr double kContrastKappa[kLevels] = {0.8, 0.6, 0.45, 0.3, 0.2};
inline constexpr double kSeverity[kLevels] = {0.10, 0.25, 0.45, 0.65, 0.85};
inline constexpr double kLabelNoiseSd = 2.0;

struct Spec {
  int max_references = 0;        // 0: all the catalogue gives; --quick: 20
  int crops_per_photo = 2;       // the note: 1-2 per source photo
  int max_photos_per_group = 3;  // a calibration series of 26 chessboards is one group
  uint64_t seed = 0;
};

struct Reference {
  std::string photo, group;
  Tensor<float> pixels;            // [3, 96, 96] in [0, 1]
  double hf_energy = 0;            // high-frequency share of the luma variance
  double gradient = 0;             // mean Sobel magnitude of the luma (low = flat)
  double c_blur = 1, c_noise = 1;  // content factors in [0.7, 1.3]
};

// One distorted (or pristine) image. type = -1 and level = 0 for the pristine crop.
struct Sample {
  int ref = 0, type = -1, level = 0;
  double quality = 0;
  int64_t cls = 0;
};

struct Dataset {
  std::vector<Reference> refs;
  std::vector<Sample> samples;
  Tensor<float> images;  // [N, 3, 96, 96], one row per sample
  int groups = 0;
};

inline Tensor<float> luma(const Tensor<float>& rgb) {
  return image::rgb_to_ycbcr(rgb).slice(0, 0, 1);
}

// Photos scaled down in halving steps (resize_bilinear has no antialiasing) until the short
// side is below 384, so a 96 x 96 crop holds a scene's structure rather than a few pixels of
// texture.
inline data::Image shrink_photo(data::Image img) {
  while (std::min(img.height, img.width) >= 384)
    img = data::resize_bilinear(img, img.height / 2, img.width / 2);
  return img;
}

// Ranks of v mapped linearly onto [0.7, 1.3] (ascending when `ascending`), ties broken by index.
inline std::vector<double> rank_factors(const std::vector<double>& v, bool ascending) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> f(v.size(), 1.0);
  const double n = double(std::max<size_t>(2, v.size()) - 1);
  for (size_t r = 0; r < order.size(); ++r) {
    const double t = double(r) / n;
    f[order[r]] = 0.7 + 0.6 * (ascending ? t : 1.0 - t);
  }
  return f;
}

// Distortion `type` at level 1..5 of a [3, H, W] reference in [0, 1].
inline Tensor<float> distort(const Tensor<float>& ref, int type, int level, Generator& gen) {
  EMBER_CHECK(type >= 0 && type < kTypes && level >= 1 && level <= kLevels,
              "pmt_iqa::distort: expected a type in 0..3 and a level in 1..5, got type ", type,
              " level ", level);
  const int i = level - 1;
  switch (type) {
    case 0:
      return image::gaussian_blur(ref, kBlurSigma[i]);
    case 1:
      return image::add_gaussian_noise(ref, kNoiseSigma[i], gen, /*clamp01=*/true);
    case 2: {  // JPEG-like: Y'CbCr, 8x8 DCT, the scaled luma / chroma tables, rounding
      const Tensor<float> ycc = image::rgb_to_ycbcr(ref);
      const Tensor<float> y =
          image::block_codec(ycc.slice(0, 0, 1), image::jpeg_luma_table<float>(kJpegQuality[i]));
      const Tensor<float> c =
          image::block_codec(ycc.slice(0, 1, 3), image::jpeg_chroma_table<float>(kJpegQuality[i]));
      return clamp(image::ycbcr_to_rgb(cat(std::vector<Tensor<float>>{y, c}, 0)), 0.0f, 1.0f)
          .contiguous();
    }
    default:
      return image::adjust_contrast(ref, kContrastKappa[i]);
  }
}

inline double severity_factor(const Reference& r, int type) {
  return type == 0 || type == 2 ? r.c_blur : type == 1 ? r.c_noise : 1.0;
}

// The note's label for one sample, before the observation noise.
inline double clean_quality(const Reference& r, int type, int level) {
  if (type < 0) return 100.0;
  return 100.0 * (1.0 - std::min(0.95, kSeverity[level - 1] * severity_factor(r, type)));
}

inline int64_t quality_class(double q) {
  return std::clamp<int64_t>(int64_t(std::floor(q / 10.0)), 0, kClasses - 1);
}

// Reference crops: up to crops_per_photo textured (not flat) 96 x 96 crops of each catalogue
// photo, at most max_photos_per_group photos of one group, in catalogue order.
inline std::vector<Reference> make_references(const Spec& spec, Generator& gen) {
  const std::vector<data::PhotoEntry> photos = data::photo_catalogue();
  std::map<std::string, int> used_per_group;
  std::vector<Reference> refs;
  for (const data::PhotoEntry& p : photos) {
    if (used_per_group[p.group] >= spec.max_photos_per_group) continue;
    if (spec.max_references > 0 && int(refs.size()) >= spec.max_references) break;
    const data::Image img = shrink_photo(data::to_rgb(data::load_photo(p)));
    if (img.height < kRefSide || img.width < kRefSide) continue;
    ++used_per_group[p.group];
    for (int c = 0; c < spec.crops_per_photo; ++c) {
      if (spec.max_references > 0 && int(refs.size()) >= spec.max_references) break;
      Reference r;
      r.photo = p.id;
      r.group = p.group;
      r.pixels = data::image_to_tensor(data::random_textured_crop(img, kRefSide, kRefSide, gen));
      refs.push_back(std::move(r));
    }
  }
  EMBER_CHECK(refs.size() >= 10, "pmt_iqa: the photo catalogue gave only ", refs.size(),
              " reference crops; expected at least 10 (run data/install.sh)");
  // Content statistics of the luma: the share of its variance above a sigma-1.5 blur (how much
  // blur and compression remove) and the mean Sobel gradient (low on smooth content).
  std::vector<double> hf, grad;
  for (Reference& r : refs) {
    const Tensor<float> y = luma(r.pixels);
    const Tensor<float> detail = sub(y, image::gaussian_blur(y, 1.5));
    const double variance = double(ember::var(y).item());
    r.hf_energy = double(mean(mul(detail, detail)).item()) / (variance + 1e-4);
    r.gradient = double(mean(image::sobel_magnitude(y)).item());
    hf.push_back(r.hf_energy);
    grad.push_back(r.gradient);
  }
  const std::vector<double> c_blur = rank_factors(hf, true), c_noise = rank_factors(grad, false);
  for (size_t i = 0; i < refs.size(); ++i) {
    refs[i].c_blur = c_blur[i];
    refs[i].c_noise = c_noise[i];
  }
  return refs;
}

// Every reference, pristine and at the 4 x 5 distortions (21 images each), with labels.
inline Dataset make_dataset(const Spec& spec) {
  Generator gen(spec.seed ^ 0x1a0f00dULL);
  Dataset d;
  d.refs = make_references(spec, gen);
  std::vector<Tensor<float>> images;
  for (size_t r = 0; r < d.refs.size(); ++r) {
    const Reference& ref = d.refs[r];
    for (int type = -1; type < kTypes; ++type) {
      for (int level = type < 0 ? 0 : 1; level <= (type < 0 ? 0 : kLevels); ++level) {
        Sample s{int(r), type, level, 0.0, 0};
        s.quality = clean_quality(ref, type, level) + kLabelNoiseSd * gen.normal();
        s.cls = quality_class(s.quality);
        images.push_back(type < 0 ? ref.pixels : distort(ref.pixels, type, level, gen));
        d.samples.push_back(s);
      }
    }
  }
  d.images = stack(images, 0).contiguous();
  std::map<std::string, int> groups;
  for (const Reference& r : d.refs) groups[r.group] = 1;
  d.groups = int(groups.size());
  return d;
}

// A split of the references by photo group (near-duplicates never straddle two sets): about
// 80 % of the groups train, of which about a tenth validate, and 20 % test.
struct Split {
  std::vector<int> train, val, test;  // sample indices
};

inline Split split_by_group(const Dataset& d, uint64_t seed) {
  std::vector<std::string> names;
  for (const Reference& r : d.refs)
    if (std::find(names.begin(), names.end(), r.group) == names.end()) names.push_back(r.group);
  Generator gen(seed ^ 0x5b117ULL);
  for (size_t i = names.size(); i > 1; --i)
    std::swap(names[i - 1], names[size_t(gen.randint(0, int64_t(i)))]);
  const size_t n = names.size();
  const size_t n_test = std::max<size_t>(1, size_t(std::lround(0.2 * double(n))));
  const size_t n_val = std::max<size_t>(1, size_t(std::lround(0.1 * double(n - n_test))));
  std::map<std::string, int> role;  // 0 train, 1 val, 2 test
  for (size_t i = 0; i < n; ++i) role[names[i]] = i < n_test ? 2 : i < n_test + n_val ? 1 : 0;
  Split s;
  for (size_t i = 0; i < d.samples.size(); ++i) {
    const int r = role[d.refs[size_t(d.samples[i].ref)].group];
    (r == 0 ? s.train : r == 1 ? s.val : s.test).push_back(int(i));
  }
  EMBER_CHECK(!s.train.empty() && !s.val.empty() && !s.test.empty(),
              "pmt_iqa: a split left a set empty (", s.train.size(), " train, ", s.val.size(),
              " val, ", s.test.size(), " test samples); expected more photo groups");
  return s;
}

}  // namespace pmt_iqa
