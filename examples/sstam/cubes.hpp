// The cube sets of the two splits, simulated once and cached (data/cache.hpp):
//
//   time split        train cubes from the first 70% of each training clip's frames, test
//                     cubes from the last 30%
//   cross-video split the same train cubes; test cubes from a clip never trained on
//
// Every cube position and every artifact draw comes from one Generator seeded by the run's
// seed and the set's name, so a set is the same on every machine and device.
#pragma once

#include <cstdint>
#include <ember/data/cache.hpp>
#include <ember/data/video.hpp>
#include <ember/data/video_cubes.hpp>
#include <ember/kit/progress.hpp>
#include <ember/ops/indexing.hpp>
#include <string>
#include <vector>

#include "artifacts.hpp"
#include "train.hpp"

namespace sstam {

struct Clip {
  std::string name;
  const data::Video* video = nullptr;
  int64_t first = 0, end = 0;  // frame range the cubes come from
  int64_t count = 0;           // cubes from this clip
  int64_t index = 0;           // video index recorded in CubeSet::positions
};

// Simulates the cubes of `clips` (cached under `name` with the clips' ranges and the seed).
inline CubeSet make_cube_set(const std::string& name, const std::vector<Clip>& clips, uint64_t seed,
                             data::DataCache& cache) {
  data::CacheParams params;
  params.set("seed", int64_t(seed)).set("sim", "v3");
  int64_t total = 0;
  for (const Clip& c : clips) {
    params.set(c.name + ".range", std::to_string(c.first) + "-" + std::to_string(c.end))
        .set(c.name + ".count", c.count);
    total += c.count;
  }
  const StateDict d = cache.cached("sstam-" + name, params, [&] {
    Generator gen(seed ^ data::fnv1a64(name));
    const data::CubeSpec spec{.frames = kT, .height = kSide, .width = kSide, .align = kBlock};
    Tensor<uint8_t> y = Tensor<uint8_t>::empty({total, kT, kSide, kSide});
    Tensor<uint8_t> cb = Tensor<uint8_t>::empty({total, kT, kSide / 2, kSide / 2});
    Tensor<uint8_t> cr = Tensor<uint8_t>::empty({total, kT, kSide / 2, kSide / 2});
    Tensor<uint8_t> masks = Tensor<uint8_t>::empty({total, kPeas, kGrid * kGrid});
    Tensor<float> labels = Tensor<float>::empty({total, kSubs, kPeas});
    Tensor<float> strength = Tensor<float>::empty({total, kPeas});
    Tensor<float> vis = Tensor<float>::empty({total, kPeas});
    Tensor<float> att = Tensor<float>::empty({total, kGrid * kGrid});
    Tensor<float> scores = Tensor<float>::empty({total, 3});
    Tensor<int64_t> pos = Tensor<int64_t>::empty({total, 4});
    kit::Progress progress("simulate " + name, total, 5.0);
    int64_t i = 0;
    auto put8 = [](const Tensor<float>& x, uint8_t* dst) {
      const float* p = x.data_ptr();
      for (int64_t k = 0; k < x.numel(); ++k)
        dst[k] = uint8_t(std::lround(std::clamp(p[k], 0.0f, 1.0f) * 255.0f));
    };
    for (const Clip& c : clips) {
      const auto where = data::sample_cube_positions(*c.video, spec, c.count, gen, c.first, c.end);
      for (const data::CubePos& p : where) {
        const data::VideoCube cube = data::video_cube(*c.video, p, spec);
        const SimCube s = simulate(cube, {p.top, p.left, c.video->height, c.video->width}, gen);
        put8(s.y, y.data_ptr() + i * kT * kSide * kSide);
        put8(s.cb, cb.data_ptr() + i * kT * kSide * kSide / 4);
        put8(s.cr, cr.data_ptr() + i * kT * kSide * kSide / 4);
        std::copy(s.attention.begin(), s.attention.end(), att.data_ptr() + i * kGrid * kGrid);
        for (int a = 0; a < kPeas; ++a) {
          for (int64_t b = 0; b < kGrid * kGrid; ++b)
            masks.data_ptr()[(i * kPeas + a) * kGrid * kGrid + b] = s.mask[size_t(a)][size_t(b)];
          strength.data_ptr()[i * kPeas + a] = float(s.strength[size_t(a)]);
          vis.data_ptr()[i * kPeas + a] = float(s.visibility[size_t(a)]);
          for (int64_t sub = 0; sub < kSubs; ++sub)
            labels.data_ptr()[(i * kSubs + sub) * kPeas + a] = s.labels[size_t(sub)][size_t(a)];
        }
        float* sc = scores.data_ptr() + i * 3;
        sc[0] = float(s.mos);
        sc[1] = float(s.psnr);
        sc[2] = float(s.blockiness);
        int64_t* q = pos.data_ptr() + i * 4;
        q[0] = c.index;
        q[1] = p.t;
        q[2] = p.top;
        q[3] = p.left;
        ++i;
        progress.update(i);
      }
    }
    return StateDict{{"y", y},
                     {"cb", cb},
                     {"cr", cr},
                     {"masks", masks},
                     {"labels", labels},
                     {"strength", strength},
                     {"visibility", vis},
                     {"attention", att},
                     {"scores", scores},
                     {"positions", pos}};
  });
  CubeSet s;
  s.y = data::cached_tensor<uint8_t>(d, "y");
  s.cb = data::cached_tensor<uint8_t>(d, "cb");
  s.cr = data::cached_tensor<uint8_t>(d, "cr");
  s.masks = data::cached_tensor<uint8_t>(d, "masks");
  s.labels = data::cached_tensor<float>(d, "labels");
  s.strength = data::cached_tensor<float>(d, "strength");
  s.visibility = data::cached_tensor<float>(d, "visibility");
  s.attention = data::cached_tensor<float>(d, "attention");
  s.scores = data::cached_tensor<float>(d, "scores");
  s.positions = data::cached_tensor<int64_t>(d, "positions");
  std::printf(
      "cubes '%s': %lld (%s)\n", name.c_str(), (long long)s.size(),
      cache.last_outcome() == data::DataCache::Outcome::Hit ? "from the cache" : "simulated");
  return s;
}

// n cubes of `set`, evenly spaced over it (so every clip keeps its share), for the ridge fit
// on a subsample of the train cubes; the whole set when n <= 0 or n >= its size.
inline CubeSet subset(const CubeSet& s, int64_t n) {
  if (n <= 0 || n >= s.size()) return s;
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i) rows.push_back(i * s.size() / n);
  const Tensor<int64_t> idx = Tensor<int64_t>::from_vector(rows, {n});
  CubeSet o;
  o.y = index_select(s.y, 0, idx);
  o.cb = index_select(s.cb, 0, idx);
  o.cr = index_select(s.cr, 0, idx);
  o.masks = index_select(s.masks, 0, idx);
  o.labels = index_select(s.labels, 0, idx);
  o.strength = index_select(s.strength, 0, idx);
  o.visibility = index_select(s.visibility, 0, idx);
  o.attention = index_select(s.attention, 0, idx);
  o.scores = index_select(s.scores, 0, idx);
  o.positions = index_select(s.positions, 0, idx);
  return o;
}

}  // namespace sstam
