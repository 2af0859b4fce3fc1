// Frozen region features, the stand-in for bottom-up features (the note, section 5):
//   - a small CNN trained once on raw Fashion-MNIST and frozen; per item, its 64-d penultimate
//     feature of the item's square, which is turned back into a Fashion-MNIST-like picture (the
//     colour distance from the square's border, so a tinted item on a photo becomes a bright
//     item on black; item_picture),
//   - the mean RGB of the item's mask pixels, its box (x0, y0, x1, y1) / 64 and box area / 64²;
//   - 16 background cells (4x4 grid): mean RGB, the cell box and area, and the luminance std.
// Each region is 74-d: the note's 72 plus the luminance std and an item/cell flag. Scenes hold
// 3 item slots (the third padded in 2-item scenes) and 16 cells: 19 regions and a padding mask.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <ember/autograd/anomaly.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/crops.hpp>
#include <ember/data/dataloader.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/kit/progress.hpp>
#include <ember/kit/table.hpp>
#include <ember/nn/activation.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/pool.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/optim/adam.hpp>
#include <memory>
#include <vector>

#include "scenes.hpp"

namespace vat {

inline constexpr int64_t kCnnDim = 64;
inline constexpr int64_t kFeatureDim = 74;
inline constexpr int64_t kCells = 16;
inline constexpr int64_t kRegions = kMaxItems + kCells;

// The CNN: conv 8 + pool, conv 16 + pool, 784 -> 64 (the feature), 64 -> 10.
struct ItemCnn {
  std::shared_ptr<nn::Sequential> body, head;
  explicit ItemCnn(Generator& gen) {
    body = nn::make_sequential(
        std::make_shared<nn::Conv2d>(1, 8, 3, nn::Conv2dOptions{.padding = 1}, gen),
        std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
        std::make_shared<nn::Conv2d>(8, 16, 3, nn::Conv2dOptions{.padding = 1}, gen),
        std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
        std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(16 * 7 * 7, kCnnDim, gen),
        std::make_shared<nn::ReLU>());
    head = nn::make_sequential(std::make_shared<nn::Linear>(kCnnDim, 10, gen));
  }
  void to(const Device& d) {
    body->to(d);
    head->to(d);
  }
  void train(bool on) {
    body->train(on);
    head->train(on);
  }
};

// Trains the CNN on `train` (images [N, 1, 28, 28]) and returns its test accuracy.
inline double train_cnn(ItemCnn& cnn, const data::FashionMnist& fm, int64_t epochs,
                        const Device& device, uint64_t seed) {
  std::vector<AnyTensor> params = cnn.body->parameters();
  for (auto& p : cnn.head->parameters()) params.push_back(p);
  optim::Adam opt(params, {.lr = 2e-3});
  data::DataLoader<> loader(fm.train, {.batch_size = 64, .shuffle = true, .seed = seed});
  kit::Progress progress("cnn", epochs * int64_t(loader.size()), 2.0);
  int64_t step = 0;
  cnn.train(true);
  for (int64_t e = 0; e < epochs; ++e)
    for (const auto& batch : loader) {
      const Tensor<float> x = batch.inputs.reshape({batch.inputs.size(0), 1, 28, 28}).to(device);
      const Tensor<float> loss = nn::functional::cross_entropy(
          cnn.head->forward(cnn.body->forward(x)), batch.targets.to(device));
      check_loss(loss, step);
      opt.zero_grad();
      loss.backward();
      opt.step();
      progress.update(++step, "loss " + kit::fmt(loss.item(), 3));
    }
  NoGradGuard no_grad;
  cnn.train(false);
  int64_t right = 0;
  data::DataLoader<> test(fm.test, {.batch_size = 500});
  for (const auto& batch : test) {
    const Tensor<float> x = batch.inputs.reshape({batch.inputs.size(0), 1, 28, 28}).to(device);
    const std::vector<int64_t> p =
        argmax(cnn.head->forward(cnn.body->forward(x)), 1).to(Device::cpu()).to_vector();
    const int64_t* y = batch.targets.data_ptr();
    for (size_t i = 0; i < p.size(); ++i) right += p[i] == y[i];
  }
  return double(right) / double(fm.test.size());
}

// The item's square as a 28x28 Fashion-MNIST-like picture: the RGB distance of each pixel from
// the median colour of the square's border (the background around the item), scaled to [0, 1].
// RGB rather than luminance: a dark blue item on a dark brown photo differs in
// hue, hardly in luminance.
inline std::vector<float> item_picture(const data::Image& img, const ItemInfo& it) {
  const int s = it.size;
  auto px = [&](int y, int x) {
    return &img.pixels[(size_t(it.top + y) * kSide + size_t(it.left + x)) * 3];
  };
  std::array<std::vector<float>, 3> border;
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x)
      if (y == 0 || x == 0 || y == s - 1 || x == s - 1)
        for (int ch = 0; ch < 3; ++ch) border[size_t(ch)].push_back(float(px(y, x)[ch]));
  std::array<float, 3> bg{};
  for (int ch = 0; ch < 3; ++ch) {
    std::vector<float>& b = border[size_t(ch)];
    std::nth_element(b.begin(), b.begin() + ptrdiff_t(b.size() / 2), b.end());
    bg[size_t(ch)] = b[b.size() / 2];
  }
  std::vector<float> dist(size_t(s) * size_t(s));
  float mx = 1e-6f;
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x) {
      float d2 = 0;
      for (int ch = 0; ch < 3; ++ch) {
        const float d = float(px(y, x)[ch]) - bg[size_t(ch)];
        d2 += d * d;
      }
      mx = std::max(mx, dist[size_t(y * s + x)] = std::sqrt(d2));
    }
  // Scaled to the maximum, with the lowest fifth cut: the photo's texture around the item
  // stays below it, the item (alpha near 1) above. Measured on 1,500 scene items, the cut
  // raises the frozen CNN's class accuracy from 0.45 to 0.51.
  for (float& v : dist) v = std::clamp((v / mx - 0.2f) / 0.8f, 0.0f, 1.0f);
  return data::detail::resize_bilinear_hwc(dist.data(), s, s, 1, 28, 28);
}

// Region features [N, 19, 74] and the padding mask [N, 19] (1 = absent item slot).
struct Regions {
  Tensor<float> features;
  std::vector<uint8_t> pad;  // N * 19
  double item_accuracy = 0;  // the CNN's class accuracy on the scenes' items
  int64_t size() const { return features.size(0); }
};

inline Regions region_features(const std::vector<CaptionScene>& scenes, ItemCnn& cnn,
                               const Device& device) {
  const int64_t n = int64_t(scenes.size());
  // The CNN features of every item, in one pass of batches.
  std::vector<float> pics;
  for (const auto& s : scenes)
    for (const auto& it : s.items) {
      const std::vector<float> p = item_picture(s.image, it);
      pics.insert(pics.end(), p.begin(), p.end());
    }
  const int64_t items = int64_t(pics.size() / 784);
  std::vector<float> cnn_feat(size_t(items * kCnnDim));
  std::vector<int64_t> predicted;
  {
    NoGradGuard no_grad;
    cnn.train(false);
    const Tensor<float> all = Tensor<float>::from_vector(pics, {items, 1, 28, 28});
    for (int64_t b = 0; b < items; b += 512) {
      const int64_t e = std::min(items, b + 512);
      const Tensor<float> f = cnn.body->forward(all.slice(0, b, e).to(device));
      const std::vector<float> fh = f.to(Device::cpu()).contiguous().to_vector();
      std::copy(fh.begin(), fh.end(), cnn_feat.begin() + b * kCnnDim);
      const std::vector<int64_t> p = argmax(cnn.head->forward(f), 1).to(Device::cpu()).to_vector();
      predicted.insert(predicted.end(), p.begin(), p.end());
    }
  }
  Regions r;
  {
    int64_t k = 0, right = 0;
    for (const auto& s : scenes)
      for (const auto& it : s.items) right += predicted[size_t(k++)] == it.label;
    r.item_accuracy = double(right) / double(std::max<int64_t>(1, items));
  }
  std::vector<float> feat(size_t(n * kRegions * kFeatureDim), 0.0f);
  r.pad.assign(size_t(n * kRegions), 0);
  int64_t item = 0;
  for (int64_t i = 0; i < n; ++i) {
    const CaptionScene& s = scenes[size_t(i)];
    for (int64_t k = 0; k < kMaxItems; ++k) {
      float* f = &feat[size_t((i * kRegions + k) * kFeatureDim)];
      if (k >= int64_t(s.items.size())) {
        r.pad[size_t(i * kRegions + k)] = 1;
        continue;
      }
      const ItemInfo& it = s.items[size_t(k)];
      std::copy_n(&cnn_feat[size_t(item++ * kCnnDim)], kCnnDim, f);
      for (int ch = 0; ch < 3; ++ch) f[64 + ch] = float(it.mean_rgb[size_t(ch)]);
      f[67] = float(it.box.x0) / kSide, f[68] = float(it.box.y0) / kSide;
      f[69] = float(it.box.x1) / kSide, f[70] = float(it.box.y1) / kSide;
      f[71] = float((it.box.x1 - it.box.x0) * (it.box.y1 - it.box.y0)) / (kSide * kSide);
      f[73] = 1.0f;  // an item
    }
    for (int64_t c = 0; c < kCells; ++c) {
      float* f = &feat[size_t((i * kRegions + kMaxItems + c) * kFeatureDim)];
      const int cy = int(c / 4) * 16, cx = int(c % 4) * 16;
      double sum[3] = {0, 0, 0}, l1 = 0, l2 = 0;
      for (int y = cy; y < cy + 16; ++y)
        for (int x = cx; x < cx + 16; ++x) {
          const uint8_t* px = &s.image.pixels[(size_t(y) * kSide + size_t(x)) * 3];
          for (int ch = 0; ch < 3; ++ch) sum[ch] += px[ch];
          const double l = data::detail::luminance(px[0], px[1], px[2]);
          l1 += l, l2 += l * l;
        }
      for (int ch = 0; ch < 3; ++ch) f[64 + ch] = float(sum[ch] / (256.0 * 255.0));
      f[67] = float(cx) / kSide, f[68] = float(cy) / kSide;
      f[69] = float(cx + 16) / kSide, f[70] = float(cy + 16) / kSide;
      f[71] = 1.0f / 16;
      f[72] = float(std::sqrt(std::max(0.0, l2 / 256 - (l1 / 256) * (l1 / 256))));
    }
  }
  r.features = Tensor<float>::from_vector(feat, {n, kRegions, kFeatureDim});
  return r;
}

// Per-dimension mean and std of the present regions (training scenes), so that the CNN's
// unbounded features do not drown the colour and box columns in the first projection.
struct FeatureScaler {
  std::vector<float> mean, inv_std;
  explicit FeatureScaler(const Regions& r) : mean(kFeatureDim, 0.0f), inv_std(kFeatureDim, 1.0f) {
    const std::vector<float> f = r.features.contiguous().to_vector();
    std::vector<double> s1(kFeatureDim, 0.0), s2(kFeatureDim, 0.0);
    double n = 0;
    for (size_t i = 0; i < r.pad.size(); ++i) {
      if (r.pad[i]) continue;
      for (int64_t d = 0; d < kFeatureDim; ++d) {
        const double v = f[i * kFeatureDim + size_t(d)];
        s1[size_t(d)] += v, s2[size_t(d)] += v * v;
      }
      n += 1;
    }
    for (int64_t d = 0; d < kFeatureDim; ++d) {
      const double m = s1[size_t(d)] / n, var = std::max(0.0, s2[size_t(d)] / n - m * m);
      mean[size_t(d)] = float(m);
      inv_std[size_t(d)] = float(1.0 / std::sqrt(var + 1e-4));
    }
  }
  // Scales r's present regions in place; absent ones stay 0.
  void apply(Regions& r) const {
    std::vector<float> f = r.features.contiguous().to_vector();
    for (size_t i = 0; i < r.pad.size(); ++i)
      for (int64_t d = 0; d < kFeatureDim; ++d) {
        float& v = f[i * kFeatureDim + size_t(d)];
        v = r.pad[i] ? 0.0f : (v - mean[size_t(d)]) * inv_std[size_t(d)];
      }
    r.features = Tensor<float>::from_vector(f, r.features.shape());
  }
};

}  // namespace vat
