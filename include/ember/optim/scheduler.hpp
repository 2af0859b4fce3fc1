// Learning-rate schedules (torch.optim.lr_scheduler). Each wraps an Optimizer, records every
// group's lr at construction as its base lr, sets the lr for epoch 0 at once, and on each
// step() advances the epoch count by one and sets every group's lr again. Call step() once per
// epoch or per iteration, after optimizer.step(), as in PyTorch.
//
// The lr is a closed-form function of (base lr, epoch), PyTorch's _get_closed_form_lr: it
// equals PyTorch's chained update as long as nothing else changes the lr in between (do not
// stack two of these schedulers on one optimizer).
//
// ReduceLROnPlateau is different: it reacts to a metric, step(metric), and scales the current
// lr (torch.optim.lr_scheduler.ReduceLROnPlateau).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include <ember/core/tensor.hpp>
#include <ember/optim/optimizer.hpp>

namespace ember::optim {

namespace detail {

// The one entry `key` of a scheduler's state dict.
inline const ImplPtr& scheduler_entry(const StateDict& dict, const std::string& key,
                                      const std::string& op) {
  const AnyTensor* found = nullptr;
  for (const auto& [name, t] : dict) {
    if (name != key) continue;
    EMBER_CHECK(found == nullptr, op, ": entry '", key, "' appears twice");
    found = &t;
  }
  EMBER_CHECK(found && found->defined(), op, ": missing entry '", key, "'");
  return found->impl;
}

// The value of the int64 / float64 scalar entry `key`.
template <class T>
T scheduler_scalar(const StateDict& dict, const std::string& key, const std::string& op) {
  const ImplPtr& v = scheduler_entry(dict, key, op);
  EMBER_CHECK(v->dtype == dtype_v<T> && v->shape.empty(), op, ": entry '", key, "' has dtype ",
              dtype_name(v->dtype), " and shape ", shape_str(v->shape), "; expected a ",
              dtype_name(dtype_v<T>), " scalar");
  return Tensor<T>(v).item();
}

inline void check_scheduler_keys(const StateDict& dict, const std::vector<std::string>& keys,
                                 const std::string& op) {
  for (const auto& [name, t] : dict)
    EMBER_CHECK(std::find(keys.begin(), keys.end(), name) != keys.end(), op, ": unexpected entry '",
                name, "'");
}

}  // namespace detail

// The base of the closed-form schedulers; with a custom `schedule` it is a scheduler by itself.
class LRScheduler {
 public:
  // The lr of a group at `epoch` (0 at construction), from that group's base lr.
  using Schedule = std::function<double(double base_lr, int64_t epoch)>;

  LRScheduler(Optimizer& optimizer, Schedule schedule, std::string name = "LRScheduler")
      : optimizer_(optimizer), schedule_(std::move(schedule)), name_(std::move(name)) {
    for (size_t g = 0; g < optimizer_.num_groups(); ++g) base_lrs_.push_back(optimizer_.lr(g));
    apply();
  }
  virtual ~LRScheduler() = default;

  void step() {
    ++last_epoch_;
    apply();
  }
  // Each group's lr as this scheduler last set it.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  // "last_epoch" (int64 scalar) and "base_lrs" (float64, one per group). Loading does not
  // touch the optimizer, whose own state_dict holds its current lrs (as in PyTorch).
  StateDict state_dict() const {
    const int64_t n = int64_t(base_lrs_.size());
    return {{"last_epoch", Tensor<int64_t>::scalar(last_epoch_)},
            {"base_lrs", Tensor<double>::from_vector(base_lrs_, {n})}};
  }
  void load_state_dict(const StateDict& dict) {
    const std::string op = name_ + ".load_state_dict";
    detail::check_scheduler_keys(dict, {"last_epoch", "base_lrs"}, op);
    const int64_t epoch = detail::scheduler_scalar<int64_t>(dict, "last_epoch", op);
    EMBER_CHECK(epoch >= 0, op, ": negative last_epoch ", epoch);
    const ImplPtr& b = detail::scheduler_entry(dict, "base_lrs", op);
    EMBER_CHECK(b->dtype == DType::Float64 && b->shape == Shape{int64_t(base_lrs_.size())}, op,
                ": entry 'base_lrs' has dtype ", dtype_name(b->dtype), " and shape ",
                shape_str(b->shape), "; expected float64 of shape [", base_lrs_.size(), "]");
    base_lrs_ = Tensor<double>(b).to_vector();
    last_epoch_ = epoch;
    last_lr_.clear();
    for (double base : base_lrs_) last_lr_.push_back(schedule_(base, last_epoch_));
  }

 private:
  void apply() {
    EMBER_CHECK(optimizer_.num_groups() == base_lrs_.size(), name_, ".step: the optimizer has ",
                optimizer_.num_groups(), " parameter groups but had ", base_lrs_.size(),
                " when the scheduler was made");
    last_lr_.clear();
    for (size_t g = 0; g < base_lrs_.size(); ++g) {
      last_lr_.push_back(schedule_(base_lrs_[g], last_epoch_));
      optimizer_.set_lr(g, last_lr_.back());
    }
  }

  Optimizer& optimizer_;
  Schedule schedule_;
  std::string name_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

// lr = base * lr_lambda(epoch) (torch's LambdaLR: the function gives a factor).
class LambdaLR : public LRScheduler {
 public:
  LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> lr_lambda)
      : LRScheduler(
            optimizer, [f = std::move(lr_lambda)](double base, int64_t e) { return base * f(e); },
            "LambdaLR") {}
};

// lr = base * gamma^floor(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1)
      : LRScheduler(optimizer, make(step_size, gamma), "StepLR") {}

 private:
  static Schedule make(int64_t step_size, double gamma) {
    EMBER_CHECK(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
    EMBER_CHECK(gamma >= 0, "StepLR: gamma must be >= 0, got ", gamma);
    return [=](double base, int64_t e) { return base * std::pow(gamma, double(e / step_size)); };
  }
};

// lr = base * gamma^(number of milestones <= epoch); a milestone given twice counts twice.
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1)
      : LRScheduler(optimizer, make(std::move(milestones), gamma), "MultiStepLR") {}

 private:
  static Schedule make(std::vector<int64_t> milestones, double gamma) {
    EMBER_CHECK(gamma >= 0, "MultiStepLR: gamma must be >= 0, got ", gamma);
    std::sort(milestones.begin(), milestones.end());
    return [=](double base, int64_t e) {
      const auto passed =
          std::upper_bound(milestones.begin(), milestones.end(), e) - milestones.begin();
      return base * std::pow(gamma, double(passed));
    };
  }
};

// lr = base * gamma^epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma)
      : LRScheduler(optimizer, make(gamma), "ExponentialLR") {}

 private:
  static Schedule make(double gamma) {
    EMBER_CHECK(gamma >= 0, "ExponentialLR: gamma must be >= 0, got ", gamma);
    return [=](double base, int64_t e) { return base * std::pow(gamma, double(e)); };
  }
};

// lr = base * (1 - min(epoch, total_iters) / total_iters)^power: 0 from total_iters on.
class PolynomialLR : public LRScheduler {
 public:
  PolynomialLR(Optimizer& optimizer, int64_t total_iters, double power = 1.0)
      : LRScheduler(optimizer, make(total_iters, power), "PolynomialLR") {}

 private:
  static Schedule make(int64_t total, double power) {
    EMBER_CHECK(total > 0, "PolynomialLR: total_iters must be positive, got ", total);
    EMBER_CHECK(power >= 0, "PolynomialLR: power must be >= 0, got ", power);
    return [=](double base, int64_t e) {
      return base * std::pow(1.0 - double(std::min(e, total)) / double(total), power);
    };
  }
};
using PolyLR = PolynomialLR;

// lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2. Like PyTorch's it is
// periodic: after T_max the lr rises again (use CosineWarmupLR to stay at the minimum).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0)
      : LRScheduler(optimizer, make(T_max, eta_min), "CosineAnnealingLR") {}

 private:
  static Schedule make(int64_t T_max, double eta_min) {
    EMBER_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be positive, got ", T_max);
    EMBER_CHECK(eta_min >= 0, "CosineAnnealingLR: eta_min must be >= 0, got ", eta_min);
    return [=](double base, int64_t e) {
      return eta_min +
             (base - eta_min) * (1 + std::cos(std::numbers::pi * double(e) / double(T_max))) / 2;
    };
  }
};

// Linear warmup then cosine decay (the transformer schedule), with t = epoch, W = warmup_steps,
// T = total_steps:
//   t <  W:      lr = base * t / W                  (0 at t = 0; no warmup when W = 0)
//   W <= t <= T: lr = min_lr + (base - min_lr) * (1 + cos(pi * (t - W) / (T - W))) / 2
//   t >  T:      lr = min_lr
// So lr(0) = 0, lr(W) = base, lr((W + T) / 2) = (base + min_lr) / 2, lr(T) = min_lr.
// min_lr is one absolute value for every group.
class CosineWarmupLR : public LRScheduler {
 public:
  CosineWarmupLR(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double min_lr = 0)
      : LRScheduler(optimizer, make(warmup_steps, total_steps, min_lr), "CosineWarmupLR") {}

 private:
  static Schedule make(int64_t warmup, int64_t total, double min_lr) {
    EMBER_CHECK(warmup >= 0 && warmup < total,
                "CosineWarmupLR: expected 0 <= warmup_steps < "
                "total_steps, got warmup_steps ",
                warmup, " and total_steps ", total);
    EMBER_CHECK(min_lr >= 0, "CosineWarmupLR: min_lr must be >= 0, got ", min_lr);
    return [=](double base, int64_t t) {
      if (t < warmup) return base * double(t) / double(warmup);
      if (t >= total) return min_lr;
      const double progress = double(t - warmup) / double(total - warmup);
      return min_lr + (base - min_lr) * (1 + std::cos(std::numbers::pi * progress)) / 2;
    };
  }
};

// ------------------------------------------------------------------ ReduceLROnPlateau

enum class PlateauMode { Min, Max };    // whether the metric should go down or up
enum class ThresholdMode { Rel, Abs };  // what counts as an improvement (see is_better)

struct ReduceLROnPlateauOptions {
  PlateauMode mode = PlateauMode::Min;
  double factor = 0.1;    // new lr = lr * factor
  int64_t patience = 10;  // bad epochs tolerated before the lr drops
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::Rel;
  int64_t cooldown = 0;  // epochs after a drop during which bad epochs are not counted
  double min_lr = 0;     // for every group
  double eps = 1e-8;     // a drop smaller than this is skipped
};

class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {})
      : optimizer_(optimizer), o_(options) {
    EMBER_CHECK(o_.factor >= 0 && o_.factor < 1,
                "ReduceLROnPlateau: factor must be in [0, 1), got ", o_.factor);
    EMBER_CHECK(o_.patience >= 0 && o_.cooldown >= 0,
                "ReduceLROnPlateau: patience and cooldown "
                "must be >= 0, got ",
                o_.patience, " and ", o_.cooldown);
    EMBER_CHECK(o_.threshold >= 0 && o_.min_lr >= 0 && o_.eps >= 0,
                "ReduceLROnPlateau: threshold, "
                "min_lr and eps must be >= 0, got ",
                o_.threshold, ", ", o_.min_lr, ", ", o_.eps);
    best_ = worst();
    read_lrs();
  }

  // One epoch's metric (a NaN is never an improvement).
  void step(double metric) {
    ++last_epoch_;
    if (is_better(metric)) {
      best_ = metric;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;
    }
    if (num_bad_epochs_ > o_.patience) {
      for (size_t g = 0; g < optimizer_.num_groups(); ++g) {
        const double old_lr = optimizer_.lr(g), new_lr = std::max(old_lr * o_.factor, o_.min_lr);
        if (old_lr - new_lr > o_.eps) optimizer_.set_lr(g, new_lr);
      }
      cooldown_counter_ = o_.cooldown;
      num_bad_epochs_ = 0;
    }
    read_lrs();
  }

  const std::vector<double>& get_last_lr() const { return last_lr_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  int64_t last_epoch() const { return last_epoch_; }

  // "best" (float64), "num_bad_epochs", "cooldown_counter", "last_epoch" (int64 scalars).
  StateDict state_dict() const {
    return {{"best", Tensor<double>::scalar(best_)},
            {"num_bad_epochs", Tensor<int64_t>::scalar(num_bad_epochs_)},
            {"cooldown_counter", Tensor<int64_t>::scalar(cooldown_counter_)},
            {"last_epoch", Tensor<int64_t>::scalar(last_epoch_)}};
  }
  void load_state_dict(const StateDict& dict) {
    const std::string op = "ReduceLROnPlateau.load_state_dict";
    detail::check_scheduler_keys(dict, {"best", "num_bad_epochs", "cooldown_counter", "last_epoch"},
                                 op);
    const double best = detail::scheduler_scalar<double>(dict, "best", op);
    const int64_t bad = detail::scheduler_scalar<int64_t>(dict, "num_bad_epochs", op);
    const int64_t cool = detail::scheduler_scalar<int64_t>(dict, "cooldown_counter", op);
    const int64_t epoch = detail::scheduler_scalar<int64_t>(dict, "last_epoch", op);
    EMBER_CHECK(bad >= 0 && cool >= 0 && epoch >= 0, op, ": counters must be >= 0, got ", bad, ", ",
                cool, ", ", epoch);
    best_ = best;
    num_bad_epochs_ = bad;
    cooldown_counter_ = cool;
    last_epoch_ = epoch;
  }

 private:
  double worst() const {
    const double inf = std::numeric_limits<double>::infinity();
    return o_.mode == PlateauMode::Min ? inf : -inf;
  }
  // PyTorch's rule: rel min: a < best * (1 - threshold); abs min: a < best - threshold, and
  // the mirror images for max.
  bool is_better(double a) const {
    const bool rel = o_.threshold_mode == ThresholdMode::Rel;
    if (o_.mode == PlateauMode::Min)
      return a < (rel ? best_ * (1 - o_.threshold) : best_ - o_.threshold);
    return a > (rel ? best_ * (1 + o_.threshold) : best_ + o_.threshold);
  }
  void read_lrs() {
    last_lr_.clear();
    for (size_t g = 0; g < optimizer_.num_groups(); ++g) last_lr_.push_back(optimizer_.lr(g));
  }

  Optimizer& optimizer_;
  ReduceLROnPlateauOptions o_;
  double best_ = 0;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace ember::optim
