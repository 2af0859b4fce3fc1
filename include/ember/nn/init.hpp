// Parameter initialisers (torch.nn.init): each fills a tensor in place, under NoGradGuard, and
// returns it. Random ones draw from an explicit Generator (default_generator() when none is
// given) in row-major element order, so a seed fixes the values bit for bit. Complex tensors
// draw both parts the way Tensor<T>::rand / randn do.
//
// Fans follow PyTorch's _calculate_fan_in_and_fan_out: a weight of shape [out, in, k...] has
// fan_in = in * prod(k) and fan_out = out * prod(k) (Linear's [out, in] is the case without k).
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/tensor.hpp>
#include <optional>
#include <type_traits>
#include <utility>

namespace ember::nn::init {

// The nonlinearity that follows a layer, for calculate_gain.
enum class Nonlinearity { Linear, Conv1d, Conv2d, Conv3d, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };

enum class FanMode { FanIn, FanOut };

// The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). `param` is the
// negative slope of LeakyReLU (0.01 when not given).
inline double calculate_gain(Nonlinearity nonlinearity,
                             std::optional<double> param = std::nullopt) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv1d:
    case Nonlinearity::Conv2d:
    case Nonlinearity::Conv3d:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: {
      const double slope = param.value_or(0.01);
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    case Nonlinearity::SELU:
      return 3.0 / 4.0;
  }
  return 1.0;
}

// (fan_in, fan_out) of a weight of shape [out, in, k...].
inline std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Shape& shape) {
  EMBER_CHECK(shape.size() >= 2,
              "init: fan in and fan out cannot be computed for a tensor with "
              "fewer than 2 dimensions, got shape ",
              shape_str(shape));
  int64_t receptive = 1;
  for (size_t d = 2; d < shape.size(); ++d) receptive *= shape[d];
  return {shape[1] * receptive, shape[0] * receptive};
}

// ---------------------------------------------------------------------- constant fills

template <class T>
Tensor<T> constant_(Tensor<T> t, std::type_identity_t<T> value) {
  NoGradGuard no_grad;
  t.fill_(value);
  return t;
}
template <class T>
Tensor<T> zeros_(Tensor<T> t) {
  return constant_(t, T(0));
}
template <class T>
Tensor<T> ones_(Tensor<T> t) {
  return constant_(t, T(1));
}

// ---------------------------------------------------------------------- random fills

// Uniform in [a, b).
template <class T>
Tensor<T> uniform_(Tensor<T> t, double a = 0.0, double b = 1.0,
                   Generator& gen = default_generator()) {
  static_assert(is_differentiable_v<T>, "uniform_: needs a floating-point or complex tensor");
  EMBER_CHECK(a <= b, "uniform_: expected a <= b, got a=", a, " b=", b);
  NoGradGuard no_grad;
  t.copy_(Tensor<T>::rand(t.shape(), gen, a, b));
  return t;
}

template <class T>
Tensor<T> normal_(Tensor<T> t, double mean = 0.0, double std = 1.0,
                  Generator& gen = default_generator()) {
  static_assert(is_differentiable_v<T>, "normal_: needs a floating-point or complex tensor");
  EMBER_CHECK(std >= 0.0, "normal_: expected std >= 0, got ", std);
  NoGradGuard no_grad;
  t.copy_(Tensor<T>::randn(t.shape(), gen, mean, std));
  return t;
}

// Normal(mean, std) restricted to [a, b] by redrawing values that fall outside (the
// truncated normal of ViT-style initialisation; PyTorch samples it by inverse CDF, so the
// values differ from torch's for the same seed, the distribution does not).
template <class T>
Tensor<T> trunc_normal_(Tensor<T> t, double mean = 0.0, double std = 1.0, double a = -2.0,
                        double b = 2.0, Generator& gen = default_generator()) {
  static_assert(std::is_floating_point_v<T>, "trunc_normal_: needs a real floating-point tensor");
  EMBER_CHECK(std > 0.0 && a < b && a <= mean + 5 * std && b >= mean - 5 * std,
              "trunc_normal_: expected std > 0 and an interval [a, b] near the mean, got mean=",
              mean, " std=", std, " a=", a, " b=", b);
  Tensor<T> v = Tensor<T>::empty(t.shape());
  T* p = v.data_ptr();
  for (int64_t i = 0; i < v.numel(); ++i) {
    double x;
    do x = mean + std * gen.normal();
    while (x < a || x > b);
    p[i] = T(x);
  }
  NoGradGuard no_grad;
  t.copy_(v);
  return t;
}

// ---------------------------------------------------------------------- scaled by the fans

// U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).
template <class T>
Tensor<T> xavier_uniform_(Tensor<T> t, double gain = 1.0, Generator& gen = default_generator()) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t.shape());
  if (t.numel() == 0) return t;
  const double a = gain * std::sqrt(6.0 / double(fan_in + fan_out));
  return uniform_(t, -a, a, gen);
}

// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
template <class T>
Tensor<T> xavier_normal_(Tensor<T> t, double gain = 1.0, Generator& gen = default_generator()) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t.shape());
  if (t.numel() == 0) return t;
  return normal_(t, 0.0, gain * std::sqrt(2.0 / double(fan_in + fan_out)), gen);
}

struct KaimingOptions {
  double a = 0.0;                 // negative slope of the LeakyReLU that follows (0 for ReLU)
  FanMode mode = FanMode::FanIn;  // FanIn keeps the forward variance, FanOut the backward one
  Nonlinearity nonlinearity = Nonlinearity::LeakyReLU;
};

namespace detail {
// std = gain / sqrt(fan) (He et al., 2015), the fan chosen by mode.
inline double kaiming_std(const Shape& shape, const KaimingOptions& opt, const char* op) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(shape);
  const int64_t fan = opt.mode == FanMode::FanIn ? fan_in : fan_out;
  EMBER_CHECK(fan > 0, op, ": the fan of shape ", shape_str(shape), " is zero");
  return calculate_gain(opt.nonlinearity, opt.a) / std::sqrt(double(fan));
}
}  // namespace detail

// U(-bound, bound) with bound = sqrt(3) * gain / sqrt(fan). PyTorch's Linear and Conv
// weights use this with a = sqrt(5), which gives bound = 1 / sqrt(fan_in).
template <class T>
Tensor<T> kaiming_uniform_(Tensor<T> t, KaimingOptions opt = {},
                           Generator& gen = default_generator()) {
  if (t.numel() == 0) return t;  // PyTorch skips empty tensors too
  const double bound = std::sqrt(3.0) * detail::kaiming_std(t.shape(), opt, "kaiming_uniform_");
  return uniform_(t, -bound, bound, gen);
}

template <class T>
Tensor<T> kaiming_normal_(Tensor<T> t, KaimingOptions opt = {},
                          Generator& gen = default_generator()) {
  if (t.numel() == 0) return t;
  return normal_(t, 0.0, detail::kaiming_std(t.shape(), opt, "kaiming_normal_"), gen);
}

}  // namespace ember::nn::init
