// Training and evaluation of one operator on each task, with KoopmanLab's recipe: loss
// 5 MSE(prediction, target) + 0.5 MSE(reconstruction, input) (the second term only for KNO),
// Adam lr 5e-3 with coupled weight decay 1e-4, StepLR(100 epochs, 0.5); on Navier–Stokes the
// loss runs through the whole training rollout, each predicted frame fed back as input.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ember/autograd/anomaly.hpp>
#include <ember/kit/progress.hpp>
#include <ember/kit/table.hpp>
#include <ember/metrics/regression.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/shape.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/scheduler.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "operators.hpp"

namespace kno {

struct TrainSpec {
  int64_t epochs = 100;
  int64_t batch = 20;
  double lr = 5e-3, weight_decay = 1e-4;
  int64_t lr_step = 100;  // epochs
  double lr_gamma = 0.5;
  int64_t rollout = 5;  // Navier–Stokes training horizon T_out
};

struct TrainLog {
  std::vector<double> epoch_loss;
  double seconds = 0;
};

// Shuffled mini-batches of sample indices, reshuffled each epoch from the generator.
inline std::vector<Tensor<int64_t>> batches(int64_t n, int64_t batch, Generator& gen) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[size_t(i)], order[size_t(gen.next_u64() % uint64_t(i + 1))]);
  std::vector<Tensor<int64_t>> out;
  for (int64_t s = 0; s < n; s += batch) {
    const int64_t m = std::min(batch, n - s);
    out.push_back(Tensor<int64_t>::from_vector({order.begin() + s, order.begin() + s + m}, {m}));
  }
  return out;
}

// The generic loop: `loss(batch indices)` builds the loss of one mini-batch.
template <class Loss>
TrainLog train_loop(Operator& op, const TrainSpec& spec, int64_t samples, const std::string& phase,
                    uint64_t seed, Loss&& loss_of) {
  optim::Adam opt(op.module->parameters(), {.lr = spec.lr, .weight_decay = spec.weight_decay});
  optim::StepLR schedule(opt, spec.lr_step, spec.lr_gamma);
  Generator shuffle(seed);
  const int64_t per_epoch = (samples + spec.batch - 1) / spec.batch;
  kit::Progress progress(phase, spec.epochs * per_epoch);
  TrainLog log;
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < spec.epochs; ++epoch) {
    double sum = 0;
    for (const Tensor<int64_t>& idx : batches(samples, spec.batch, shuffle)) {
      const Tensor<float> loss = loss_of(idx);
      check_loss(loss, step);
      opt.zero_grad();
      loss.backward();
      opt.step();
      sum += double(loss.item());
      ++step;
      progress.update(step, "epoch " + std::to_string(epoch + 1) + "  loss " +
                                kit::fmt(sum / double(step - epoch * per_epoch)));
    }
    schedule.step();
    log.epoch_loss.push_back(sum / double(per_epoch));
  }
  log.seconds = progress.elapsed();
  return log;
}

// Burgers: u0 -> u(., 1) on the training grid.
inline TrainLog train_burgers(Operator& op, const Tensor<float>& u0, const Tensor<float>& u1,
                              const TrainSpec& spec, const Device& dev, uint64_t seed) {
  return train_loop(op, spec, u0.size(0), "burgers " + op.name, seed,
                    [&](const Tensor<int64_t>& idx) {
                      const Tensor<float> x = index_select(u0, 0, idx).to(dev),
                                          y = index_select(u1, 0, idx).to(dev);
                      Tensor<float> loss = mul(nn::functional::mse_loss(op.forward(x), y), 5.0f);
                      if (op.reconstruction_loss)
                        loss = add(loss, mul(op.reconstruction_loss(x), 0.5f));
                      return loss;
                    });
}

// Navier–Stokes: frames [S, F, X, Y]; input frames [0, t_in), targets [t_in, t_in + rollout).
inline TrainLog train_navier_stokes(Operator& op, const Tensor<float>& frames, int64_t t_in,
                                    const TrainSpec& spec, const Device& dev, uint64_t seed) {
  return train_loop(
      op, spec, frames.size(0), "navier-stokes " + op.name, seed, [&](const Tensor<int64_t>& idx) {
        const Tensor<float> batch = index_select(frames, 0, idx).to(dev);
        const Tensor<float> x0 = batch.narrow(1, 0, t_in);
        Tensor<float> window = x0, pred_loss;
        for (int64_t k = 0; k < spec.rollout; ++k) {
          const Tensor<float> next = op.forward(window);
          const Tensor<float> l = nn::functional::mse_loss(next, batch.select(1, t_in + k));
          pred_loss = k == 0 ? l : add(pred_loss, l);
          window =
              cat(std::vector<Tensor<float>>{window.narrow(1, 1, t_in - 1), next.unsqueeze(1)}, 1);
        }
        Tensor<float> loss = mul(pred_loss, 5.0f / float(spec.rollout));
        if (op.reconstruction_loss) loss = add(loss, mul(op.reconstruction_loss(x0), 0.5f));
        return loss;
      });
}

// ------------------------------------------------------------------ evaluation

// The model's predictions for every sample, in batches, without a graph; on the CPU.
inline Tensor<float> predict_burgers(Operator& op, const Tensor<float>& u0, const Device& dev) {
  NoGradGuard no_grad;
  std::vector<Tensor<float>> parts;
  for (int64_t s = 0; s < u0.size(0); s += 50)
    parts.push_back(op.forward(u0.narrow(0, s, std::min<int64_t>(50, u0.size(0) - s)).to(dev))
                        .to(Device::cpu()));
  return cat(parts, 0);
}

// Rollout of `steps` frames from the first t_in of each sample: [S, steps, X, Y].
inline Tensor<float> rollout(Operator& op, const Tensor<float>& frames, int64_t t_in, int64_t steps,
                             const Device& dev) {
  NoGradGuard no_grad;
  std::vector<Tensor<float>> parts;
  for (int64_t s = 0; s < frames.size(0); s += 20) {
    Tensor<float> window =
        frames.narrow(0, s, std::min<int64_t>(20, frames.size(0) - s)).narrow(1, 0, t_in).to(dev);
    std::vector<Tensor<float>> out;
    for (int64_t k = 0; k < steps; ++k) {
      const Tensor<float> next = op.forward(window);
      out.push_back(next.unsqueeze(1).to(Device::cpu()));
      window = cat(std::vector<Tensor<float>>{window.narrow(1, 1, t_in - 1), next.unsqueeze(1)}, 1);
    }
    parts.push_back(cat(out, 1));
  }
  return cat(parts, 0);
}

// Mean over samples of the per-sample relative L2 error (the FNO lineage's metric).
inline double mean_rel_l2(const Tensor<float>& truth, const Tensor<float>& pred) {
  return metrics::mean_relative_l2(truth.contiguous().to_vector(), pred.contiguous().to_vector(),
                                   truth.size(0));
}

struct RolloutErrors {
  std::vector<double> rel_l2, mse;  // per rollout step
  double mean_rel_l2() const {
    return std::accumulate(rel_l2.begin(), rel_l2.end(), 0.0) / double(rel_l2.size());
  }
};

inline RolloutErrors rollout_errors(const Tensor<float>& truth, const Tensor<float>& pred) {
  RolloutErrors e;
  for (int64_t k = 0; k < pred.size(1); ++k) {
    const Tensor<float> t = truth.select(1, k).contiguous(), p = pred.select(1, k).contiguous();
    e.rel_l2.push_back(mean_rel_l2(t, p));
    e.mse.push_back(metrics::mse(t.to_vector(), p.to_vector()));
  }
  return e;
}

}  // namespace kno
