// Pooling and resizing modules: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d and
// Upsample, thin Layers over ops/pool.hpp and ops/upsample.hpp (no parameters).
#pragma once

#include <string>

#include <ember/nn/module.hpp>
#include <ember/ops/pool.hpp>
#include <ember/ops/upsample.hpp>

namespace ember::nn {

class MaxPool2d : public Layer {
 public:
  explicit MaxPool2d(ExpandingArray<2> kernel_size, MaxPool2dOptions options = {})
      : k_(kernel_size), opt_(options) {}
  Tensor<float> forward(const Tensor<float>& x) override { return max_pool2d(x, k_, opt_); }
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override {
    return "kernel_size=" + k_.str() + ", stride=" + (opt_.stride[0] ? opt_.stride : k_).str() +
           ", padding=" + opt_.padding.str() + ", dilation=" + opt_.dilation.str() +
           ", ceil_mode=" + (opt_.ceil_mode ? "true" : "false");
  }

 private:
  ExpandingArray<2> k_;
  MaxPool2dOptions opt_;
};

class AvgPool2d : public Layer {
 public:
  explicit AvgPool2d(ExpandingArray<2> kernel_size, AvgPool2dOptions options = {})
      : k_(kernel_size), opt_(options) {}
  Tensor<float> forward(const Tensor<float>& x) override { return avg_pool2d(x, k_, opt_); }
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override {
    return "kernel_size=" + k_.str() + ", stride=" + (opt_.stride[0] ? opt_.stride : k_).str() +
           ", padding=" + opt_.padding.str();
  }

 private:
  ExpandingArray<2> k_;
  AvgPool2dOptions opt_;
};

class AdaptiveAvgPool2d : public Layer {
 public:
  explicit AdaptiveAvgPool2d(ExpandingArray<2> output_size) : size_(output_size) {}
  Tensor<float> forward(const Tensor<float>& x) override { return adaptive_avg_pool2d(x, size_); }
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override { return "output_size=" + size_.str(); }

 private:
  ExpandingArray<2> size_;
};

class AdaptiveMaxPool2d : public Layer {
 public:
  explicit AdaptiveMaxPool2d(ExpandingArray<2> output_size) : size_(output_size) {}
  Tensor<float> forward(const Tensor<float>& x) override { return adaptive_max_pool2d(x, size_); }
  std::string name() const override { return "AdaptiveMaxPool2d"; }
  std::string extra_repr() const override { return "output_size=" + size_.str(); }

 private:
  ExpandingArray<2> size_;
};

// nn.Upsample: interpolate with fixed options (size or scale_factor, mode, align_corners).
class Upsample : public Layer {
 public:
  explicit Upsample(InterpolateOptions options) : opt_(std::move(options)) {}
  Tensor<float> forward(const Tensor<float>& x) override { return interpolate(x, opt_); }
  std::string name() const override { return "Upsample"; }
  std::string extra_repr() const override {
    std::string s = opt_.mode == InterpolateMode::Bilinear ? "mode='bilinear'" : "mode='nearest'";
    if (!opt_.scale_factor.empty()) s = "scale_factor=" + repr_number(opt_.scale_factor[0]) + ", " + s;
    return s;
  }

 private:
  InterpolateOptions opt_;
};

}  // namespace ember::nn
