// The arms of the KNO example as one interface: KNO (r = 8 and r = 1) and the FNO baseline, each
// wrapped so that the training and evaluation loops see a single map in a canonical layout:
//   Burgers:        u0 [B, X]                 -> u(., 1) [B, X]
//   Navier–Stokes:  window [B, T_in, X, Y]    -> next frame [B, X, Y]
// KNO reads channels last ([B, X, (Y), T_in]) and predicts a whole window, of which the last frame
// is the next state (KoopmanLab's rollout); FNO reads channels first and predicts one frame.
#pragma once

#include <cstdint>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/spectral.hpp>
#include <functional>
#include <memory>
#include <string>

namespace kno {

using namespace ember;

struct Operator {
  std::string name;
  std::shared_ptr<nn::Module> module;
  std::function<Tensor<float>(const Tensor<float>&)> forward;
  // KNO's reconstruction term 0.5 MSE(dec(tanh(enc(x))), x) on the canonical input; empty
  // for FNO, which has no encoder/decoder pair.
  std::function<Tensor<float>(const Tensor<float>&)> reconstruction_loss;

  // Real numbers in the parameters (a complex weight counts twice).
  int64_t real_parameters() const {
    int64_t n = 0;
    for (const auto& p : module->parameters()) {
      const bool complex = p.impl->dtype == DType::Complex64 || p.impl->dtype == DType::Complex128;
      n += p.impl->numel() * (complex ? 2 : 1);
    }
    return n;
  }
};

struct Sizes {
  int64_t o = 16;      // KNO observables = FNO width
  int64_t modes = 16;  // retained Fourier modes (per axis)
  int64_t t_in = 10;   // Navier–Stokes input window
};

inline Operator kno1d(const Sizes& s, int64_t power, Generator& gen) {
  auto m = std::make_shared<nn::KNO1d>(
      1, nn::KNOOptions{.o = s.o, .modes = s.modes, .power = power}, gen);
  Operator op{"KNO r=" + std::to_string(power), m, {}, {}};
  op.forward = [m](const Tensor<float>& x) { return m->forward(x.unsqueeze(2)).squeeze(2); };
  op.reconstruction_loss = [m](const Tensor<float>& x) {
    const Tensor<float> xs = x.unsqueeze(2);
    return nn::functional::mse_loss(m->reconstruct(xs), xs);
  };
  return op;
}

inline Operator fno1d(const Sizes& s, Generator& gen) {
  auto m = std::make_shared<nn::FNO1d>(s.o, s.modes,
                                       nn::FNOOptions{.in_channels = 1, .out_channels = 1}, gen);
  Operator op{"FNO", m, {}, {}};
  op.forward = [m](const Tensor<float>& x) { return m->forward(x.unsqueeze(1)).squeeze(1); };
  return op;
}

inline Operator kno2d(const Sizes& s, int64_t power, Generator& gen) {
  auto m = std::make_shared<nn::KNO2d>(
      s.t_in, nn::KNOOptions{.o = s.o, .modes = s.modes, .power = power}, gen);
  Operator op{"KNO r=" + std::to_string(power), m, {}, {}};
  const int64_t last = s.t_in - 1;
  op.forward = [m, last](const Tensor<float>& w) {
    return m->forward(w.permute({0, 2, 3, 1})).select(3, last);
  };
  op.reconstruction_loss = [m](const Tensor<float>& w) {
    const Tensor<float> x = w.permute({0, 2, 3, 1});
    return nn::functional::mse_loss(m->reconstruct(x), x);
  };
  return op;
}

inline Operator fno2d(const Sizes& s, Generator& gen) {
  auto m = std::make_shared<nn::FNO2d>(
      s.o, s.modes, nn::FNOOptions{.in_channels = s.t_in, .out_channels = 1}, gen);
  Operator op{"FNO", m, {}, {}};
  op.forward = [m](const Tensor<float>& w) { return m->forward(w).select(1, 0); };
  return op;
}

}  // namespace kno
