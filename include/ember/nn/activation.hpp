// Activation modules: thin Layers over the functions of ops/activation.hpp, for use inside
// Sequential. Their gradients are those of the ops. Also Identity and Flatten, the shape-only
// layers that sit between the others.
#pragma once

#include <cstdint>
#include <ember/nn/module.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/unary.hpp>
#include <string>

namespace ember::nn {

class ReLU : public Layer {
 public:
  Tensor<float> forward(const Tensor<float>& x) override { return relu(x); }
  std::string name() const override { return "ReLU"; }
};

class LeakyReLU : public Layer {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope_(negative_slope) {}
  Tensor<float> forward(const Tensor<float>& x) override { return leaky_relu(x, negative_slope_); }
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override {
    return "negative_slope=" + repr_number(negative_slope_);
  }

 private:
  double negative_slope_;
};

class ELU : public Layer {
 public:
  explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
  Tensor<float> forward(const Tensor<float>& x) override { return elu(x, alpha_); }
  std::string name() const override { return "ELU"; }
  std::string extra_repr() const override { return "alpha=" + repr_number(alpha_); }

 private:
  double alpha_;
};

class GELU : public Layer {
 public:
  explicit GELU(GeluApproximate approximate = GeluApproximate::None) : approximate_(approximate) {}
  Tensor<float> forward(const Tensor<float>& x) override { return gelu(x, approximate_); }
  std::string name() const override { return "GELU"; }
  std::string extra_repr() const override {
    return approximate_ == GeluApproximate::Tanh ? "approximate='tanh'" : "approximate='none'";
  }

 private:
  GeluApproximate approximate_;
};

class Sigmoid : public Layer {
 public:
  Tensor<float> forward(const Tensor<float>& x) override { return sigmoid(x); }
  std::string name() const override { return "Sigmoid"; }
};

class Tanh : public Layer {
 public:
  Tensor<float> forward(const Tensor<float>& x) override { return tanh(x); }
  std::string name() const override { return "Tanh"; }
};

class Softplus : public Layer {
 public:
  explicit Softplus(SoftplusOptions options = {}) : options_(options) {}
  Tensor<float> forward(const Tensor<float>& x) override { return softplus(x, options_); }
  std::string name() const override { return "Softplus"; }
  std::string extra_repr() const override {
    return "beta=" + repr_number(options_.beta) + ", threshold=" + repr_number(options_.threshold);
  }

 private:
  SoftplusOptions options_;
};

class SiLU : public Layer {
 public:
  Tensor<float> forward(const Tensor<float>& x) override { return silu(x); }
  std::string name() const override { return "SiLU"; }
};

class Identity : public Layer {
 public:
  Tensor<float> forward(const Tensor<float>& x) override { return x; }
  std::string name() const override { return "Identity"; }
};

// Flattens dims start_dim..end_dim into one (a view where the strides allow, else a copy).
class Flatten : public Layer {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor<float> forward(const Tensor<float>& x) override { return x.flatten(start_dim_, end_dim_); }
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override {
    return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
  }

 private:
  int64_t start_dim_, end_dim_;
};

}  // namespace ember::nn
