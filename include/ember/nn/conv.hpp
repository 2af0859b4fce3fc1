// Convolution modules: Conv1d, Conv2d, Conv3d and ConvTranspose2d over the functions of
// ops/conv.hpp (float32, like every Layer).
//
// Initialised as PyTorch: the weight by kaiming_uniform_ with a = sqrt(5), which is
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then the bias from the same U(-1/sqrt(fan_in), ...),
// where fan_in = weight.size(1) * prod(kernel_size) (for ConvTranspose, whose weight is
// [in, out/groups, k...], that is out/groups * prod(k), as PyTorch computes it too).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <ember/core/random.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/conv.hpp>

namespace ember::nn {

// nn.ConvNd's keyword arguments (padding_mode 'zeros' only).
template <size_t N>
struct ConvNdOptions {
  ExpandingArray<N> stride = 1;
  ExpandingArray<N> padding = 0;
  ExpandingArray<N> dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  bool same_padding = false;  // padding='same'
};
using Conv1dOptions = ConvNdOptions<1>;
using Conv2dOptions = ConvNdOptions<2>;
using Conv3dOptions = ConvNdOptions<3>;

struct ConvTranspose2dOptions {
  ExpandingArray<2> stride = 1;
  ExpandingArray<2> padding = 0;
  ExpandingArray<2> output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  ExpandingArray<2> dilation = 1;
};

namespace detail {

// Weight [dim0, dim1, k...] and optional bias [out], initialised as PyTorch's _ConvNd.
template <size_t N>
void init_conv(Module& m, Tensor<float>& weight, Tensor<float>& bias, int64_t dim0, int64_t dim1,
               const ExpandingArray<N>& k, int64_t out, bool with_bias, Generator& gen) {
  Shape shape{dim0, dim1};
  for (size_t i = 0; i < N; ++i) shape.push_back(k[i]);
  weight = m.register_parameter("weight", Tensor<float>::empty(shape));
  init::kaiming_uniform_(weight, {.a = std::sqrt(5.0)}, gen);
  if (with_bias) {
    bias = m.register_parameter("bias", Tensor<float>::zeros({out}));
    const int64_t fan_in = init::calculate_fan_in_and_fan_out(shape).first;
    if (fan_in > 0) {
      const double bound = 1.0 / std::sqrt(double(fan_in));
      init::uniform_(bias, -bound, bound, gen);
    }
  }
}

inline std::string conv_repr(int64_t in, int64_t out, const std::string& k, const std::string& s,
                             const std::string& p, const std::string& d, int64_t groups, bool bias) {
  return std::to_string(in) + ", " + std::to_string(out) + ", kernel_size=" + k + ", stride=" + s +
         ", padding=" + p + ", dilation=" + d + ", groups=" + std::to_string(groups) +
         ", bias=" + (bias ? "true" : "false");
}

}  // namespace detail

template <size_t N>
class ConvNd : public Layer {
 public:
  Tensor<float> weight;  // [out_channels, in_channels / groups, k...]
  Tensor<float> bias;    // [out_channels]; undefined without bias

  ConvNd(int64_t in_channels, int64_t out_channels, ExpandingArray<N> kernel_size,
         ConvNdOptions<N> options = {}, Generator& gen = default_generator())
      : in_(in_channels), out_(out_channels), k_(kernel_size), opt_(options) {
    EMBER_CHECK(in_channels > 0 && out_channels > 0 && options.groups > 0 &&
                    in_channels % options.groups == 0 && out_channels % options.groups == 0,
                "Conv", N, "d: in_channels (", in_channels, ") and out_channels (", out_channels,
                ") must be positive and divisible by groups (", options.groups, ")");
    for (size_t i = 0; i < N; ++i)
      EMBER_CHECK(kernel_size[i] > 0, "Conv", N, "d: kernel_size must be positive, got ",
                  kernel_size.str());
    detail::init_conv<N>(*this, weight, bias, out_channels, in_channels / options.groups,
                         kernel_size, out_channels, options.bias, gen);
  }
  ConvNd(int64_t in_channels, int64_t out_channels, ExpandingArray<N> kernel_size, Generator& gen)
      : ConvNd(in_channels, out_channels, kernel_size, ConvNdOptions<N>{}, gen) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    const ConvOptions<N> o{.stride = opt_.stride, .padding = opt_.padding,
                           .dilation = opt_.dilation, .groups = opt_.groups,
                           .same_padding = opt_.same_padding};
    if constexpr (N == 1) return conv1d(x, weight, bias, o);
    else if constexpr (N == 2) return conv2d(x, weight, bias, o);
    else return conv3d(x, weight, bias, o);
  }

  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  std::string name() const override { return "Conv" + std::to_string(N) + "d"; }
  std::string extra_repr() const override {
    return detail::conv_repr(in_, out_, k_.str(), opt_.stride.str(),
                             opt_.same_padding ? std::string("'same'") : opt_.padding.str(),
                             opt_.dilation.str(), opt_.groups, bias.defined());
  }

 private:
  int64_t in_, out_;
  ExpandingArray<N> k_;
  ConvNdOptions<N> opt_;
};

using Conv1d = ConvNd<1>;
using Conv2d = ConvNd<2>;
using Conv3d = ConvNd<3>;

class ConvTranspose2d : public Layer {
 public:
  Tensor<float> weight;  // [in_channels, out_channels / groups, kh, kw]
  Tensor<float> bias;    // [out_channels]; undefined without bias

  ConvTranspose2d(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size,
                  ConvTranspose2dOptions options = {}, Generator& gen = default_generator())
      : in_(in_channels), out_(out_channels), k_(kernel_size), opt_(options) {
    EMBER_CHECK(in_channels > 0 && out_channels > 0 && options.groups > 0 &&
                    in_channels % options.groups == 0 && out_channels % options.groups == 0,
                "ConvTranspose2d: in_channels (", in_channels, ") and out_channels (",
                out_channels, ") must be positive and divisible by groups (", options.groups, ")");
    EMBER_CHECK(kernel_size[0] > 0 && kernel_size[1] > 0,
                "ConvTranspose2d: kernel_size must be positive, got ", kernel_size.str());
    detail::init_conv<2>(*this, weight, bias, in_channels, out_channels / options.groups,
                         kernel_size, out_channels, options.bias, gen);
  }
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size,
                  Generator& gen)
      : ConvTranspose2d(in_channels, out_channels, kernel_size, ConvTranspose2dOptions{}, gen) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    return conv_transpose2d(x, weight, bias,
                            {.stride = opt_.stride, .padding = opt_.padding,
                             .output_padding = opt_.output_padding, .groups = opt_.groups,
                             .dilation = opt_.dilation});
  }

  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  std::string name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override {
    return detail::conv_repr(in_, out_, k_.str(), opt_.stride.str(), opt_.padding.str(),
                             opt_.dilation.str(), opt_.groups, bias.defined()) +
           ", output_padding=" + opt_.output_padding.str();
  }

 private:
  int64_t in_, out_;
  ExpandingArray<2> k_;
  ConvTranspose2dOptions opt_;
};

}  // namespace ember::nn
