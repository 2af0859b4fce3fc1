// Training one arm on one task and split, the official protocol with the note's fixes:
// full-batch AdamW, cross-entropy on the training nodes, validation accuracy computed in eval
// mode (dropout off) after every epoch, and the test metrics of the epoch with the best
// validation accuracy (the first such epoch on ties). Metrics are ember::metrics', called as
// (y_true, y_pred), so macro precision and recall are not swapped as in MGTAB-GNN.py.
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
#include <ember/ops/indexing.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/optim/adam.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "models.hpp"

namespace mgtab {

using namespace ember;

// A random 70/20/10 train/val/test split of the nodes (MGTAB-GNN.py's proportions).
struct Split {
  std::vector<int64_t> train, val, test;
};

// With val = 1 - train (calibration's fit / held-out split) the test part is empty.
inline Split random_split(int64_t n, uint64_t seed, double train = 0.7, double val = 0.2) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
  const auto a = int64_t(double(n) * train), b = a + int64_t(double(n) * val);
  Split s;
  s.train.assign(order.begin(), order.begin() + a);
  s.val.assign(order.begin() + a, order.begin() + b);
  s.test.assign(order.begin() + b, order.end());
  EMBER_CHECK(!s.train.empty() && !s.val.empty() && (!s.test.empty() || train + val >= 1.0),
              "mgtab: ", n, " nodes are too few for a train/val/test split");
  return s;
}

struct TrainSettings {
  int64_t epochs = 100;
  double lr = 1e-3, weight_decay = 5e-4;
  int64_t hidden = 32;
  double dropout = 0.3;
};

// Scores of one prediction on a set of nodes.
struct Scores {
  double accuracy = 0, precision = 0, recall = 0, f1 = 0;
};

inline std::vector<int64_t> pick(const std::vector<int64_t>& v, const std::vector<int64_t>& idx) {
  std::vector<int64_t> out;
  out.reserve(idx.size());
  for (int64_t i : idx) out.push_back(v[size_t(i)]);
  return out;
}

inline Scores score(const std::vector<int64_t>& labels, const std::vector<int64_t>& pred,
                    const std::vector<int64_t>& nodes, int64_t classes) {
  const std::vector<int64_t> t = pick(labels, nodes), p = pick(pred, nodes);
  // Every class in the average (scikit-learn's labels=range(classes)), so a collapsed model
  // that never predicts a class is charged an F1 of 0 for it.
  const metrics::MacroScores m = metrics::macro_scores(t, p, classes, true);
  return {metrics::accuracy(t, p), m.precision, m.recall, m.f1};
}

struct RunResult {
  Scores test;             // at the best-validation epoch
  double best_val = -1;    // that epoch's validation accuracy
  int64_t best_epoch = 0;  // 1-based
  double seconds = 0;
  std::vector<double> val_curve;  // validation accuracy per epoch
};

// Trains `arm` on labels with `classes` classes; `progress` counts epochs.
inline RunResult train_arm(const Arm& arm, const Tensor<float>& x, const GraphInput& g,
                           const std::vector<int64_t>& labels, int64_t classes, const Split& split,
                           const TrainSettings& s, uint64_t seed, const Device& device,
                           kit::Progress* progress = nullptr, int64_t progress_base = 0,
                           const std::string& status = "") {
  Net net(arm, x.size(1), s.hidden, classes, s.dropout, seed);
  net.to(device);
  optim::AdamW opt(net.parameters(), {.lr = s.lr, .weight_decay = s.weight_decay});
  const auto train_idx =
      Tensor<int64_t>::from_vector(split.train, {int64_t(split.train.size())}).to(device);
  const auto train_y =
      Tensor<int64_t>::from_vector(pick(labels, split.train), {int64_t(split.train.size())})
          .to(device);
  RunResult r;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t epoch = 1; epoch <= s.epochs; ++epoch) {
    net.train();
    const Tensor<float> logits = net.forward(x, g);
    const Tensor<float> loss =
        nn::functional::cross_entropy(index_select(logits, 0, train_idx), train_y);
    check_loss(loss, epoch);
    opt.zero_grad();
    loss.backward();
    opt.step();

    std::vector<int64_t> pred;
    {
      NoGradGuard no_grad;
      net.eval();
      pred = argmax(net.forward(x, g), 1).to(Device::cpu()).to_vector();
    }
    const double val = metrics::accuracy(pick(labels, split.val), pick(pred, split.val));
    r.val_curve.push_back(val);
    if (val > r.best_val) {
      r.best_val = val;
      r.best_epoch = epoch;
      r.test = score(labels, pred, split.test, classes);
    }
    if (progress)
      progress->update(progress_base + epoch,
                       status + "  loss " + kit::fmt(loss.item()) + "  val " + kit::fmt(val, 3));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// The logistic regression used for calibration: trained on `fit`, scored on `held_out`, no
// model selection. Full-batch AdamW, lr 0.01, as the LogReg arm.
inline double logreg_accuracy(const Tensor<float>& x, const std::vector<int64_t>& labels,
                              int64_t classes, const std::vector<int64_t>& fit,
                              const std::vector<int64_t>& held_out, int64_t epochs, uint64_t seed) {
  const Arm arm{"logreg", "LogReg", Arch::LogReg, {}};
  Net net(arm, x.size(1), 1, classes, 0.0, seed);
  optim::AdamW opt(net.parameters(), {.lr = 1e-2, .weight_decay = 5e-4});
  const auto idx = Tensor<int64_t>::from_vector(fit, {int64_t(fit.size())});
  const Tensor<float> xf = index_select(x, 0, idx);
  const auto y = Tensor<int64_t>::from_vector(pick(labels, fit), {int64_t(fit.size())});
  for (int64_t e = 0; e < epochs; ++e) {
    const Tensor<float> loss = nn::functional::cross_entropy(net.forward(xf, {}), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  NoGradGuard no_grad;
  const auto h = Tensor<int64_t>::from_vector(held_out, {int64_t(held_out.size())});
  const std::vector<int64_t> pred = argmax(net.forward(index_select(x, 0, h), {}), 1).to_vector();
  return metrics::accuracy(pick(labels, held_out), pred);
}

}  // namespace mgtab
