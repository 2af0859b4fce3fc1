// The evaluation protocol (evaluate_synset in baadd's DC code): freshly initialised ConvNets
// trained on a set (SGD lr 0.01, momentum 0.9, weight decay 5e-4, batches of 256, lr x 0.1
// from epoch E/2 + 1), then scored on the test images:
//   CTA         accuracy on the clean test images;
//   ASR         the fraction of all test images, stamped with the trigger, classified as the
//               target class (the official definition);
//   strict ASR  the same over the test images whose true class is not the target.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ember/autograd/grad_mode.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/kit/progress.hpp>
#include <ember/metrics/summary.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/optim/sgd.hpp>
#include <memory>
#include <string>
#include <vector>

#include "convnet.hpp"
#include "options.hpp"
#include "poison.hpp"

namespace doorping {

struct TestSet {
  Tensor<float> images;  // normalised, on the run's device
  std::vector<int64_t> labels;
};

// One arm's scores, one entry per evaluation network; asr[j] / strict[j] for trigger j.
struct Scores {
  std::vector<double> cta;
  std::vector<std::vector<double>> asr, strict;
  double seconds = 0;
};

struct MeanStd {
  double mean = 0, std = 0;
};

// Mean and sample standard deviation (0 for a single value).
inline MeanStd mean_std(const std::vector<double>& v) {
  if (v.empty()) return {std::nan(""), std::nan("")};
  return {ember::metrics::mean(v), v.size() > 1 ? ember::metrics::sample_std(v) : 0.0};
}

inline std::vector<int64_t> predict(ConvNet& net, const Tensor<float>& x) {
  ember::NoGradGuard no_grad;
  std::vector<int64_t> out;
  for (int64_t start = 0; start < x.size(0); start += 500) {
    const int64_t n = std::min<int64_t>(500, x.size(0) - start);
    const std::vector<int64_t> p = ember::argmax(net.forward(x.narrow(0, start, n)), 1).to_vector();
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// CTA, then ASR and strict ASR for each trigger, added to `scores`.
inline void score(ConvNet& net, const TestSet& test, const std::vector<Tensor<float>>& triggers,
                  const Tensor<float>& mask, Scores& scores) {
  const std::vector<int64_t> clean = predict(net, test.images);
  const auto n = int64_t(test.labels.size());
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) right += clean[size_t(i)] == test.labels[size_t(i)];
  scores.cta.push_back(double(right) / double(n));
  scores.asr.resize(triggers.size());
  scores.strict.resize(triggers.size());
  for (size_t j = 0; j < triggers.size(); ++j) {
    const std::vector<int64_t> hit = predict(net, stamp(test.images, triggers[j], mask));
    int64_t to_target = 0, others = 0, others_to_target = 0;
    for (int64_t i = 0; i < n; ++i) {
      const bool t = hit[size_t(i)] == kTarget;
      to_target += t;
      if (test.labels[size_t(i)] != kTarget) ++others, others_to_target += t;
    }
    scores.asr[j].push_back(double(to_target) / double(n));
    scores.strict[j].push_back(others ? double(others_to_target) / double(others) : std::nan(""));
  }
}

struct TrainPlan {
  int64_t epochs = 1;
  int64_t batch = 256;
  bool lr_drop = true;  // lr x 0.1 from epoch epochs / 2 + 1
};

// Trains `net` on (images, labels) with the protocol's SGD.
inline void train_net(ConvNet& net, const Tensor<float>& images, const std::vector<int64_t>& labels,
                      const TrainPlan& plan, Generator& gen) {
  namespace F = ember::nn::functional;
  const Device dev = images.device();
  const auto n = int64_t(labels.size());
  const ember::optim::SGDOptions base{.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4};
  auto opt = std::make_unique<ember::optim::SGD>(net.parameters(), base);
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  for (int64_t ep = 1; ep <= plan.epochs; ++ep) {
    // The reference code builds a new optimizer at the drop (its momentum starts again).
    if (plan.lr_drop && ep == plan.epochs / 2 + 1) {
      ember::optim::SGDOptions dropped = base;
      dropped.lr = base.lr * 0.1;
      opt = std::make_unique<ember::optim::SGD>(net.parameters(), dropped);
    }
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
    for (int64_t start = 0; start < n; start += plan.batch) {
      const int64_t m = std::min(plan.batch, n - start);
      const std::vector<int64_t> idx(order.begin() + start, order.begin() + start + m);
      std::vector<int64_t> y(static_cast<size_t>(m));
      for (int64_t i = 0; i < m; ++i) y[size_t(i)] = labels[size_t(idx[size_t(i)])];
      const Tensor<float> x = ember::index_select(images, 0, index_tensor(idx, dev));
      opt->zero_grad();
      F::cross_entropy(net.forward(x), index_tensor(y, dev)).backward();
      opt->step();
    }
  }
}

// `nets` fresh ConvNets (network i initialised from the same stream in every arm) trained on
// the set, each scored on the test set with every trigger.
inline Scores evaluate(const std::string& name, const Tensor<float>& images,
                       const std::vector<int64_t>& labels, const TrainPlan& plan,
                       const TestSet& test, const std::vector<Tensor<float>>& triggers,
                       const Sizes& s, uint64_t seed, Device dev) {
  const auto start = std::chrono::steady_clock::now();
  const Tensor<float> mask = patch_mask(dev);
  Scores scores;
  ember::kit::Progress progress("evaluate: " + name, s.eval_nets);
  for (int64_t i = 0; i < s.eval_nets; ++i) {
    Generator init(seed * 1000003ULL + 424242ULL + uint64_t(i)), order(seed + 99ULL + uint64_t(i));
    ConvNet net(s.width, s.hidden, kSide, init);
    net.to(dev);
    train_net(net, images, labels, plan, order);
    score(net, test, triggers, mask, scores);
    char status[96];
    std::snprintf(status, sizeof status, "net %lld: CTA %.4f", (long long)(i + 1),
                  scores.cta.back());
    progress.update(i + 1, status);
  }
  scores.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return scores;
}

}  // namespace doorping
