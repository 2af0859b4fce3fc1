// Training and evaluation of one arm on one split (papers/04-pmt-iqa.md §5): Adam with weight
// decay, batch 32, one random 48 x 48 crop (and a random horizontal flip) per image per epoch,
// lr divided by 10 after epoch 6 (one optimiser throughout: the official solver rebuilds Adam
// every epoch, resetting its moments). At test time the four corner crops are averaged. The
// epoch is selected on the validation references, never on the test split (the official
// solver keeps the best test SRCC over epochs).
//
// The regression target is q / 10, one unit per quality class, so that the L1 term and the
// cross-entropy of the 10 classes are on comparable scales when the losses are mixed; SRCC and
// PLCC do not depend on the unit.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ember/autograd/grad_mode.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/kit/progress.hpp>
#include <ember/metrics/correlation.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/optim/adam.hpp>
#include <string>
#include <vector>

#include "data.hpp"
#include "models.hpp"

namespace pmt_iqa {

using namespace ember;

enum class Loss { L1, Fixed, Pmt };

struct Arm {
  std::string key;    // metrics.json prefix
  std::string label;  // tables and figures
  bool multi_scale;
  Loss loss;
};

// The note's arms (i)-(iv); (v), last stage with PMT, is optional and not run by default.
inline std::vector<Arm> note_arms() {
  return {{"i_last_l1", "(i) last stage, L1", false, Loss::L1},
          {"ii_ms_l1", "(ii) MS, L1", true, Loss::L1},
          {"iii_ms_fixed", "(iii) MS, fixed 0.5/0.5", true, Loss::Fixed},
          {"iv_ms_pmt", "(iv) MS, PMT (full)", true, Loss::Pmt}};
}

struct TrainSettings {
  int epochs = 10;
  int64_t batch = 32;
  double lr = 1e-3;
  double weight_decay = 5e-4;
  int lr_drop_after = 6;  // epochs 7.. run at lr / 10
  int64_t width_mult = 1;
};

// The weights (regression, classification) of epoch t of E.
inline std::pair<double, double> loss_weights(Loss loss, int t, int epochs) {
  switch (loss) {
    case Loss::L1:
      return {1.0, 0.0};
    case Loss::Fixed:
      return {0.5, 0.5};
    case Loss::Pmt: {
      const double l1 = epochs > 1 ? double(t) / double(epochs - 1) : 1.0;
      return {l1, 1.0 - l1};
    }
  }
  return {1.0, 0.0};
}

struct Scores {
  double srcc = 0, plcc = 0;
};

struct EpochRecord {
  double train_loss = 0;
  Scores val, test;
};

struct RunResult {
  std::vector<EpochRecord> epochs;
  int selected_epoch = 0;  // 1-based, best validation SRCC (the later one on ties)
  Scores test;             // at the selected epoch
  std::vector<double> test_pred, test_target;  // quality, at the selected epoch
  std::vector<int> test_type;                  // distortion type per test image (-1 pristine)
  double seconds = 0;
};

// Crops [n, 3, 48, 48] of the 96 x 96 images `rows` of d.images at (top, left), mirrored where
// `flip`; built on the host.
inline Tensor<float> gather_crops(const Dataset& d, const std::vector<int>& rows,
                                  const std::vector<std::array<int, 3>>& where) {
  const int64_t n = int64_t(rows.size()), side = kRefSide, c = kCrop;
  Tensor<float> out = Tensor<float>::empty({n, 3, c, c});
  const float* src = d.images.data_ptr();
  float* dst = out.data_ptr();
  for (int64_t i = 0; i < n; ++i) {
    const auto [top, left, flip] = where[size_t(i)];
    for (int64_t ch = 0; ch < 3; ++ch)
      for (int64_t y = 0; y < c; ++y) {
        const float* row =
            src + ((int64_t(rows[size_t(i)]) * 3 + ch) * side + top + y) * side + left;
        float* o = dst + ((i * 3 + ch) * c + y) * c;
        for (int64_t x = 0; x < c; ++x) o[x] = row[flip ? c - 1 - x : x];
      }
  }
  return out;
}

// Predicted quality of the samples `idx`: the regression output averaged over the four corner
// crops, times 10 (back to the 0-100 scale).
inline std::vector<double> predict(IqaNet& model, const Dataset& d, const std::vector<int>& idx,
                                   const Device& device) {
  NoGradGuard no_grad;
  model.eval();
  const int corner = kRefSide - kCrop;
  std::vector<double> out(idx.size(), 0.0);
  const size_t chunk = 64;
  for (size_t b = 0; b < idx.size(); b += chunk) {
    const size_t e = std::min(idx.size(), b + chunk);
    std::vector<int> rows;
    std::vector<std::array<int, 3>> where;
    for (size_t i = b; i < e; ++i)
      for (int k = 0; k < 4; ++k) {
        rows.push_back(idx[i]);
        where.push_back({(k / 2) * corner, (k % 2) * corner, 0});
      }
    const std::vector<float> s =
        model.forward(gather_crops(d, rows, where).to(device)).score.to(Device::cpu()).to_vector();
    for (size_t i = b; i < e; ++i)
      for (int k = 0; k < 4; ++k) out[i] += 10.0 * double(s[(i - b) * 4 + size_t(k)]) / 4.0;
  }
  model.train();
  return out;
}

inline std::vector<double> qualities(const Dataset& d, const std::vector<int>& idx) {
  std::vector<double> q;
  for (int i : idx) q.push_back(d.samples[size_t(i)].quality);
  return q;
}

inline Scores correlations(const std::vector<double>& pred, const std::vector<double>& target) {
  return {metrics::spearman(pred, target), metrics::pearson(pred, target)};
}

// Trains `arm` on split.train from a model initialised by `seed`; evaluates validation and
// test every epoch and reports test at the best validation epoch.
inline RunResult train_arm(const Dataset& d, const Split& split, const Arm& arm,
                           const TrainSettings& ts, uint64_t seed, const Device& device,
                           const std::string& tag) {
  const auto start = std::chrono::steady_clock::now();
  Generator init_gen(seed), data_gen(seed ^ 0xc0ffeeULL);
  IqaNet model(arm.multi_scale, ts.width_mult, init_gen);
  double mean_target = 0;
  for (int i : split.train) mean_target += d.samples[size_t(i)].quality / 10.0;
  mean_target /= double(split.train.size());
  {
    NoGradGuard no_grad;
    model.set_score_offset(float(mean_target));
  }
  model.to(device);
  optim::Adam opt(model.parameters(), {.lr = ts.lr, .weight_decay = ts.weight_decay});

  const std::vector<double> val_target = qualities(d, split.val),
                            test_target = qualities(d, split.test);
  const int64_t n = int64_t(split.train.size());
  const int64_t steps_per_epoch = (n + ts.batch - 1) / ts.batch;
  kit::Progress progress(tag, int64_t(ts.epochs) * steps_per_epoch);
  RunResult r;
  std::vector<std::vector<double>> test_preds;
  std::vector<int> order = split.train;
  int64_t step = 0;
  for (int t = 0; t < ts.epochs; ++t) {
    opt.set_lr(0, t >= ts.lr_drop_after ? ts.lr / 10.0 : ts.lr);
    const auto [w_reg, w_cls] = loss_weights(arm.loss, t, ts.epochs);
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[size_t(data_gen.randint(0, int64_t(i)))]);
    double loss_sum = 0;
    for (int64_t b = 0; b < n; b += ts.batch) {
      const int64_t e = std::min(n, b + ts.batch);
      std::vector<int> rows(order.begin() + b, order.begin() + e);
      std::vector<std::array<int, 3>> where;
      std::vector<float> target;
      std::vector<int64_t> cls;
      for (int row : rows) {
        where.push_back({int(data_gen.randint(0, kRefSide - kCrop + 1)),
                         int(data_gen.randint(0, kRefSide - kCrop + 1)),
                         int(data_gen.randint(0, 2))});
        target.push_back(float(d.samples[size_t(row)].quality / 10.0));
        cls.push_back(d.samples[size_t(row)].cls);
      }
      const Prediction p = model.forward(gather_crops(d, rows, where).to(device));
      const Tensor<float> y = Tensor<float>::from_vector(target).to(device);
      Tensor<float> loss = mul(nn::functional::l1_loss(p.score, y), float(w_reg));
      if (w_cls > 0)
        loss = add(loss, mul(nn::functional::cross_entropy(
                                 p.logits, Tensor<int64_t>::from_vector(cls).to(device)),
                             float(w_cls)));
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += double(loss.item()) * double(e - b);
      ++step;
      char status[96];
      std::snprintf(status, sizeof status, "epoch %d  loss %.4f", t + 1, loss_sum / double(e));
      progress.update(step, status);
    }
    EpochRecord rec;
    rec.train_loss = loss_sum / double(n);
    rec.val = correlations(predict(model, d, split.val, device), val_target);
    test_preds.push_back(predict(model, d, split.test, device));
    rec.test = correlations(test_preds.back(), test_target);
    r.epochs.push_back(rec);
    std::printf("  %s epoch %d/%d: train loss %.4f  val SRCC %.4f  (weights L1 %.2f, CE %.2f)\n",
                tag.c_str(), t + 1, ts.epochs, rec.train_loss, rec.val.srcc, w_reg, w_cls);
    std::fflush(stdout);
  }
  int best = 0;
  for (int t = 1; t < int(r.epochs.size()); ++t)
    if (!(r.epochs[size_t(t)].val.srcc < r.epochs[size_t(best)].val.srcc)) best = t;
  r.selected_epoch = best + 1;
  r.test = r.epochs[size_t(best)].test;
  r.test_pred = test_preds[size_t(best)];
  r.test_target = test_target;
  for (int i : split.test) r.test_type.push_back(d.samples[size_t(i)].type);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace pmt_iqa
