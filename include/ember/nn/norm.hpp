// Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, InstanceNorm2d.
//
// Thin float32 Layers over ops/batch_norm.hpp, ops/layer_norm.hpp and ops/norm_more.hpp, with
// PyTorch's parameter and buffer names (weight, bias, running_mean, running_var,
// num_batches_tracked) and initial values (weight 1, bias 0, running_mean 0, running_var 1),
// so a PyTorch state_dict loads into them. Their gradients are those of the ops.
#pragma once

#include <cstdint>
#include <ember/nn/module.hpp>
#include <ember/ops/batch_norm.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/norm_more.hpp>
#include <optional>
#include <string>

namespace ember::nn {

namespace detail {

// ++counter for a scalar int64 buffer (num_batches_tracked), returning the new count. On the
// CPU in place; a buffer moved to a CUDA device (Module::to) is not readable from the host, so
// its value makes the round trip (8 bytes each way; the host-to-device copy from pageable
// memory is staged before cuda::copy returns, so the local may go out of scope).
inline int64_t increment_counter(const Tensor<int64_t>& counter) {
  if (counter.device().is_cpu()) return ++*counter.data_ptr();
  int64_t count = 0;
  ember::detail::device_copy(&count, Device::cpu(), counter.data_ptr(), counter.device(),
                             sizeof count);
  ++count;
  ember::detail::device_copy(counter.data_ptr(), counter.device(), &count, Device::cpu(),
                             sizeof count);
  return count;
}

}  // namespace detail

struct BatchNormOptions {
  double eps = 1e-5;
  // Weight of the new batch statistics in the running ones; nullopt means a cumulative
  // average (1 / num_batches_tracked), as momentum=None in PyTorch.
  std::optional<double> momentum = 0.1;
  bool affine = true;
  bool track_running_stats = true;
};

// Shared by BatchNorm1d / BatchNorm2d; they differ only in the input ranks they accept.
class BatchNormBase : public Layer {
 public:
  Tensor<float> weight, bias;               // [C]; undefined without affine
  Tensor<float> running_mean, running_var;  // [C]; undefined without track_running_stats
  Tensor<int64_t> num_batches_tracked;      // scalar; undefined without track_running_stats

  BatchNormBase(int64_t num_features, BatchNormOptions options)
      : num_features_(num_features), options_(options) {
    EMBER_CHECK(num_features > 0, "BatchNorm: num_features must be positive, got ", num_features);
    if (options.affine) {
      weight = register_parameter("weight", Tensor<float>::ones({num_features}));
      bias = register_parameter("bias", Tensor<float>::zeros({num_features}));
    }
    if (options.track_running_stats) {
      running_mean = register_buffer("running_mean", Tensor<float>::zeros({num_features}));
      running_var = register_buffer("running_var", Tensor<float>::ones({num_features}));
      num_batches_tracked = register_buffer("num_batches_tracked", Tensor<int64_t>::zeros({}));
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    check_input(x);
    EMBER_CHECK(x.size(1) == num_features_, name(), "(", num_features_, "): expected ",
                num_features_, " channels in dim 1, got input of shape ", shape_str(x.shape()));
    double factor = options_.momentum.value_or(0.0);
    if (is_training() && options_.track_running_stats) {
      const int64_t count = detail::increment_counter(num_batches_tracked);
      if (!options_.momentum) factor = 1.0 / double(count);
    }
    // Without running stats the batch statistics are used in eval too (as PyTorch does);
    // running_mean / running_var are then undefined and batch_norm updates nothing.
    return batch_norm(x, running_mean, running_var, weight, bias,
                      is_training() || !options_.track_running_stats, factor, options_.eps);
  }

  int64_t num_features() const { return num_features_; }
  std::string extra_repr() const override {
    return std::to_string(num_features_) + ", eps=" + repr_number(options_.eps) + ", momentum=" +
           (options_.momentum ? repr_number(*options_.momentum) : std::string("None")) +
           ", affine=" + (options_.affine ? "True" : "False") +
           ", track_running_stats=" + (options_.track_running_stats ? "True" : "False");
  }

 protected:
  virtual void check_input(const Tensor<float>& x) const = 0;

 private:
  int64_t num_features_;
  BatchNormOptions options_;
};

// Batch normalisation of [N, C] or [N, C, L] inputs.
class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {})
      : BatchNormBase(num_features, options) {}
  std::string name() const override { return "BatchNorm1d"; }

 protected:
  void check_input(const Tensor<float>& x) const override {
    EMBER_CHECK(x.dim() == 2 || x.dim() == 3,
                "BatchNorm1d: expected a 2-D or 3-D input, got shape ", shape_str(x.shape()));
  }
};

// Batch normalisation of [N, C, H, W] inputs.
class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {})
      : BatchNormBase(num_features, options) {}
  std::string name() const override { return "BatchNorm2d"; }

 protected:
  void check_input(const Tensor<float>& x) const override {
    EMBER_CHECK(x.dim() == 4, "BatchNorm2d: expected a 4-D input [N, C, H, W], got shape ",
                shape_str(x.shape()));
  }
};

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;
  bool bias = true;  // only with elementwise_affine
};

class LayerNorm : public Layer {
 public:
  Tensor<float> weight, bias;  // normalized_shape; undefined without affine

  explicit LayerNorm(Shape normalized_shape, LayerNormOptions options = {})
      : normalized_shape_(std::move(normalized_shape)), options_(options) {
    EMBER_CHECK(!normalized_shape_.empty(), "LayerNorm: normalized_shape must not be empty");
    if (options.elementwise_affine) {
      weight = register_parameter("weight", Tensor<float>::ones(normalized_shape_));
      if (options.bias) bias = register_parameter("bias", Tensor<float>::zeros(normalized_shape_));
    }
  }
  explicit LayerNorm(int64_t normalized_size, LayerNormOptions options = {})
      : LayerNorm(Shape{normalized_size}, options) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    return layer_norm(x, normalized_shape_, weight, bias, options_.eps);
  }

  const Shape& normalized_shape() const { return normalized_shape_; }
  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override {
    std::string s = "(";
    for (size_t i = 0; i < normalized_shape_.size(); ++i)
      s += std::to_string(normalized_shape_[i]) + (i + 1 < normalized_shape_.size() ? ", " : "");
    if (normalized_shape_.size() == 1) s += ",";
    return s + "), eps=" + repr_number(options_.eps) +
           ", elementwise_affine=" + (options_.elementwise_affine ? "True" : "False");
  }

 private:
  Shape normalized_shape_;
  LayerNormOptions options_;
};

struct GroupNormOptions {
  double eps = 1e-5;
  bool affine = true;
};

class GroupNorm : public Layer {
 public:
  Tensor<float> weight, bias;  // [num_channels]; undefined without affine

  GroupNorm(int64_t num_groups, int64_t num_channels, GroupNormOptions options = {})
      : num_groups_(num_groups), num_channels_(num_channels), options_(options) {
    EMBER_CHECK(num_groups > 0 && num_channels > 0 && num_channels % num_groups == 0,
                "GroupNorm: num_channels (", num_channels, ") must be divisible by num_groups (",
                num_groups, ")");
    if (options.affine) {
      weight = register_parameter("weight", Tensor<float>::ones({num_channels}));
      bias = register_parameter("bias", Tensor<float>::zeros({num_channels}));
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() >= 2 && x.size(1) == num_channels_, "GroupNorm(", num_groups_, ", ",
                num_channels_, "): expected an input [N, ", num_channels_, ", *], got shape ",
                shape_str(x.shape()));
    return group_norm(x, num_groups_, weight, bias, options_.eps);
  }

  std::string name() const override { return "GroupNorm"; }
  std::string extra_repr() const override {
    return std::to_string(num_groups_) + ", " + std::to_string(num_channels_) +
           ", eps=" + repr_number(options_.eps) +
           ", affine=" + (options_.affine ? "True" : "False");
  }

 private:
  int64_t num_groups_, num_channels_;
  GroupNormOptions options_;
};

struct InstanceNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = false;               // PyTorch's InstanceNorm default
  bool track_running_stats = false;  // PyTorch's InstanceNorm default
};

// Instance normalisation of [N, C, H, W] (or unbatched [C, H, W]) inputs.
class InstanceNorm2d : public Layer {
 public:
  Tensor<float> weight, bias;               // [C]; only with affine
  Tensor<float> running_mean, running_var;  // [C]; only with track_running_stats
  Tensor<int64_t> num_batches_tracked;

  explicit InstanceNorm2d(int64_t num_features, InstanceNormOptions options = {})
      : num_features_(num_features), options_(options) {
    EMBER_CHECK(num_features > 0, "InstanceNorm2d: num_features must be positive, got ",
                num_features);
    if (options.affine) {
      weight = register_parameter("weight", Tensor<float>::ones({num_features}));
      bias = register_parameter("bias", Tensor<float>::zeros({num_features}));
    }
    if (options.track_running_stats) {
      running_mean = register_buffer("running_mean", Tensor<float>::zeros({num_features}));
      running_var = register_buffer("running_var", Tensor<float>::ones({num_features}));
      num_batches_tracked = register_buffer("num_batches_tracked", Tensor<int64_t>::zeros({}));
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK((x.dim() == 4 && x.size(1) == num_features_) ||
                    (x.dim() == 3 && x.size(0) == num_features_),
                "InstanceNorm2d(", num_features_, "): expected an input [N, ", num_features_,
                ", H, W] or [", num_features_, ", H, W], got shape ", shape_str(x.shape()));
    if (x.dim() == 3) return forward(x.unsqueeze(0)).squeeze(0);
    const bool use_input_stats = is_training() || !options_.track_running_stats;
    if (is_training() && options_.track_running_stats)
      detail::increment_counter(num_batches_tracked);
    return instance_norm(x, running_mean, running_var, weight, bias, use_input_stats,
                         options_.momentum, options_.eps);
  }

  std::string name() const override { return "InstanceNorm2d"; }
  std::string extra_repr() const override {
    return std::to_string(num_features_) + ", eps=" + repr_number(options_.eps) +
           ", momentum=" + repr_number(options_.momentum) +
           ", affine=" + (options_.affine ? "True" : "False") +
           ", track_running_stats=" + (options_.track_running_stats ? "True" : "False");
  }

 private:
  int64_t num_features_;
  InstanceNormOptions options_;
};

}  // namespace ember::nn
