// The real training pool that condensation samples from, with its poisoned part: the trigger
// patch and mask, stamping x (1 - M) + M t, and per-class batches in which the poisoned
// images (relabelled to the target class) carry the trigger of the moment.
//
// Poisoned images are kept apart as their clean originals and stamped whenever they are
// drawn, so a trigger that DOORPING changes is "re-stamped into every poisoned image" without
// rewriting the pool, on any device.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/shape.hpp>
#include <vector>

namespace doorping {

using ember::Device;
using ember::Generator;
using ember::Tensor;

inline constexpr int64_t kSide = 28;
inline constexpr int64_t kClasses = 10;
inline constexpr int64_t kTarget = 0;  // the backdoor's target class
// Fashion-MNIST's normalisation (the note's mean and std).
inline constexpr float kMean = 0.2860f, kStd = 0.3530f;
// The 2x2 patch one pixel in from the bottom-right corner: rows and columns H-3 .. H-2.
inline constexpr int64_t kPatchLo = kSide - 3, kPatchSize = 2;

// A one-element tensor's value, wherever it lives.
inline double host_value(const Tensor<float>& t) { return double(t.to(Device::cpu()).item()); }

inline float normalise(float v) { return (v - kMean) / kStd; }
inline float denormalise(float v) { return v * kStd + kMean; }

// M: 1 on the patch, 0 elsewhere, [1, 1, 28, 28].
inline Tensor<float> patch_mask(Device device) {
  Tensor<float> m = Tensor<float>::zeros({1, 1, kSide, kSide});
  for (int64_t r = kPatchLo; r < kPatchLo + kPatchSize; ++r)
    for (int64_t c = kPatchLo; c < kPatchLo + kPatchSize; ++c) m.at({0, 0, r, c}) = 1.0f;
  return m.to(device);
}

// NAIVEATTACK's trigger: white (the normalised maximum) on the patch, 0 elsewhere.
inline Tensor<float> white_trigger(Device device) {
  Tensor<float> t = Tensor<float>::zeros({1, 1, kSide, kSide});
  for (int64_t r = kPatchLo; r < kPatchLo + kPatchSize; ++r)
    for (int64_t c = kPatchLo; c < kPatchLo + kPatchSize; ++c) t.at({0, 0, r, c}) = normalise(1.0f);
  return t.to(device);
}

// DOORPING's starting trigger, as the reference code draws it: integer intensities
// uniform in 1..255 on the patch, normalised.
inline Tensor<float> random_trigger(Generator& gen, Device device) {
  Tensor<float> t = Tensor<float>::zeros({1, 1, kSide, kSide});
  for (int64_t r = kPatchLo; r < kPatchLo + kPatchSize; ++r)
    for (int64_t c = kPatchLo; c < kPatchLo + kPatchSize; ++c)
      t.at({0, 0, r, c}) = normalise(float(gen.randint(1, 256)) / 255.0f);
  return t.to(device);
}

// x (1 - M) + M t, broadcast over a batch [N, 1, 28, 28]; differentiable in t.
inline Tensor<float> stamp(const Tensor<float>& x, const Tensor<float>& trigger,
                           const Tensor<float>& mask) {
  return ember::add(ember::mul(x, ember::rsub(mask, 1.0f)), ember::mul(mask, trigger));
}

inline Tensor<int64_t> index_tensor(const std::vector<int64_t>& idx, Device device) {
  return Tensor<int64_t>::from_vector(idx, {int64_t(idx.size())}).to(device);
}

class RealPool {
 public:
  // images: normalised [N, 1, 28, 28] on the run's device; labels on the host. The first
  // round(poison_fraction * N) of a random permutation are poisoned (drawn from all classes)
  // and relabelled to the target class; poison_fraction 0 is the clean pool.
  RealPool(Tensor<float> images, std::vector<int64_t> labels, double poison_fraction,
           Generator& gen)
      : images_(std::move(images)), labels_(std::move(labels)), by_class_(kClasses) {
    const int64_t n = int64_t(labels_.size());
    std::vector<int64_t> perm(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) perm[size_t(i)] = i;
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(perm[size_t(i)], perm[size_t(gen.randint(0, i + 1))]);
    const auto n_poison = int64_t(double(n) * poison_fraction);
    std::vector<bool> poisoned(static_cast<size_t>(n), false);
    for (int64_t i = 0; i < n_poison; ++i) {
      poisoned[size_t(perm[size_t(i)])] = true;
      poison_idx_.push_back(perm[size_t(i)]);
    }
    std::sort(poison_idx_.begin(), poison_idx_.end());
    for (int64_t i = 0; i < n; ++i)
      if (!poisoned[size_t(i)]) by_class_[size_t(labels_[size_t(i)])].push_back(i);
    // A poisoned image j enters the target class's pool as n + j.
    for (int64_t j = 0; j < n_poison; ++j) by_class_[size_t(kTarget)].push_back(n + j);
    if (n_poison > 0)
      poison_base_ = ember::index_select(images_, 0, index_tensor(poison_idx_, images_.device()));
  }

  int64_t poisoned() const { return int64_t(poison_idx_.size()); }
  int64_t class_size(int64_t c) const { return int64_t(by_class_[size_t(c)].size()); }
  // The clean originals of the poisoned images, [P, 1, 28, 28].
  const Tensor<float>& poison_base() const { return poison_base_; }
  // How many poisoned images a class batch holds on average (for the log).
  double poisoned_share_of_target() const {
    return double(poisoned()) / double(class_size(kTarget));
  }

  // Up to `n` images of class c drawn without replacement; poisoned ones carry `trigger`
  // (ignored for a clean pool). The result has no graph.
  Tensor<float> batch(int64_t c, int64_t n, const Tensor<float>& trigger, const Tensor<float>& mask,
                      Generator& gen) {
    std::vector<int64_t>& pool = by_class_[size_t(c)];
    n = std::min<int64_t>(n, int64_t(pool.size()));
    // A partial Fisher-Yates shuffle: the first n entries become a uniform random sample.
    for (int64_t i = 0; i < n; ++i)
      std::swap(pool[size_t(i)], pool[size_t(gen.randint(i, int64_t(pool.size())))]);
    const auto total = int64_t(labels_.size());
    std::vector<int64_t> clean, poison;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = pool[size_t(i)];
      (k < total ? clean : poison).push_back(k < total ? k : k - total);
    }
    const Device dev = images_.device();
    std::vector<Tensor<float>> parts;
    if (!clean.empty()) parts.push_back(ember::index_select(images_, 0, index_tensor(clean, dev)));
    if (!poison.empty())
      parts.push_back(stamp(ember::index_select(poison_base_, 0, index_tensor(poison, dev)),
                            trigger.detach(), mask));
    return parts.size() == 1 ? parts[0] : ember::cat(parts, 0);
  }

 private:
  Tensor<float> images_;
  std::vector<int64_t> labels_;
  std::vector<std::vector<int64_t>> by_class_;
  std::vector<int64_t> poison_idx_;
  Tensor<float> poison_base_;
};

}  // namespace doorping
