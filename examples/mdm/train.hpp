// Training of the explained classifiers (papers/01-mdm.md §5): Adam (CNN) or AdamW (ViT) at lr
// 1e-3, batch 64, with light augmentation — a random horizontal flip and a brightness factor in
// [0.8, 1.2] per image — and the test accuracy at the end.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ember/autograd/grad_mode.hpp>
#include <ember/core/random.hpp>
#include <ember/kit/progress.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/reduce_more.hpp>
#include <string>
#include <vector>

#include "scenes.hpp"

namespace mdm {

using namespace ember;

// Batch rows `idx` of set.images, flipped and brightened per image.
inline Tensor<float> augmented_batch(const SceneSet& set, const std::vector<int64_t>& idx,
                                     Generator& gen) {
  const int64_t n = int64_t(idx.size()), plane = kSide * kSide;
  Tensor<float> out = Tensor<float>::empty({n, 3, kSide, kSide});
  const float* src = set.images.data_ptr();
  float* dst = out.data_ptr();
  for (int64_t i = 0; i < n; ++i) {
    const bool flip = gen.uniform() < 0.5;
    const float gain = float(0.8 + 0.4 * gen.uniform());
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < kSide; ++y)
        for (int64_t x = 0; x < kSide; ++x) {
          const float v =
              src[(idx[size_t(i)] * 3 + c) * plane + y * kSide + (flip ? kSide - 1 - x : x)];
          dst[(i * 3 + c) * plane + y * kSide + x] = std::min(1.0f, v * gain);
        }
  }
  return out;
}

template <class Model>
double accuracy(Model& model, const SceneSet& set, const Device& device) {
  NoGradGuard no_grad;
  model.eval();
  int64_t correct = 0;
  const std::vector<int64_t> y = set.labels.to_vector();
  for (int64_t b = 0; b < set.size(); b += 250) {
    const int64_t e = std::min(set.size(), b + 250);
    const std::vector<int64_t> p = argmax(model.forward(set.images.slice(0, b, e).to(device)), 1)
                                       .to(Device::cpu())
                                       .to_vector();
    for (int64_t i = b; i < e; ++i) correct += p[size_t(i - b)] == y[size_t(i)];
  }
  return double(correct) / double(set.size());
}

template <class Model, class Optimizer>
double train_classifier(Model& model, Optimizer& opt, const SceneSet& train, const SceneSet& test,
                        int64_t epochs, const Device& device, uint64_t seed,
                        const std::string& tag) {
  Generator gen(seed);
  const int64_t n = train.size(), batch = 64;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  const std::vector<int64_t> labels = train.labels.to_vector();
  kit::Progress progress(tag, epochs * ((n + batch - 1) / batch));
  int64_t step = 0;
  double test_accuracy = 0;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    model.train();
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[size_t(gen.randint(0, int64_t(i)))]);
    double loss_sum = 0;
    for (int64_t b = 0; b < n; b += batch) {
      const std::vector<int64_t> idx(order.begin() + b, order.begin() + std::min(n, b + batch));
      std::vector<int64_t> y;
      for (int64_t i : idx) y.push_back(labels[size_t(i)]);
      const Tensor<float> loss =
          nn::functional::cross_entropy(model.forward(augmented_batch(train, idx, gen).to(device)),
                                        Tensor<int64_t>::from_vector(y).to(device));
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += double(loss.item()) * double(idx.size());
      char status[64];
      std::snprintf(status, sizeof status, "epoch %lld  loss %.4f", (long long)epoch + 1,
                    loss_sum / double(std::min(n, b + batch)));
      progress.update(++step, status);
    }
    test_accuracy = accuracy(model, test, device);  // reported only, never used to select
    std::printf("  %s epoch %lld/%lld: train loss %.4f  test accuracy %.4f\n", tag.c_str(),
                (long long)epoch + 1, (long long)epochs, loss_sum / double(n), test_accuracy);
    std::fflush(stdout);
  }
  model.eval();
  return test_accuracy;
}

}  // namespace mdm
