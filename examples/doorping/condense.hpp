// Dataset condensation by gradient matching (DC, Zhao et al. 2021, as baadd's DC/main.py runs
// it), clean or under attack. Each iteration draws a fresh ConvNet; each of its outer steps
// matches, class by class, the weight gradients of the synthetic images to those of a real
// batch (the layer-wise 1 - cos distance D of nn/functional/gradient_matching.hpp), moves the
// synthetic images along -dD/dS (SGD lr 0.1, momentum 0.5) and, except after the last outer
// step, trains the network on them for `inner` steps (SGD lr 0.01). dD/dS is a second-order
// gradient: the synthetic gradients come from grad(..., {.create_graph = true}).
//
// NAIVEATTACK: 1% of the real images carry the white patch and the target label throughout.
// DOORPING: the same images carry a trigger that update_trigger moves after the inner
// training (once per iteration here, after every inner training at the paper's sizes).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ember/autograd/engine.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/kit/progress.hpp>
#include <ember/nn/functional/gradient_matching.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>
#include <ember/optim/sgd.hpp>
#include <string>
#include <vector>

#include "convnet.hpp"
#include "options.hpp"
#include "poison.hpp"
#include "trigger.hpp"

namespace doorping {

enum class Attack { none, naive, doorping };

inline const char* attack_name(Attack a) {
  switch (a) {
    case Attack::none:
      return "clean DC";
    case Attack::naive:
      return "NAIVEATTACK + DC";
    case Attack::doorping:
      return "DOORPING + DC";
  }
  return "?";
}

// Seconds spent in each part of the condensation loop (the profile the README reports).
struct PhaseTimes {
  double sample = 0;          // drawing and stamping the real batches
  double real_grad = 0;       // forward + backward on the real batch (first order)
  double syn_grad = 0;        // forward + create_graph backward on the synthetic images, and D
  double match_backward = 0;  // dD/dS: the backward through the double-backward graph
  double image_step = 0;      // the SGD step on S and reading D
  double inner = 0;           // training the network on S
  double trigger = 0;         // DOORPING's trigger updates
  double total() const {
    return sample + real_grad + syn_grad + match_backward + image_step + inner + trigger;
  }
};

struct Condensed {
  Tensor<float> images;          // [classes * ipc, 1, 28, 28], normalised, on the run's device
  double shift = 0;              // mean |S - S_start| per pixel, normalised units
  std::vector<int64_t> labels;   // class of each image: 0 x ipc, 1 x ipc, ...
  Tensor<float> trigger;         // the attack's final trigger; undefined for clean DC
  Tensor<float> first_trigger;   // DOORPING's random starting trigger
  std::vector<double> distance;  // D per iteration, averaged over its outer steps
  std::vector<TriggerStep> trigger_updates;
  int64_t poisoned = 0;
  PhaseTimes times;
};

// The random streams of a run, the same for every arm, so that the arms differ only in their
// poisoning: the poisoned subset (shared by both attacks), the synthetic images' start, the
// networks of the iterations, the real batches, and the trigger.
inline uint64_t stream_seed(uint64_t seed, uint64_t stream) {
  return seed * 1000003ULL + stream * 7919ULL + 1;
}

inline Condensed condense(const Tensor<float>& train_images,
                          const std::vector<int64_t>& train_labels, Attack attack, const Sizes& s,
                          uint64_t seed, Device dev) {
  namespace F = ember::nn::functional;
  using clock = std::chrono::steady_clock;
  auto since = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  Generator pool_gen(stream_seed(seed, 1)), syn_gen(stream_seed(seed, 2)),
      net_gen(stream_seed(seed, 3)), batch_gen(stream_seed(seed, 4)),
      trigger_gen(stream_seed(seed, 5));
  RealPool pool(train_images, train_labels, attack == Attack::none ? 0.0 : s.poison_fraction,
                pool_gen);
  const Tensor<float> mask = patch_mask(dev);
  Condensed out;
  out.poisoned = pool.poisoned();
  Tensor<float> trigger = Tensor<float>::zeros({1, 1, kSide, kSide}, dev);
  if (attack == Attack::naive) trigger = white_trigger(dev);
  if (attack == Attack::doorping) trigger = out.first_trigger = random_trigger(trigger_gen, dev);

  const int64_t ipc = s.ipc;
  Tensor<float> syn;
  if (s.init_real) {  // ipc images of each class from the (poisoned) pool, as DC's --init real
    std::vector<Tensor<float>> parts;
    for (int64_t c = 0; c < kClasses; ++c) {
      parts.push_back(pool.batch(c, ipc, trigger, mask, syn_gen));
      EMBER_CHECK(parts.back().size(0) == ipc, "condense: class ", c, " has ", parts.back().size(0),
                  " real images, fewer than ipc = ", ipc);
    }
    syn = ember::cat(parts, 0).contiguous();
  } else {
    syn = Tensor<float>::randn({kClasses * ipc, 1, kSide, kSide}, syn_gen).to(dev);
  }
  syn.requires_grad_();
  const Tensor<float> start = syn.detach().clone();
  for (int64_t c = 0; c < kClasses; ++c)
    for (int64_t i = 0; i < ipc; ++i) out.labels.push_back(c);
  const Tensor<int64_t> syn_labels = index_tensor(out.labels, dev);
  ember::optim::SGD opt_img(std::vector<ember::AnyTensor>{syn}, {.lr = 0.1, .momentum = 0.5});

  PhaseTimes& t = out.times;
  ember::kit::Progress progress(std::string("condense: ") + attack_name(attack), s.iterations);
  for (int64_t it = 0; it < s.iterations; ++it) {
    ConvNet net(s.width, s.hidden, kSide, net_gen);
    net.to(dev);
    const std::vector<Tensor<float>> params = net.param_tensors();
    ember::optim::SGD opt_net(net.parameters(), {.lr = 0.01});
    double d_sum = 0;
    for (int64_t ol = 0; ol < s.outer; ++ol) {
      Tensor<float> d;
      for (int64_t c = 0; c < kClasses; ++c) {
        auto t0 = clock::now();
        const Tensor<float> xr = pool.batch(c, s.batch_real, trigger, mask, batch_gen);
        t.sample += since(t0);

        t0 = clock::now();
        std::vector<Tensor<float>> g_real = ember::grad<float>(
            {F::cross_entropy(net.forward(xr), Tensor<int64_t>::full({xr.size(0)}, c, dev))},
            params);
        for (Tensor<float>& g : g_real) g = g.detach();
        t.real_grad += since(t0);

        t0 = clock::now();
        const Tensor<float> xs = syn.narrow(0, c * ipc, ipc);
        const std::vector<Tensor<float>> g_syn = ember::grad<float>(
            {F::cross_entropy(net.forward(xs), Tensor<int64_t>::full({ipc}, c, dev))}, params, {},
            {.create_graph = true});
        const Tensor<float> term = F::gradient_match_distance(g_syn, g_real);
        d = d.defined() ? ember::add(d, term) : term;
        t.syn_grad += since(t0);
      }
      auto t0 = clock::now();
      const Tensor<float> g = ember::grad<float>({d}, {syn})[0];
      t.match_backward += since(t0);

      t0 = clock::now();
      syn.set_grad(g);
      opt_img.step();
      d_sum += host_value(d) / double(kClasses);
      t.image_step += since(t0);
      if (ol == s.outer - 1) break;

      t0 = clock::now();
      const Tensor<float> xs = syn.detach();
      for (int64_t il = 0; il < s.inner; ++il) {  // the synthetic set is one batch (<= 256)
        opt_net.zero_grad();
        F::cross_entropy(net.forward(xs), syn_labels).backward();
        opt_net.step();
      }
      t.inner += since(t0);

      if (attack == Attack::doorping && (s.trigger_every_inner || ol == s.outer - 2)) {
        t0 = clock::now();
        out.trigger_updates.push_back(update_trigger(net, trigger, mask, pool, s.trigger_steps,
                                                     s.trigger_batch, trigger_gen));
        t.trigger += since(t0);
      }
    }
    out.distance.push_back(d_sum / double(s.outer));
    char status[128];
    std::snprintf(status, sizeof status, "D/class %.4f", out.distance.back());
    progress.update(it + 1, status);
  }
  out.images = syn.detach();
  out.shift = host_value(ember::mean(ember::abs(ember::sub(out.images, start))));
  if (attack != Attack::none) out.trigger = trigger;
  return out;
}

}  // namespace doorping
