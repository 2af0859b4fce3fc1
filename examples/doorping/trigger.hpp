// DOORPING's trigger update (update_trigger in baadd's DC code): pick the hidden-FC neuron
// whose incoming weights have the largest sum of |w| (top-1), then move the trigger so that
// the neuron's pre-activation on triggered inputs reaches alpha times its value at the
// update's start: minimise mean((a_k(t) - alpha a_k(t0))^2) with Adam (lr 0.08, betas 0.9 /
// 0.99), the gradient masked to the patch, stopping once the loss is below 0.5.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/autograd/engine.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/optim/adam.hpp>
#include <vector>

#include "convnet.hpp"
#include "poison.hpp"

namespace doorping {

inline constexpr double kAlpha = 10.0;
inline constexpr double kTriggerLr = 0.08;
inline constexpr double kTriggerStop = 0.5;

struct TriggerStep {
  int64_t neuron = -1;
  int64_t steps = 0;  // Adam steps taken
  double first_loss = 0, last_loss = 0;
};

// The hidden unit whose weight row has the largest sum of absolute values.
inline int64_t pick_neuron(const ConvNet& net) {
  const Tensor<float>& w = net.hidden_weight();
  const std::vector<float> v = w.to_vector();
  const int64_t rows = w.size(0), cols = w.size(1);
  int64_t best = 0;
  double best_sum = -1;
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += std::abs(double(v[size_t(r * cols + c)]));
    if (s > best_sum) best_sum = s, best = r;
  }
  return best;
}

// Updates `trigger` in place (a new tensor, no graph) on a batch of up to `batch` poisoned
// images drawn from the pool's clean originals.
inline TriggerStep update_trigger(ConvNet& net, Tensor<float>& trigger, const Tensor<float>& mask,
                                  const RealPool& pool, int64_t max_steps, int64_t batch,
                                  Generator& gen) {
  TriggerStep out;
  out.neuron = pick_neuron(net);
  const int64_t p = pool.poisoned();
  std::vector<int64_t> idx(static_cast<size_t>(p));
  for (int64_t i = 0; i < p; ++i) idx[size_t(i)] = i;
  const int64_t n = std::min(batch, p);
  for (int64_t i = 0; i < n; ++i) std::swap(idx[size_t(i)], idx[size_t(gen.randint(i, p))]);
  idx.resize(size_t(n));
  const Device dev = trigger.device();
  const Tensor<float> x = ember::index_select(pool.poison_base(), 0, index_tensor(idx, dev));
  const Tensor<int64_t> k = index_tensor({out.neuron}, dev);

  Tensor<float> t = trigger.detach().clone();
  t.requires_grad_();
  ember::optim::Adam opt(std::vector<ember::AnyTensor>{t},
                         {.lr = kTriggerLr, .beta1 = 0.9, .beta2 = 0.99});
  net.eval();
  Tensor<float> target;
  for (int64_t step = 0; step < max_steps; ++step) {
    const Tensor<float> a = ember::index_select(net.hidden(stamp(x, t, mask)), 1, k);
    if (step == 0) target = ember::mul(a.detach(), float(kAlpha));
    const Tensor<float> loss = ember::nn::functional::mse_loss(a, target);
    out.last_loss = host_value(loss);
    if (step == 0) out.first_loss = out.last_loss;
    if (out.last_loss < kTriggerStop) break;
    const Tensor<float> g = ember::grad<float>({loss}, {t})[0];
    t.set_grad(ember::mul(g, mask));  // only the patch may change
    opt.step();
    ++out.steps;
  }
  net.train();
  trigger = t.detach();
  return out;
}

}  // namespace doorping
