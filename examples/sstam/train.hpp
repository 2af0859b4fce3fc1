// Training and running the PEA detectors on sets of simulated cubes.
//
// A sample is one 32 x 32 sub-patch of a cube (4 per cube), labelled per artifact. The CNNs
// see one frame of it (a random frame each time it is drawn in training; at inference the
// sigmoid outputs are averaged over the evaluated frames), the TimeSformers all 8 frames.
// Training is BCE-with-logits (positives weighted by the train set's negative / positive
// ratio, at most 5) and AdamW (main.cpp sets the rates), mini-batches drawn on the CPU (the cubes
// are held as 8-bit planes) and moved to the run's device.
//
// Subsampling (README, "What was shrunk"): each epoch draws `per_epoch` of the train set's
// sub-patch samples without replacement (all of them when per_epoch <= 0), a fresh draw every
// epoch, so over the epochs the detectors see most of the train cubes at a fraction of the
// cost of full passes.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ember/autograd/anomaly.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/kit/progress.hpp>
#include <ember/kit/table.hpp>
#include <ember/metrics/classification.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/optim/adam.hpp>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "artifacts.hpp"
#include "models.hpp"

namespace sstam {

// Simulated cubes, as 8-bit planes plus their labels and scores.
struct CubeSet {
  Tensor<uint8_t> y;          // [N, 8, 64, 64]
  Tensor<uint8_t> cb, cr;     // [N, 8, 32, 32]
  Tensor<uint8_t> masks;      // [N, 6, 64]: the per-block artifact masks
  Tensor<float> labels;       // [N, 4, 6]: per sub-patch
  Tensor<float> strength;     // [N, 6]
  Tensor<float> visibility;   // [N, 6]
  Tensor<float> attention;    // [N, 64]: the label's reference map per block
  Tensor<float> scores;       // [N, 3]: MOS, PSNR, blockiness
  Tensor<int64_t> positions;  // [N, 4]: video index, t, top, left
  int64_t size() const { return y.defined() ? y.size(0) : 0; }
  float mos(int64_t i) const { return scores.data_ptr()[i * 3]; }
  float psnr(int64_t i) const { return scores.data_ptr()[i * 3 + 1]; }
  float blockiness(int64_t i) const { return scores.data_ptr()[i * 3 + 2]; }
};

struct Sample {
  int64_t cube = 0, sub = 0;
};

inline std::vector<Sample> all_samples(const CubeSet& s) {
  std::vector<Sample> out;
  for (int64_t i = 0; i < s.size(); ++i)
    for (int64_t p = 0; p < kSubs; ++p) out.push_back({i, p});
  return out;
}

// Frames `frames` of each sample's sub-patch as [B, F, 3, 32, 32] floats centred on 0
// (Y - 0.5, Cb - 0.5, Cr - 0.5; chroma upsampled by nearest neighbour), on the CPU.
inline Tensor<float> clips(const CubeSet& s, const std::vector<Sample>& items,
                           const std::vector<std::vector<int64_t>>& frames) {
  const int64_t b = int64_t(items.size()), f = int64_t(frames.front().size());
  Tensor<float> out = Tensor<float>::empty({b, f, 3, kSub, kSub});
  float* o = out.data_ptr();
  const uint8_t* y = s.y.data_ptr();
  const uint8_t* cb = s.cb.data_ptr();
  const uint8_t* cr = s.cr.data_ptr();
  constexpr int64_t half = kSide / 2;
  for (int64_t i = 0; i < b; ++i) {
    const Sample& it = items[size_t(i)];
    const int64_t top = (it.sub / 2) * kSub, left = (it.sub % 2) * kSub;
    for (int64_t k = 0; k < f; ++k) {
      const int64_t t = frames[size_t(i)][size_t(k)];
      const uint8_t* yp = y + (it.cube * kT + t) * kSide * kSide;
      const uint8_t* bp = cb + (it.cube * kT + t) * half * half;
      const uint8_t* rp = cr + (it.cube * kT + t) * half * half;
      for (int64_t r = 0; r < kSub; ++r)
        for (int64_t c = 0; c < kSub; ++c) {
          const int64_t ci = ((top + r) / 2) * half + (left + c) / 2;
          o[r * kSub + c] = float(yp[(top + r) * kSide + left + c]) / 255.0f - 0.5f;
          o[kSub * kSub + r * kSub + c] = float(bp[ci]) / 255.0f - 0.5f;
          o[2 * kSub * kSub + r * kSub + c] = float(rp[ci]) / 255.0f - 0.5f;
        }
      o += 3 * kSub * kSub;
    }
  }
  return out;
}

// The labels of the given artifacts for each sample: [B, heads.size()].
inline Tensor<float> targets(const CubeSet& s, const std::vector<Sample>& items,
                             const std::vector<int>& heads) {
  Tensor<float> out = Tensor<float>::empty({int64_t(items.size()), int64_t(heads.size())});
  const float* l = s.labels.data_ptr();
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t h = 0; h < heads.size(); ++h)
      out.data_ptr()[i * heads.size() + h] =
          l[(items[i].cube * kSubs + items[i].sub) * kPeas + heads[h]];
  return out;
}

// One detector: a single-frame CNN or a TimeSformer, and the artifacts its outputs stand for.
struct Detector {
  std::string name;
  std::vector<int> heads;
  std::shared_ptr<nn::Sequential> cnn;   // single-frame
  std::shared_ptr<TinyTimeSformer> tsf;  // 8 frames
  nn::Module& module() { return cnn ? static_cast<nn::Module&>(*cnn) : *tsf; }
  bool single_frame() const { return cnn != nullptr; }
  // x: [B, F, 3, 32, 32] (F = 1 for a CNN in training) -> logits [B * F, heads] for a CNN,
  // [B, heads] for a TimeSformer.
  Tensor<float> forward(const Tensor<float>& x) {
    if (cnn) return cnn->forward(x.reshape({x.size(0) * x.size(1), 3, kSub, kSub}));
    return tsf->forward(x);
  }
};

struct TrainSettings {
  int64_t epochs = 10;
  int64_t per_epoch = 0;  // samples per epoch (0: all)
  int64_t batch = 32;
  double lr = 1e-3, weight_decay = 1e-2;
};

struct TrainLog {
  std::vector<double> epoch_loss;
  double seconds = 0;
  int64_t samples_seen = 0;
};

inline TrainLog train_detector(Detector& d, const CubeSet& train, const TrainSettings& s,
                               const Device& device, uint64_t seed) {
  d.module().to(device);
  d.module().train();
  optim::AdamW opt(d.module().parameters(), {.lr = s.lr, .weight_decay = s.weight_decay});
  Generator gen(seed);
  std::vector<Sample> pool = all_samples(train);
  const int64_t per_epoch =
      s.per_epoch > 0 ? std::min<int64_t>(s.per_epoch, int64_t(pool.size())) : int64_t(pool.size());
  const int64_t batches = (per_epoch + s.batch - 1) / s.batch;
  // Positives are rare (10-25% of sub-patches): each head's positives are weighted by
  // (1 - p) / p of the train set (at most 5), so that the threshold 0.5 of the F1 is not a
  // threshold deep in the negatives' side.
  std::vector<float> pw;
  {
    const Tensor<float> all = targets(train, pool, d.heads);
    const std::vector<float> m = mean(all, {0}).to_vector();
    for (float p : m) pw.push_back(std::clamp((1.0f - p) / std::max(p, 1e-3f), 1.0f, 5.0f));
  }
  const Tensor<float> pos_weight = Tensor<float>::from_vector(pw, {int64_t(pw.size())}).to(device);
  kit::Progress progress("train " + d.name, s.epochs * batches, 5.0);
  TrainLog log;
  const auto start = std::chrono::steady_clock::now();
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= s.epochs; ++epoch) {
    for (int64_t i = int64_t(pool.size()) - 1; i > 0; --i)
      std::swap(pool[size_t(i)], pool[size_t(gen.randint(0, i + 1))]);
    double sum = 0;
    int64_t seen = 0;
    for (int64_t b0 = 0; b0 < per_epoch; b0 += s.batch) {
      const std::vector<Sample> items(pool.begin() + b0,
                                      pool.begin() + std::min(per_epoch, b0 + s.batch));
      std::vector<std::vector<int64_t>> frames(items.size());
      for (auto& f : frames) {
        if (d.single_frame()) {
          f = {gen.randint(0, kT)};
        } else {
          f.resize(kT);
          std::iota(f.begin(), f.end(), int64_t{0});
        }
      }
      const Tensor<float> x = clips(train, items, frames).to(device);
      const Tensor<float> y = targets(train, items, d.heads).to(device);
      const Tensor<float> loss = nn::functional::binary_cross_entropy_with_logits(
          d.forward(x), y, {.pos_weight = pos_weight});
      check_loss(loss, step);
      opt.zero_grad();
      loss.backward();
      opt.step();
      const double l = loss.item();
      sum += l * double(items.size());
      seen += int64_t(items.size());
      ++step;
      progress.update(step,
                      "epoch " + std::to_string(epoch) + "  loss " + kit::fmt(sum / double(seen)));
    }
    log.epoch_loss.push_back(sum / double(seen));
    log.samples_seen += seen;
  }
  log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  d.module().eval();
  return log;
}

// Probabilities [N, 4, heads] for every sub-patch of every cube of `set`; a CNN's are averaged
// over `frames` (the note evaluates all 8).
inline Tensor<float> predict(Detector& d, const CubeSet& set, const std::vector<int64_t>& frames,
                             const Device& device, const std::string& what) {
  NoGradGuard no_grad;
  d.module().eval();
  const std::vector<Sample> items = all_samples(set);
  const int64_t heads = int64_t(d.heads.size());
  std::vector<float> out(items.size() * size_t(heads));
  const int64_t batch = d.single_frame() ? 64 : 64;
  const int64_t total = int64_t(items.size());
  kit::Progress progress("predict " + d.name + " on " + what, (total + batch - 1) / batch, 5.0);
  for (int64_t b0 = 0, step = 0; b0 < total; b0 += batch, ++step) {
    const std::vector<Sample> chunk(items.begin() + b0,
                                    items.begin() + std::min(total, b0 + batch));
    std::vector<std::vector<int64_t>> f(chunk.size());
    for (auto& v : f) {
      if (d.single_frame()) {
        v = frames;
      } else {
        v.resize(kT);
        std::iota(v.begin(), v.end(), int64_t{0});
      }
    }
    const Tensor<float> x = clips(set, chunk, f).to(device);
    Tensor<float> p = sigmoid(d.forward(x));
    if (d.single_frame())
      p = mean(p.reshape({int64_t(chunk.size()), int64_t(frames.size()), heads}), {1});
    const std::vector<float> v = p.to(Device::cpu()).contiguous().to_vector();
    std::copy(v.begin(), v.end(), out.begin() + b0 * heads);
    progress.update(step + 1);
  }
  return Tensor<float>::from_vector(out, {set.size(), kSubs, heads});
}

// Per-artifact accuracy and F1 at threshold 0.5 over the sub-patches.
struct Detection {
  std::vector<double> accuracy, f1, positive_rate;
};

inline Detection detection_scores(const Tensor<float>& probs, const CubeSet& set,
                                  const std::vector<int>& heads) {
  const int64_t n = set.size() * kSubs, h = int64_t(heads.size());
  std::vector<double> truth(size_t(n * h)), pred(size_t(n * h));
  const float* p = probs.data_ptr();
  const float* l = set.labels.data_ptr();
  Detection d;
  std::vector<double> pos(size_t(h), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < h; ++k) {
      truth[size_t(i * h + k)] = l[i * kPeas + heads[size_t(k)]];
      pred[size_t(i * h + k)] = p[i * h + k] >= 0.5f ? 1.0 : 0.0;
      pos[size_t(k)] += truth[size_t(i * h + k)] / double(n);
    }
  const metrics::MultiLabelScores m = metrics::multilabel_scores(truth, pred, n, h);
  d.accuracy = m.per_label_accuracy;
  d.f1 = m.per_label_f1;
  d.positive_rate = pos;
  return d;
}

}  // namespace sstam
