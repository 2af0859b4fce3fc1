// Convolutions (conv1d / conv2d / conv3d), transposed convolutions and unfold / fold, with
// PyTorch's semantics: NC(D)(H)W inputs (an unbatched C(D)(H)W input is accepted too),
// weight [out, in/groups, k...] (transposed: [in, out/groups, k...]), stride, zero padding
// (or "same", stride 1 only), dilation and groups (depthwise included).
//
// Kernels: backend/conv.hpp, on the operands' device (CPU: backend/cpu/conv.hpp, im2col + one
// large GEMM per group and chunk of samples, Winograd F(2x2, 3x3) for 3x3 stride-1
// convolutions; CUDA: cuda/ember/cuda/conv.cuh, im2col / col2im kernels and cuBLAS).
//
// Autograd. A convolution y = A_w x is bilinear in (x, w), and everything is expressed with
// three ops that are each other's derivatives, so second (and higher) derivatives of every
// variant come for free:
//   conv_op(x, w)            = A_w x                      (the forward)
//   conv_t_op(g, w)          = A_wᵀ g                     (input gradient, = conv_transpose)
//   conv_w_op(x, g)          = ∂<g, A_w x>/∂w             (weight gradient)
// with  d conv_op   : gx = conv_t_op(g, w),      gw = conv_w_op(x, g)
//       d conv_t_op : gg = conv_op(gz, w),       gw = conv_w_op(gz, g)
//       d conv_w_op : gx = conv_t_op(g, gW),     gg = conv_op(x, gW).
// Each rule skips the gradients that are not required.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <ember/backend/conv.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/expanding_array.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/upsample.hpp>

namespace ember {

// Options of conv1d / conv2d / conv3d (torch.nn.functional.convNd's keyword arguments).
// same_padding is padding='same' (output size = input size; stride 1 only; an odd total
// padding puts the extra element at the end, as PyTorch does). padding is ignored then.
template <size_t N>
struct ConvOptions {
  ExpandingArray<N> stride = 1;
  ExpandingArray<N> padding = 0;
  ExpandingArray<N> dilation = 1;
  int64_t groups = 1;
  bool same_padding = false;
};
using Conv1dOptions = ConvOptions<1>;
using Conv2dOptions = ConvOptions<2>;
using Conv3dOptions = ConvOptions<3>;

// Options of conv_transposeNd (torch.nn.functional.conv_transposeNd's keyword arguments).
template <size_t N>
struct ConvTransposeOptions {
  ExpandingArray<N> stride = 1;
  ExpandingArray<N> padding = 0;
  ExpandingArray<N> output_padding = 0;
  int64_t groups = 1;
  ExpandingArray<N> dilation = 1;
};
using ConvTranspose1dOptions = ConvTransposeOptions<1>;
using ConvTranspose2dOptions = ConvTransposeOptions<2>;
using ConvTranspose3dOptions = ConvTransposeOptions<3>;

// Options of unfold / fold (torch.nn.functional.unfold / fold), kernel_size given apart.
struct UnfoldOptions {
  ExpandingArray<2> dilation = 1;
  ExpandingArray<2> padding = 0;
  ExpandingArray<2> stride = 1;
};
using FoldOptions = UnfoldOptions;

namespace detail {

// Stride, padding, dilation and groups of a convolution, padded to three spatial dims.
struct ConvParams {
  int nd = 2;  // spatial rank
  int64_t stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
  int64_t groups = 1;
};

// Geometry of conv(x [N, C, in...], w [O, C/G, k...]) with the given parameters; the output
// size follows from the input (callers check it is positive).
inline cpu::ConvGeom conv_geom(const ConvParams& p, const Shape& x, const Shape& w) {
  cpu::ConvGeom g;
  g.N = x[0];
  g.C = x[1];
  g.O = w[0];
  g.G = p.groups;
  const int off = 3 - p.nd;
  for (int i = 0; i < p.nd; ++i) {
    g.in[off + i] = x[2 + i];
    g.k[off + i] = w[2 + i];
    g.stride[off + i] = p.stride[i];
    g.pad[off + i] = p.pad[i];
    g.dil[off + i] = p.dil[i];
    g.out[off + i] = cpu::conv_out_size(x[2 + i], w[2 + i], p.stride[i], p.pad[i], p.dil[i]);
  }
  return g;
}

inline Shape conv_out_shape(const cpu::ConvGeom& g, int nd) {
  Shape s{g.N, g.O};
  for (int i = 3 - nd; i < 3; ++i) s.push_back(g.out[i]);
  return s;
}

template <class T>
Tensor<T> conv_t_op(const Tensor<T>& gy, const Tensor<T>& w, const ConvParams& p,
                    const Shape& in_shape);
template <class T>
Tensor<T> conv_w_op(const Tensor<T>& x, const Tensor<T>& gy, const ConvParams& p,
                    const Shape& w_shape);

// y = conv(x, w) + bias (bias may be undefined). Shapes already checked.
template <class T>
Tensor<T> conv_op(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                  const ConvParams& p) {
  const cpu::ConvGeom g = conv_geom(p, x.shape(), w.shape());
  Tensor<T> y = backend::conv_forward(x, w, bias, g, conv_out_shape(g, p.nd), "conv");
  if (any_requires_grad(x, w, bias))
    record(y, "conv", {x, w, bias}, [x, w, bias, p](const Tensor<T>& gy) -> Grads {
      AnyTensor gx, gw, gb;
      if (grad_wanted(x)) gx = conv_t_op(gy, w, p, x.shape());
      if (grad_wanted(w)) gw = conv_w_op(x, gy, p, w.shape());
      if (grad_wanted(bias)) {
        std::vector<int64_t> dims{0};
        for (int i = 0; i < p.nd; ++i) dims.push_back(2 + i);
        gb = sum(gy, dims);
      }
      return {gx, gw, gb};
    });
  return y;
}

// z [in_shape] = A_wᵀ gy: the input gradient of conv_op, and the transposed convolution.
template <class T>
Tensor<T> conv_t_op(const Tensor<T>& gy, const Tensor<T>& w, const ConvParams& p,
                    const Shape& in_shape) {
  const cpu::ConvGeom g = conv_geom(p, in_shape, w.shape());
  EMBER_CHECK(gy.shape() == conv_out_shape(g, p.nd), "conv_transpose: gradient of shape ",
              shape_str(gy.shape()), " does not match the convolution output ",
              shape_str(conv_out_shape(g, p.nd)));
  Tensor<T> z = backend::conv_backward_input(gy, w, g, in_shape, "conv_transpose");
  if (any_requires_grad(gy, w))
    record(z, "conv_transpose", {gy, w}, [gy, w, p](const Tensor<T>& gz) -> Grads {
      AnyTensor gg, gw;
      if (grad_wanted(gy)) gg = conv_op(gz, w, Tensor<T>(), p);
      if (grad_wanted(w)) gw = conv_w_op(gz, gy, p, w.shape());
      return {gg, gw};
    });
  return z;
}

// gw [w_shape] = ∂<gy, conv(x, w)>/∂w.
template <class T>
Tensor<T> conv_w_op(const Tensor<T>& x, const Tensor<T>& gy, const ConvParams& p,
                    const Shape& w_shape) {
  const cpu::ConvGeom g = conv_geom(p, x.shape(), w_shape);
  Tensor<T> gw = backend::conv_backward_weight(x, gy, g, w_shape, "conv_weight_grad");
  if (any_requires_grad(x, gy))
    record(gw, "conv_weight_grad", {x, gy}, [x, gy, p](const Tensor<T>& ggw) -> Grads {
      AnyTensor gx, gg;
      if (grad_wanted(x)) gx = conv_t_op(gy, ggw, p, x.shape());
      if (grad_wanted(gy)) gg = conv_op(x, ggw, Tensor<T>(), p);
      return {gx, gg};
    });
  return gw;
}

template <class T>
void check_conv_dtype() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "convolutions need float or double tensors");
}

// Validates a convolution's operands (batched input; unbatched ones were given a batch dim).
template <class T, size_t N>
void check_conv(const char* op, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                const ExpandingArray<N>& stride, const ExpandingArray<N>& dilation,
                int64_t groups, bool transposed) {
  const int64_t nd = int64_t(N);
  EMBER_CHECK(x.defined() && w.defined(), op, ": input and weight must be defined");
  check_one_device(op, x, w, bias);  // one device for all operands
  EMBER_CHECK(x.dim() == nd + 2, op, ": expected a ", nd + 1, "-D (unbatched) or ", nd + 2,
              "-D (batched) input, got shape ", shape_str(x.shape()));
  EMBER_CHECK(w.dim() == nd + 2, op, ": expected a ", nd + 2, "-D weight [",
              transposed ? "in, out/groups" : "out, in/groups", ", k...], got shape ",
              shape_str(w.shape()));
  EMBER_CHECK(groups >= 1, op, ": groups must be positive, got ", groups);
  for (size_t i = 0; i < N; ++i) {
    EMBER_CHECK(stride[i] >= 1, op, ": stride must be positive, got ", stride.str());
    EMBER_CHECK(dilation[i] >= 1, op, ": dilation must be positive, got ", dilation.str());
  }
  const int64_t C = x.size(1);
  EMBER_CHECK(C % groups == 0, op, ": input channels (", C, ") not divisible by groups (",
              groups, "); input shape ", shape_str(x.shape()));
  if (!transposed) {
    EMBER_CHECK(w.size(0) % groups == 0, op, ": out channels (", w.size(0),
                ") not divisible by groups (", groups, "); weight shape ", shape_str(w.shape()));
    EMBER_CHECK(w.size(1) * groups == C, op, ": weight ", shape_str(w.shape()), " expects ",
                w.size(1) * groups, " input channels (weight.size(1) * groups = ", w.size(1),
                " * ", groups, "), got input ", shape_str(x.shape()));
  } else {
    EMBER_CHECK(w.size(0) == C, op, ": weight ", shape_str(w.shape()), " expects ", w.size(0),
                " input channels (weight [in, out/groups, k...]), got input ",
                shape_str(x.shape()));
  }
  if (bias.defined()) {
    const int64_t out_c = transposed ? w.size(1) * groups : w.size(0);
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == out_c, op, ": bias of shape ",
                shape_str(bias.shape()), " does not match ", out_c, " output channels");
  }
}

template <class T, size_t N>
Tensor<T> conv_nd(const char* op, const Tensor<T>& input, const Tensor<T>& weight,
                  const Tensor<T>& bias, const ConvOptions<N>& o) {
  check_conv_dtype<T>();
  EMBER_CHECK(input.defined(), op, ": input is undefined");
  if (input.dim() == int64_t(N) + 1)  // unbatched
    return conv_nd(op, input.unsqueeze(0), weight, bias, o).squeeze(0);
  check_conv(op, input, weight, bias, o.stride, o.dilation, o.groups, false);
  ConvParams p;
  p.nd = int(N);
  p.groups = o.groups;
  Tensor<T> x = input;
  std::vector<int64_t> extra;  // asymmetric "same" padding, applied with pad()
  bool asymmetric = false;
  for (size_t i = 0; i < N; ++i) {
    p.stride[i] = o.stride[i];
    p.dil[i] = o.dilation[i];
    if (o.same_padding) {
      EMBER_CHECK(o.stride[i] == 1, op, ": padding 'same' needs stride 1, got stride ",
                  o.stride.str());
      const int64_t total = o.dilation[i] * (weight.size(2 + i) - 1);
      p.pad[i] = total / 2;
      asymmetric |= total % 2 != 0;
    } else {
      EMBER_CHECK(o.padding[i] >= 0, op, ": padding must be non-negative, got ", o.padding.str());
      p.pad[i] = o.padding[i];
    }
  }
  if (asymmetric) {  // PyTorch: the odd element goes to the end (pad() lists the last dim first)
    for (int64_t i = int64_t(N) - 1; i >= 0; --i) {
      const int64_t total = o.dilation[i] * (weight.size(2 + i) - 1);
      extra.push_back(0);
      extra.push_back(total % 2);
    }
    x = pad(x, extra);
  }
  for (size_t i = 0; i < N; ++i) {
    const int64_t padded = x.size(2 + i) + 2 * p.pad[i];
    const int64_t span = p.dil[i] * (weight.size(2 + i) - 1) + 1;
    EMBER_CHECK(padded >= span, op, ": kernel ", shape_str(weight.shape()), " with dilation ",
                o.dilation.str(), " spans ", span, " elements in spatial dim ", i,
                ", larger than the padded input (", padded, "); input shape ",
                shape_str(input.shape()));
  }
  return conv_op(x, weight, bias, p);
}

template <class T, size_t N>
Tensor<T> conv_transpose_nd(const char* op, const Tensor<T>& input, const Tensor<T>& weight,
                            const Tensor<T>& bias, const ConvTransposeOptions<N>& o) {
  check_conv_dtype<T>();
  EMBER_CHECK(input.defined(), op, ": input is undefined");
  if (input.dim() == int64_t(N) + 1)
    return conv_transpose_nd(op, input.unsqueeze(0), weight, bias, o).squeeze(0);
  check_conv(op, input, weight, bias, o.stride, o.dilation, o.groups, true);
  ConvParams p;
  p.nd = int(N);
  p.groups = o.groups;
  // The transposed convolution is the input gradient of the convolution whose weight is
  // `weight` read as [out' = in, in'/groups = out/groups, k...] and whose input has the
  // output's shape.
  Shape out_shape{input.size(0), weight.size(1) * o.groups};
  for (size_t i = 0; i < N; ++i) {
    p.stride[i] = o.stride[i];
    p.pad[i] = o.padding[i];
    p.dil[i] = o.dilation[i];
    EMBER_CHECK(o.padding[i] >= 0 && o.output_padding[i] >= 0, op,
                ": padding and output_padding must be non-negative, got ", o.padding.str(),
                " and ", o.output_padding.str());
    EMBER_CHECK(o.output_padding[i] < o.stride[i] || o.output_padding[i] < o.dilation[i], op,
                ": output_padding ", o.output_padding.str(),
                " must be smaller than either stride ", o.stride.str(), " or dilation ",
                o.dilation.str());
    const int64_t size = (input.size(2 + i) - 1) * o.stride[i] - 2 * o.padding[i] +
                         o.dilation[i] * (weight.size(2 + i) - 1) + o.output_padding[i] + 1;
    EMBER_CHECK(size > 0, op, ": input ", shape_str(input.shape()), " and weight ",
                shape_str(weight.shape()), " give a non-positive output size ", size,
                " in spatial dim ", i);
    out_shape.push_back(size);
  }
  Tensor<T> y = conv_t_op(input, weight, p, out_shape);
  if (bias.defined()) {
    Shape bs(N + 2, 1);
    bs[1] = bias.size(0);
    y = add(y, bias.reshape(bs));
  }
  return y;
}

inline ConvParams unfold_params(const ExpandingArray<2>& kernel_size, const UnfoldOptions& o,
                                const char* op) {
  ConvParams p;
  p.nd = 2;
  for (int i = 0; i < 2; ++i) {
    EMBER_CHECK(kernel_size[i] >= 1 && o.stride[i] >= 1 && o.dilation[i] >= 1 &&
                    o.padding[i] >= 0,
                op, ": expected positive kernel_size, stride and dilation and non-negative "
                "padding, got kernel_size ", kernel_size.str(), ", stride ", o.stride.str(),
                ", dilation ", o.dilation.str(), ", padding ", o.padding.str());
    p.stride[i] = o.stride[i];
    p.pad[i] = o.padding[i];
    p.dil[i] = o.dilation[i];
  }
  return p;
}

template <class T>
Tensor<T> fold_op(const Tensor<T>& cols, const Shape& x_shape, const Shape& k_shape,
                  const ConvParams& p);

// [N, C*K, L] = the blocks of x [N, C, H, W] (im2col in PyTorch's layout); fold_op is its
// adjoint, and each is the other's gradient.
template <class T>
Tensor<T> unfold_op(const Tensor<T>& x, const Shape& k_shape, const ConvParams& p) {
  Tensor<T> out = backend::unfold(x, conv_geom(p, x.shape(), k_shape), "unfold");
  if (any_requires_grad(x))
    record(out, "unfold", {x}, [xs = x.shape(), k_shape, p](const Tensor<T>& gc) -> Grads {
      return {fold_op(gc, xs, k_shape, p)};
    });
  return out;
}

// The adjoint of unfold_op: sums the blocks of cols [N, C*K, L] into x_shape [N, C, H, W].
template <class T>
Tensor<T> fold_op(const Tensor<T>& cols, const Shape& x_shape, const Shape& k_shape,
                  const ConvParams& p) {
  Tensor<T> out = backend::fold(cols, conv_geom(p, x_shape, k_shape), x_shape, "fold");
  if (any_requires_grad(cols))
    record(out, "fold", {cols}, [k_shape, p](const Tensor<T>& gx) -> Grads {
      return {unfold_op(gx, k_shape, p)};
    });
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------------- convolutions

// input [N, C, L] (or [C, L]), weight [O, C/groups, k], bias [O] or undefined.
template <class T>
Tensor<T> conv1d(const Tensor<T>& input, const Tensor<T>& weight,
                 const Tensor<T>& bias = Tensor<T>(), Conv1dOptions options = {}) {
  return detail::conv_nd<T, 1>("conv1d", input, weight, bias, options);
}

// input [N, C, H, W] (or [C, H, W]), weight [O, C/groups, kh, kw], bias [O] or undefined.
template <class T>
Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight,
                 const Tensor<T>& bias = Tensor<T>(), Conv2dOptions options = {}) {
  return detail::conv_nd<T, 2>("conv2d", input, weight, bias, options);
}

// input [N, C, D, H, W] (or [C, D, H, W]), weight [O, C/groups, kd, kh, kw].
template <class T>
Tensor<T> conv3d(const Tensor<T>& input, const Tensor<T>& weight,
                 const Tensor<T>& bias = Tensor<T>(), Conv3dOptions options = {}) {
  return detail::conv_nd<T, 3>("conv3d", input, weight, bias, options);
}

// Transposed convolutions: input [N, C, ...], weight [C, O/groups, k...], bias [O]; output
// size (in - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1.
template <class T>
Tensor<T> conv_transpose1d(const Tensor<T>& input, const Tensor<T>& weight,
                           const Tensor<T>& bias = Tensor<T>(),
                           ConvTranspose1dOptions options = {}) {
  return detail::conv_transpose_nd<T, 1>("conv_transpose1d", input, weight, bias, options);
}

template <class T>
Tensor<T> conv_transpose2d(const Tensor<T>& input, const Tensor<T>& weight,
                           const Tensor<T>& bias = Tensor<T>(),
                           ConvTranspose2dOptions options = {}) {
  return detail::conv_transpose_nd<T, 2>("conv_transpose2d", input, weight, bias, options);
}

template <class T>
Tensor<T> conv_transpose3d(const Tensor<T>& input, const Tensor<T>& weight,
                           const Tensor<T>& bias = Tensor<T>(),
                           ConvTranspose3dOptions options = {}) {
  return detail::conv_transpose_nd<T, 3>("conv_transpose3d", input, weight, bias, options);
}

// ---------------------------------------------------------------------- unfold / fold

// Sliding blocks of input [N, C, H, W] (or [C, H, W]) as columns: [N, C*kh*kw, L] (or
// [C*kh*kw, L]), L the number of block positions (torch.nn.functional.unfold).
template <class T>
Tensor<T> unfold(const Tensor<T>& input, ExpandingArray<2> kernel_size, UnfoldOptions options = {}) {
  detail::check_conv_dtype<T>();
  EMBER_CHECK(input.defined() && (input.dim() == 3 || input.dim() == 4),
              "unfold: expected a 3-D or 4-D input, got shape ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  if (input.dim() == 3) return unfold(input.unsqueeze(0), kernel_size, options).squeeze(0);
  const detail::ConvParams p = detail::unfold_params(kernel_size, options, "unfold");
  const Shape k_shape{1, input.size(1), kernel_size[0], kernel_size[1]};
  for (int i = 0; i < 2; ++i) {
    const int64_t out = cpu::conv_out_size(input.size(2 + i), kernel_size[i], p.stride[i],
                                           p.pad[i], p.dil[i]);
    EMBER_CHECK(out >= 1, "unfold: kernel_size ", kernel_size.str(), " with dilation ",
                options.dilation.str(), " does not fit the padded input ",
                shape_str(input.shape()), " (padding ", options.padding.str(), ")");
  }
  return detail::unfold_op(input, k_shape, p);
}

// The adjoint of unfold: sums columns [N, C*kh*kw, L] (or [C*kh*kw, L]) back into
// [N, C, output_size...] (torch.nn.functional.fold).
template <class T>
Tensor<T> fold(const Tensor<T>& input, ExpandingArray<2> output_size,
               ExpandingArray<2> kernel_size, FoldOptions options = {}) {
  detail::check_conv_dtype<T>();
  EMBER_CHECK(input.defined() && (input.dim() == 2 || input.dim() == 3),
              "fold: expected a 2-D or 3-D input, got shape ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  if (input.dim() == 2)
    return fold(input.unsqueeze(0), output_size, kernel_size, options).squeeze(0);
  const detail::ConvParams p = detail::unfold_params(kernel_size, options, "fold");
  const int64_t K = kernel_size[0] * kernel_size[1];
  EMBER_CHECK(input.size(1) % K == 0, "fold: input ", shape_str(input.shape()),
              ": dimension 1 must be divisible by the kernel volume ", K);
  const int64_t C = input.size(1) / K;
  int64_t L = 1;
  for (int i = 0; i < 2; ++i) {
    EMBER_CHECK(output_size[i] >= 1, "fold: output_size must be positive, got ",
                output_size.str());
    L *= cpu::conv_out_size(output_size[i], kernel_size[i], p.stride[i], p.pad[i], p.dil[i]);
  }
  EMBER_CHECK(input.size(2) == L && L > 0, "fold: input ", shape_str(input.shape()), " has ",
              input.size(2), " blocks, but output_size ", output_size.str(), ", kernel_size ",
              kernel_size.str(), " and the options give ", L);
  const Shape x_shape{input.size(0), C, output_size[0], output_size[1]};
  const Shape k_shape{1, C, kernel_size[0], kernel_size[1]};
  return detail::fold_op(input, x_shape, k_shape, p);
}

}  // namespace ember
