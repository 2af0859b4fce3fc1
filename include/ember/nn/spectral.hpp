// Spectral (Fourier) layers: SpectralConv1d / SpectralConv2d (Li et al., FNO), PointwiseConv
// (a 1x1 convolution as a channel-mixing matmul), FNO1d / FNO2d, and the Koopman neural
// operator KNO1d / KNO2d (Xiong et al., KoopmanLab; see papers/06-koopman-kno.md).
//
// SpectralConv2d is torch_peer.py's: rfft2, keep the low-frequency corners (rows [:m1] and
// [-m1:], columns [:m2]), mix channels per mode with complex weights w1 / w2 of shape
// [in, out, m1, m2] (einsum bixy,ioxy->boxy), zero the other modes, irfft2 back to (H, W).
// The per-mode mix is a batched complex GEMM over the modes ([modes, B, in] x [modes, in, out]),
// whose gradient (PyTorch's conjugate convention) is matmul's.
//
// Layouts are channels first ([B, C, X] / [B, C, H, W]) like torch.nn.Conv; KNO takes its input
// channels last ([B, X, (Y), T_in]) as KoopmanLab does.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ember/core/random.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/complex.hpp>
#include <ember/ops/fft.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/unary.hpp>

namespace ember::nn {

namespace functional {

// out[b, o, k...] = sum_i x[b, i, k...] w[i, o, k...] over the trailing mode dims k (einsum
// "bi...,io...->bo..."), as one batched GEMM over the modes.
template <class T>
Tensor<T> spectral_mix(const Tensor<T>& x, const Tensor<T>& w) {
  EMBER_CHECK(x.dim() >= 2 && w.dim() == x.dim() && x.size(1) == w.size(0),
              "spectral_mix: expected x [B, in, modes...] and w [in, out, modes...], got ",
              shape_str(x.shape()), " and ", shape_str(w.shape()));
  for (int64_t d = 2; d < x.dim(); ++d)
    EMBER_CHECK(x.size(d) == w.size(d), "spectral_mix: mode dimensions differ: ",
                shape_str(x.shape()), " vs ", shape_str(w.shape()));
  const int64_t B = x.size(0), I = x.size(1), O = w.size(1);
  int64_t M = 1;
  for (int64_t d = 2; d < x.dim(); ++d) M *= x.size(d);
  // [B, I, M] -> [M, B, I];  [I, O, M] -> [M, I, O];  result [M, B, O] -> [B, O, modes...]
  const Tensor<T> xm = x.reshape({B, I, M}).permute({2, 0, 1});
  const Tensor<T> wm = w.reshape({I, O, M}).permute({2, 0, 1});
  Shape out_shape = x.shape();
  out_shape[1] = O;
  return matmul(xm, wm).permute({1, 2, 0}).reshape(out_shape);
}

// Writes blocks into zeros: `block` placed at offset `start` along dim of a tensor whose size
// along dim is `size` (a differentiable zero-pad on both sides).
template <class T>
Tensor<T> pad_dim(const Tensor<T>& block, int64_t dim, int64_t start, int64_t size) {
  const int64_t have = block.size(dim);
  if (start == 0 && have == size) return block;
  std::vector<Tensor<T>> parts;
  Shape s = block.shape();
  if (start > 0) {
    s[dim] = start;
    parts.push_back(Tensor<T>::zeros(s, block.device()));
  }
  parts.push_back(block);
  if (size - start - have > 0) {
    s[dim] = size - start - have;
    parts.push_back(Tensor<T>::zeros(s, block.device()));
  }
  return cat(parts, dim);
}

template <class T>
Tensor<T> embed_corners(const Tensor<T>& blocks, int64_t rows, int64_t cols);

// The low-frequency corners of a [B, C, H, Wh] spectrum: rows [:m1] then rows [H - m1:], columns
// [:m2], gathered into one contiguous [B, C, 2 m1, m2] tensor (one pass, no full-size
// temporaries). Its gradient is embed_corners, and embed_corners' is this, so create_graph works.
template <class T>
Tensor<T> spectral_corners(const Tensor<T>& x, int64_t m1, int64_t m2) {
  const int64_t B = x.size(0), Cn = x.size(1), H = x.size(2), Wh = x.size(3);
  const Tensor<T> src = x.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty({B, Cn, 2 * m1, m2}, x.device());
  if (out.device().is_cuda()) {  // two strided copies on the device
    out.narrow(2, 0, m1).copy_(src.narrow(2, 0, m1).narrow(3, 0, m2));
    out.narrow(2, m1, m1).copy_(src.narrow(2, H - m1, m1).narrow(3, 0, m2));
  } else {
    const T* p = src.data_ptr();
    T* o = out.data_ptr();
    for (int64_t bc = 0; bc < B * Cn; ++bc)
      for (int64_t r = 0; r < 2 * m1; ++r) {
        const int64_t row = r < m1 ? r : H - 2 * m1 + r;
        std::copy_n(p + (bc * H + row) * Wh, m2, o + (bc * 2 * m1 + r) * m2);
      }
  }
  if (any_requires_grad(x))
    record(out, "spectral_corners", {x}, [H, Wh](const Tensor<T>& g) -> Grads {
      return {embed_corners(g, H, Wh)};
    });
  return out;
}

// The inverse placement: [B, C, 2 m1, m2] corner blocks into zeros of [B, C, rows, cols].
template <class T>
Tensor<T> embed_corners(const Tensor<T>& blocks, int64_t rows, int64_t cols) {
  const int64_t B = blocks.size(0), Cn = blocks.size(1), m1 = blocks.size(2) / 2, m2 = blocks.size(3);
  const Tensor<T> src = blocks.detach().contiguous();
  Tensor<T> out = Tensor<T>::zeros({B, Cn, rows, cols}, blocks.device());
  if (out.device().is_cuda()) {  // two strided copies on the device (low rows, then high rows)
    out.narrow(2, 0, m1).narrow(3, 0, m2).copy_(src.narrow(2, 0, m1));
    out.narrow(2, rows - m1, m1).narrow(3, 0, m2).copy_(src.narrow(2, m1, m1));
  } else {
    const T* p = src.data_ptr();
    T* o = out.data_ptr();
    for (int64_t bc = 0; bc < B * Cn; ++bc)
      for (int64_t r = 0; r < 2 * m1; ++r) {
        const int64_t row = r < m1 ? r : rows - 2 * m1 + r;
        std::copy_n(p + (bc * 2 * m1 + r) * m2, m2, o + (bc * rows + row) * cols);
      }
  }
  if (any_requires_grad(blocks))
    record(out, "embed_corners", {blocks}, [m1, m2](const Tensor<T>& g) -> Grads {
      return {spectral_corners(g, m1, m2)};
    });
  return out;
}

// The spectral convolution of SpectralConv2d (functional form; w2 may equal w1, as in KNO).
template <class R>
Tensor<R> spectral_conv2d(const Tensor<R>& x, const Tensor<std::complex<R>>& w1,
                          const Tensor<std::complex<R>>& w2) {
  EMBER_CHECK(x.dim() == 4, "spectral_conv2d: expected input [B, C, H, W], got ", shape_str(x.shape()));
  EMBER_CHECK(w1.dim() == 4 && w1.shape() == w2.shape() && w1.size(0) == x.size(1),
              "spectral_conv2d: expected weights [", x.size(1), ", out, m1, m2], got ",
              shape_str(w1.shape()), " and ", shape_str(w2.shape()));
  const int64_t H = x.size(2), W = x.size(3), m1 = w1.size(2), m2 = w1.size(3), Wh = W / 2 + 1;
  EMBER_CHECK(2 * m1 <= H && m2 <= Wh, "spectral_conv2d: modes (", m1, ", ", m2,
              ") larger than the spectrum of a ", H, "x", W, " input (at most (", H / 2, ", ", Wh, "))");
  // Both corners mixed in one batched GEMM over the 2 m1 m2 modes.
  using C = std::complex<R>;
  const Tensor<C> corners = spectral_corners(rfft2(x), m1, m2);
  const Tensor<C> w = cat(std::vector<Tensor<C>>{w1, w2}, 2);
  return irfft2(embed_corners(spectral_mix(corners, w), H, Wh), std::vector<int64_t>{H, W});
}

template <class R>
Tensor<R> spectral_conv1d(const Tensor<R>& x, const Tensor<std::complex<R>>& w) {
  EMBER_CHECK(x.dim() == 3, "spectral_conv1d: expected input [B, C, X], got ", shape_str(x.shape()));
  EMBER_CHECK(w.dim() == 3 && w.size(0) == x.size(1), "spectral_conv1d: expected weights [",
              x.size(1), ", out, modes], got ", shape_str(w.shape()));
  const int64_t X = x.size(2), m = w.size(2), h = X / 2 + 1;
  EMBER_CHECK(m <= h, "spectral_conv1d: ", m, " modes larger than the spectrum of ", X,
              " points (at most ", h, ")");
  const auto xf = rfft(x);
  const auto mixed = spectral_mix(xf.narrow(2, 0, m), w);
  return irfft(pad_dim(mixed, 2, 0, h), X);
}

// A 1x1 convolution over dims 2.. of [B, C, ...]: weight [out, in] (or [out, in, 1, ...]).
template <class R>
Tensor<R> pointwise_conv(const Tensor<R>& x, const Tensor<R>& weight, const Tensor<R>& bias) {
  EMBER_CHECK(x.dim() >= 2, "pointwise_conv: expected input [B, C, ...], got ", shape_str(x.shape()));
  const int64_t O = weight.size(0), I = x.size(1);
  EMBER_CHECK(weight.numel() == O * I, "pointwise_conv: weight ", shape_str(weight.shape()),
              " does not match ", I, " input channels");
  const int64_t B = x.size(0), S = I == 0 ? 0 : x.numel() / (B * I);
  Tensor<R> y = matmul(weight.reshape({O, I}), x.reshape({B, I, S}));
  if (bias.defined()) y = add(y, bias.reshape({O, 1}));
  Shape out = x.shape();
  out[1] = O;
  return y.reshape(out);
}

}  // namespace functional

// 1x1 convolution (torch.nn.Conv2d(in, out, 1) and its 1-D / N-D forms): weight
// [out, in, 1, ..., 1] (`spatial_dims` ones) and bias [out], initialised as PyTorch's Conv.
class PointwiseConv : public Layer {
 public:
  Tensor<float> weight, bias;
  PointwiseConv(int64_t in, int64_t out, int64_t spatial_dims = 2, Generator& gen = default_generator())
      : in_(in), out_(out) {
    EMBER_CHECK(in > 0 && out > 0, "PointwiseConv: expected positive channel counts, got ", in, ", ", out);
    Shape s{out, in};
    for (int64_t i = 0; i < spatial_dims; ++i) s.push_back(1);
    weight = register_parameter("weight", Tensor<float>::empty(s));
    init::kaiming_uniform_(weight, {.a = std::sqrt(5.0)}, gen);
    bias = register_parameter("bias", Tensor<float>::zeros({out}));
    const double bound = 1.0 / std::sqrt(double(in));
    init::uniform_(bias, -bound, bound, gen);
  }
  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() >= 2 && x.size(1) == in_, "PointwiseConv(", in_, ", ", out_,
                "): expected input [B, ", in_, ", ...], got ", shape_str(x.shape()));
    return functional::pointwise_conv(x, weight, bias);
  }
  std::string name() const override { return "PointwiseConv"; }

 private:
  int64_t in_, out_;
};

// Complex weights scale * U(0, 1) in both parts, scale = 1 / (in * out) (FNO's init).
inline Tensor<std::complex<float>> spectral_weight(const Shape& s, Generator& gen) {
  const double scale = 1.0 / double(s[0] * s[1]);
  auto w = Tensor<std::complex<float>>::rand(s, gen);
  NoGradGuard no_grad;
  return mul(w, std::complex<float>(float(scale)));
}

class SpectralConv1d : public Layer {
 public:
  Tensor<std::complex<float>> w1;  // [in, out, modes]
  SpectralConv1d(int64_t in, int64_t out, int64_t modes, Generator& gen = default_generator())
      : in_(in), out_(out), modes_(modes) {
    EMBER_CHECK(in > 0 && out > 0 && modes > 0, "SpectralConv1d: expected positive in, out and "
                "modes, got ", in, ", ", out, ", ", modes);
    w1 = register_parameter("w1", spectral_weight({in, out, modes}, gen));
  }
  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() == 3 && x.size(1) == in_, "SpectralConv1d(", in_, ", ", out_,
                "): expected input [B, ", in_, ", X], got ", shape_str(x.shape()));
    return functional::spectral_conv1d(x, w1);
  }
  std::string name() const override { return "SpectralConv1d"; }

 private:
  int64_t in_, out_, modes_;
};

class SpectralConv2d : public Layer {
 public:
  Tensor<std::complex<float>> w1, w2;  // [in, out, modes1, modes2]: low rows, high rows
  SpectralConv2d(int64_t in, int64_t out, int64_t modes1, int64_t modes2,
                 Generator& gen = default_generator())
      : in_(in), out_(out) {
    EMBER_CHECK(in > 0 && out > 0 && modes1 > 0 && modes2 > 0, "SpectralConv2d: expected positive "
                "in, out and modes, got ", in, ", ", out, ", ", modes1, ", ", modes2);
    w1 = register_parameter("w1", spectral_weight({in, out, modes1, modes2}, gen));
    w2 = register_parameter("w2", spectral_weight({in, out, modes1, modes2}, gen));
  }
  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() == 4 && x.size(1) == in_, "SpectralConv2d(", in_, ", ", out_,
                "): expected input [B, ", in_, ", H, W], got ", shape_str(x.shape()));
    return functional::spectral_conv2d(x, w1, w2);
  }
  std::string name() const override { return "SpectralConv2d"; }

 private:
  int64_t in_, out_;
};

struct FNOOptions {
  int64_t in_channels = 3;
  int64_t out_channels = 1;
  int64_t layers = 4;
  int64_t projection = 128;
};

namespace detail {

// Children named "0", "1", ... (torch.nn.ModuleList's naming, so state_dict keys match).
class IndexedModules : public Module {
 public:
  template <class M>
  std::shared_ptr<M> append(std::shared_ptr<M> m) {
    return register_module(std::to_string(count_++), std::move(m));
  }
  std::string name() const override { return "ModuleList"; }

 private:
  int64_t count_ = 0;
};

// Shared body of FNO1d / FNO2d: lift, `layers` x (spectral + 1x1 skip, GELU but after the
// last), projection width -> projection -> out (GELU between).
template <class Spectral>
class FNOBase : public Layer {
 public:
  std::shared_ptr<PointwiseConv> lift, p1, p2;
  std::vector<std::shared_ptr<Spectral>> spectral;
  std::vector<std::shared_ptr<PointwiseConv>> skip;

  Tensor<float> forward(const Tensor<float>& input) override {
    Tensor<float> x = lift->forward(input);
    for (size_t i = 0; i < spectral.size(); ++i) {
      x = add(spectral[i]->forward(x), skip[i]->forward(x));
      if (i + 1 < spectral.size()) x = gelu(x);
    }
    return p2->forward(gelu(p1->forward(x)));
  }

 protected:
  template <class MakeSpectral>
  void build(int64_t width, FNOOptions o, int64_t dims, Generator& gen, MakeSpectral make) {
    lift = register_module("lift", std::make_shared<PointwiseConv>(o.in_channels, width, dims, gen));
    auto spectral_list = register_module("spectral", std::make_shared<IndexedModules>());
    for (int64_t i = 0; i < o.layers; ++i) spectral.push_back(spectral_list->append(make()));
    auto skip_list = register_module("skip", std::make_shared<IndexedModules>());
    for (int64_t i = 0; i < o.layers; ++i)
      skip.push_back(skip_list->append(std::make_shared<PointwiseConv>(width, width, dims, gen)));
    p1 = register_module("p1", std::make_shared<PointwiseConv>(width, o.projection, dims, gen));
    p2 = register_module("p2", std::make_shared<PointwiseConv>(o.projection, o.out_channels, dims, gen));
  }
};

}  // namespace detail

// FNO-2D on [B, in_channels, H, W] -> [B, out_channels, H, W]; parameter names follow
// torch_peer.py's FNO2d (lift, spectral.i.w1/w2, skip.i, p1, p2).
class FNO2d : public detail::FNOBase<SpectralConv2d> {
 public:
  FNO2d(int64_t width, int64_t modes, FNOOptions options = {}, Generator& gen = default_generator()) {
    EMBER_CHECK(width > 0 && modes > 0, "FNO2d: expected positive width and modes, got ", width, ", ", modes);
    build(width, options, 2, gen, [&] { return std::make_shared<SpectralConv2d>(width, width, modes, modes, gen); });
  }
  std::string name() const override { return "FNO2d"; }
};

// FNO-1D on [B, in_channels, X] -> [B, out_channels, X].
class FNO1d : public detail::FNOBase<SpectralConv1d> {
 public:
  FNO1d(int64_t width, int64_t modes, FNOOptions options = {}, Generator& gen = default_generator()) {
    EMBER_CHECK(width > 0 && modes > 0, "FNO1d: expected positive width and modes, got ", width, ", ", modes);
    build(width, options, 1, gen, [&] { return std::make_shared<SpectralConv1d>(width, width, modes, gen); });
  }
  std::string name() const override { return "FNO1d"; }
};

// ---------------------------------------------------------------------- Koopman (KNO)

// The Koopman operator layer: one complex weight K [o, o, m(, m)] applied to the retained modes
// (both row blocks of the 2-D spectrum share K), the other modes zeroed. Channels first.
class KoopmanOperator2d : public Layer {
 public:
  Tensor<std::complex<float>> weight;  // [o, o, m, m]
  KoopmanOperator2d(int64_t o, int64_t modes, Generator& gen = default_generator()) {
    EMBER_CHECK(o > 0 && modes > 0, "KoopmanOperator2d: expected positive o and modes, got ", o, ", ", modes);
    weight = register_parameter("weight", spectral_weight({o, o, modes, modes}, gen));
  }
  Tensor<float> forward(const Tensor<float>& x) override {
    return functional::spectral_conv2d(x, weight, weight);
  }
  std::string name() const override { return "KoopmanOperator2d"; }
};

class KoopmanOperator1d : public Layer {
 public:
  Tensor<std::complex<float>> weight;  // [o, o, m]
  KoopmanOperator1d(int64_t o, int64_t modes, Generator& gen = default_generator()) {
    EMBER_CHECK(o > 0 && modes > 0, "KoopmanOperator1d: expected positive o and modes, got ", o, ", ", modes);
    weight = register_parameter("weight", spectral_weight({o, o, modes}, gen));
  }
  Tensor<float> forward(const Tensor<float>& x) override { return functional::spectral_conv1d(x, weight); }
  std::string name() const override { return "KoopmanOperator1d"; }
};

namespace detail {

// Compact KNO (KoopmanLab kno.py): e = tanh(enc(x)); e_k <- e_k + K(e_k) `power` times;
// e <- tanh(w(e_enc) + e_k); out = dec(e). Input and output channels last [B, X, (Y), T_in].
template <class Op>
class KNOBase : public Layer {
 public:
  std::shared_ptr<Linear> enc, dec;
  std::shared_ptr<Op> koopman;
  std::shared_ptr<PointwiseConv> w;

  Tensor<float> forward(const Tensor<float>& x) override {
    check_input(x);
    const Tensor<float> e = tanh(enc->forward(x));  // [B, X, (Y), o]
    Tensor<float> ec = to_channels_first(e);
    Tensor<float> k = ec;
    for (int64_t i = 0; i < power_; ++i) k = add(k, koopman->forward(k));
    const Tensor<float> h = tanh(add(w->forward(ec), k));
    return dec->forward(to_channels_last(h));
  }
  // x_rec = dec(tanh(enc(x))): the reconstruction path of the loss.
  Tensor<float> reconstruct(const Tensor<float>& x) {
    check_input(x);
    return dec->forward(tanh(enc->forward(x)));
  }
  int64_t power() const { return power_; }

 protected:
  void build(int64_t in_steps, int64_t o, int64_t power, int64_t dims, Generator& gen,
             std::shared_ptr<Op> op) {
    EMBER_CHECK(in_steps > 0 && o > 0 && power >= 0, name(), ": expected positive in_steps and o "
                "and power >= 0, got ", in_steps, ", ", o, ", ", power);
    in_ = in_steps;
    dims_ = dims;
    power_ = power;
    enc = register_module("enc", std::make_shared<Linear>(in_steps, o, gen));
    koopman = register_module("koopman", std::move(op));
    w = register_module("w", std::make_shared<PointwiseConv>(o, o, dims, gen));
    dec = register_module("dec", std::make_shared<Linear>(o, in_steps, gen));
  }

 private:
  void check_input(const Tensor<float>& x) const {
    EMBER_CHECK(x.dim() == dims_ + 2 && x.shape().back() == in_, name(), ": expected input [B, ",
                dims_ == 1 ? "X" : "X, Y", ", ", in_, "], got ", shape_str(x.shape()));
  }
  Tensor<float> to_channels_first(const Tensor<float>& e) const {
    return dims_ == 1 ? e.permute({0, 2, 1}) : e.permute({0, 3, 1, 2});
  }
  Tensor<float> to_channels_last(const Tensor<float>& e) const {
    return dims_ == 1 ? e.permute({0, 2, 1}) : e.permute({0, 2, 3, 1});
  }
  int64_t in_ = 0, dims_ = 0, power_ = 0;
};

}  // namespace detail

struct KNOOptions {
  int64_t o = 16;      // observable channels
  int64_t modes = 8;   // retained modes (per axis)
  int64_t power = 8;   // r: applications of (Id + K)
};

class KNO2d : public detail::KNOBase<KoopmanOperator2d> {
 public:
  KNO2d(int64_t in_steps, KNOOptions options = {}, Generator& gen = default_generator()) {
    build(in_steps, options.o, options.power, 2, gen,
          std::make_shared<KoopmanOperator2d>(options.o, options.modes, gen));
  }
  std::string name() const override { return "KNO2d"; }
};

class KNO1d : public detail::KNOBase<KoopmanOperator1d> {
 public:
  KNO1d(int64_t in_steps, KNOOptions options = {}, Generator& gen = default_generator()) {
    build(in_steps, options.o, options.power, 1, gen,
          std::make_shared<KoopmanOperator1d>(options.o, options.modes, gen));
  }
  std::string name() const override { return "KNO1d"; }
};

}  // namespace ember::nn
