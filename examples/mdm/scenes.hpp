// The MDM note's scenes (papers/01-mdm.md §5): one Fashion-MNIST item, resized to 16-26 px and
// tinted to differ from the background under it by at least 0.25 in luminance, pasted at a
// random position on a 48 x 48 crop of a natural photo. Training scenes use training items and
// the training photo groups, test scenes test items and held-out groups. Each scene keeps its
// class, the item's pixel mask and its tight box.
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/backgrounds.hpp>
#include <ember/data/class_sampler.hpp>
#include <ember/data/compositor.hpp>
#include <ember/data/crops.hpp>
#include <ember/metrics/boxes.hpp>
#include <vector>

namespace mdm {

using namespace ember;

inline constexpr int kSide = 48;

struct SceneSet {
  Tensor<float> images;                     // [N, 3, 48, 48] in [0, 1]
  Tensor<int64_t> labels;                   // [N]
  std::vector<std::vector<uint8_t>> masks;  // per scene, 48 x 48
  std::vector<metrics::Box> boxes;
  int64_t size() const { return labels.size(0); }
};

inline SceneSet to_set(const std::vector<data::Scene>& scenes) {
  SceneSet s;
  std::vector<data::Image> images;
  std::vector<int64_t> labels;
  for (const data::Scene& sc : scenes) {
    images.push_back(sc.image);
    labels.push_back(sc.items.front().label);
    s.masks.push_back(sc.items.front().mask);
    s.boxes.push_back(sc.items.front().box);
  }
  s.images = data::images_to_tensor(images);
  s.labels = Tensor<int64_t>::from_vector(labels);
  return s;
}

inline data::CompositorOptions scene_options() {
  data::CompositorOptions o;
  o.height = o.width = kSide;
  o.scene.size = {16, 26};
  o.scene.min_contrast = 0.25;
  return o;
}

// Train and test scenes: `train` from the first items of the training pool on the training
// photos, `test` from test items on the held-out photos.
inline std::pair<SceneSet, SceneSet> make_scenes(const std::vector<data::ItemSprite>& train_items,
                                                 const std::vector<data::ItemSprite>& test_items,
                                                 const data::BackgroundSplit& photos, int64_t train,
                                                 int64_t test, uint64_t seed) {
  Generator gen(seed);
  const data::SceneCompositor train_c(train_items, {photos.train}, data::ClassSampler::uniform(10),
                                      scene_options());
  const data::SceneCompositor test_c(test_items, {photos.test}, data::ClassSampler::uniform(10),
                                     scene_options());
  return {to_set(train_c.generate(train, gen)), to_set(test_c.generate(test, gen))};
}

}  // namespace mdm
