// Dropout as a layer: active in training mode, the identity after eval(). With a seed it owns
// its Generator, so a model's dropout masks are reproducible independently of everything else
// that draws random numbers; without one it draws from default_generator().
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/dropout.hpp>
#include <optional>
#include <string>

namespace ember::nn {

struct DropoutOptions {
  double p = 0.5;                     // probability of zeroing an element
  std::optional<uint64_t> seed = {};  // own Generator(seed); default_generator() when absent
};

class Dropout : public Layer {
 public:
  explicit Dropout(DropoutOptions options) : p_(options.p) {
    EMBER_CHECK(p_ >= 0.0 && p_ <= 1.0, "Dropout: probability must be in [0, 1], got ", p_);
    if (options.seed) own_gen_.emplace(*options.seed);
  }
  explicit Dropout(double p = 0.5) : Dropout(DropoutOptions{.p = p}) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    return dropout(x, p_, is_training(), own_gen_ ? *own_gen_ : default_generator());
  }

  double p() const { return p_; }
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override { return "p=" + repr_number(p_); }

 private:
  double p_;
  std::optional<Generator> own_gen_;
};

}  // namespace ember::nn
