// Discrete Fourier transforms (torch.fft): fft, ifft, rfft, irfft, fft2, ifft2, rfft2, irfft2,
// fftn, ifftn, rfftn, irfftn, with PyTorch's arguments (n / s sizes that zero-pad or trim the
// input, dims, norm "backward" / "ortho" / "forward").
//
// Everything is built from three differentiable primitives (namespace detail):
//   c2c(x, dims, forward, scale)  complex -> complex over dims
//   r2c(x, dim, scale)            real -> half spectrum (n/2 + 1 bins) along dim
//   c2r(X, dim, n, scale)         half spectrum -> real of length n along dim
// and their gradients (PyTorch's convention, grad_in = adjoint applied to grad_out):
//   c2c: the same transform in the other direction with the same scale (F^H = conj F,
//        the DFT matrix being symmetric).
//   r2c: Re(F^H [g; 0]), PyTorch's _fft_r2c_backward, computed as c2r of g with the interior
//        bins halved (c2r counts each interior bin twice, DC and Nyquist once): half the work
//        of zero-padding g and running a full complex transform.
//   c2r: r2c(g) with bins 1 .. n - (n/2 + 1) doubled (PyTorch's _fft_c2r_backward).
// rfftn = c2c over the leading dims after r2c over the last; irfftn = c2r over the last dim
// after c2c over the others; their gradients follow by composition.
// Over exactly the last two dims, rfft2 / irfft2 run as one fused kernel each (rfft2_last /
// irfft2_last), whose gradients are each other with the Hermitian weights applied.
//
// Each primitive is one call into backend/fft.hpp, which runs the CPU engine
// (backend/cpu/fft.hpp) or cuFFT for the input's device, so every wrapper and every gradient
// above runs on both: c2c as batched n-D C2C / Z2Z over groups of up to three dims, r2c /
// rfft2_last as 1-D / 2-D R2C, c2r as a 1-D C2R, and irfft2_last as C2C over dim -2 then C2R
// (cuFFT's 2-D C2R is unspecified for spectra not Hermitian along dim -2).
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <ember/backend/fft.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/complex.hpp>

namespace ember {

// Which direction is scaled: Backward (default) divides the inverse by n, Forward the forward
// transform, Ortho both by sqrt(n).
enum class FftNorm { Backward, Ortho, Forward };

inline FftNorm fft_norm_from_string(std::string_view norm, const char* op) {
  if (norm == "backward" || norm.empty()) return FftNorm::Backward;
  if (norm == "ortho") return FftNorm::Ortho;
  if (norm == "forward") return FftNorm::Forward;
  fail(op, ": norm must be \"backward\", \"ortho\" or \"forward\", got \"", norm, "\"");
}

namespace detail {

// The factor a transform of `n` points in the given direction is multiplied by.
inline double fft_scale(FftNorm norm, int64_t n, bool forward) {
  switch (norm) {
    case FftNorm::Backward: return forward ? 1.0 : 1.0 / double(n);
    case FftNorm::Forward: return forward ? 1.0 / double(n) : 1.0;
    case FftNorm::Ortho: return 1.0 / std::sqrt(double(n));
  }
  return 1.0;
}

// Real tensors enter c2c transforms as complex (gradient: the real part).
template <class T>
Tensor<std::complex<real_t<T>>> to_complex(const Tensor<T>& x) {
  if constexpr (is_complex_v<T>) {
    return x;
  } else {
    return complex(x, Tensor<T>::zeros({}, x.device()).expand(x.shape()));
  }
}

// Trims (a view) or zero-pads x along dim to n points, as torch.fft does with n / s.
template <class T>
Tensor<T> fft_resize(const Tensor<T>& x, int64_t dim, int64_t n) {
  const int64_t have = x.shape()[dim];
  if (n == have) return x;
  if (n < have) return x.narrow(dim, 0, n);
  Shape s = x.shape();
  s[dim] = n;
  Tensor<T> out = Tensor<T>::zeros(s, x.device());
  {
    NoGradGuard no_grad;
    out.narrow(dim, 0, have).copy_(x);
  }
  if (any_requires_grad(x))
    record(out, "fft_pad", {x}, [dim, have](const Tensor<T>& g) -> Grads { return {g.narrow(dim, 0, have)}; });
  return out;
}

inline std::vector<int64_t> fft_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  for (int64_t d : dims) {
    EMBER_CHECK(d >= -ndim && d < ndim, op, ": dimension ", d, " out of range for a tensor of ",
                ndim, " dimensions");
    const int64_t w = d < 0 ? d + ndim : d;
    EMBER_CHECK(std::find(out.begin(), out.end(), w) == out.end(), op, ": dimension ", d,
                " repeated in dims ", shape_str(dims));
    out.push_back(w);
  }
  return out;
}

template <class C>
Tensor<C> c2c(const Tensor<C>& x, const std::vector<int64_t>& dims, bool forward, double scale) {
  Tensor<C> out = backend::fft_c2c(x, dims, forward, scale, "fft");
  if (any_requires_grad(x))
    record(out, forward ? "fft_c2c" : "ifft_c2c", {x},
           [dims, forward, scale](const Tensor<C>& g) -> Grads {
             return {c2c(g, dims, !forward, scale)};
           });
  return out;
}

template <class C>
Tensor<real_t<C>> c2r(const Tensor<C>& X, int64_t dim, int64_t n, double scale);

template <class R>
Tensor<std::complex<R>> r2c(const Tensor<R>& x, int64_t dim, double scale) {
  using C = std::complex<R>;
  const int64_t nd = x.dim(), n = x.shape()[dim], h = n / 2 + 1;
  Tensor<C> out = backend::fft_r2c(x, dim, scale, "rfft");
  if (any_requires_grad(x))
    record(out, "rfft_r2c", {x}, [dim, n, h, nd, scale](const Tensor<C>& g) -> Grads {
      const Tensor<C> w = backend::hermitian_weights<C>(nd, dim, h, 1, n - h + 1, 0.5, g.device());
      return {c2r(mul(g, w), dim, n, scale)};
    });
  return out;
}

template <class C>
Tensor<real_t<C>> c2r(const Tensor<C>& X, int64_t dim, int64_t n, double scale) {
  using R = real_t<C>;
  const int64_t nd = X.dim(), h = n / 2 + 1;
  EMBER_CHECK(X.shape()[dim] == h, "irfft: expected ", h, " bins along dimension ", dim, " for ",
              n, " output points, got shape ", shape_str(X.shape()));
  Tensor<R> out = backend::fft_c2r(X, dim, n, scale, "irfft");
  if (any_requires_grad(X))
    record(out, "irfft_c2r", {X}, [dim, n, h, nd, scale](const Tensor<R>& g) -> Grads {
      const Tensor<C> w = backend::hermitian_weights<C>(nd, dim, h, 1, n - h + 1, 2.0, g.device());
      return {mul(r2c(g, dim, scale), w)};
    });
  return out;
}

template <class C>
Tensor<real_t<C>> irfft2_last(const Tensor<C>& X, int64_t n1, double scale);

// rfft2 over the last two dims in one fused kernel (backend::fft_rfft2). Gradient: the adjoint
// of c2c(dim -2) after r2c(dim -1) is c2r(dim -1) after c2c back, i.e. irfft2_last of g with
// the interior bins of the last dim halved (the weights commute with the dim -2 transform).
template <class R>
Tensor<std::complex<R>> rfft2_last(const Tensor<R>& x, double scale) {
  using C = std::complex<R>;
  const int64_t nd = x.dim(), n1 = x.shape()[nd - 1], h = n1 / 2 + 1;
  Tensor<C> out = backend::fft_rfft2(x, scale, "rfft2");
  if (any_requires_grad(x))
    record(out, "rfft2", {x}, [nd, n1, h, scale](const Tensor<C>& g) -> Grads {
      const Tensor<C> w =
          backend::hermitian_weights<C>(nd, nd - 1, h, 1, n1 - h + 1, 0.5, g.device());
      return {irfft2_last(mul(g, w), n1, scale)};
    });
  return out;
}

// irfft2 over the last two dims, fused; X has n1/2 + 1 bins in its last dim. Gradient:
// rfft2_last of g with bins 1 .. n1 - h of the last dim doubled.
template <class C>
Tensor<real_t<C>> irfft2_last(const Tensor<C>& X, int64_t n1, double scale) {
  using R = real_t<C>;
  const int64_t nd = X.dim(), h = n1 / 2 + 1;
  EMBER_CHECK(X.shape()[nd - 1] == h, "irfft2: expected ", h, " bins in the last dimension for ",
              n1, " output points, got shape ", shape_str(X.shape()));
  Tensor<R> out = backend::fft_irfft2(X, n1, scale, "irfft2");
  if (any_requires_grad(X))
    record(out, "irfft2", {X}, [nd, n1, h, scale](const Tensor<R>& g) -> Grads {
      const Tensor<C> w =
          backend::hermitian_weights<C>(nd, nd - 1, h, 1, n1 - h + 1, 2.0, g.device());
      return {mul(rfft2_last(g, scale), w)};
    });
  return out;
}

inline void check_fft_size(int64_t n, const char* op) {
  EMBER_CHECK(n >= 1, op, ": invalid number of data points (", n, "); expected at least 1");
}

// Resolves (s, dim) as torch.fft.fftn does: dim defaults to the last len(s) dims (all dims
// without s); s defaults to the input's sizes (for the last dim of a c2r transform: 2 (m - 1)).
inline std::pair<std::vector<int64_t>, std::vector<int64_t>> fftn_args(
    const Shape& shape, const std::optional<std::vector<int64_t>>& s,
    const std::optional<std::vector<int64_t>>& dim, const char* op, bool c2r_last) {
  const int64_t nd = int64_t(shape.size());
  std::vector<int64_t> dims;
  if (dim) {
    dims = fft_dims(*dim, nd, op);
    EMBER_CHECK(!s || s->size() == dims.size(), op, ": s ", shape_str(*s), " and dim ",
                shape_str(*dim), " must have the same length");
  } else if (s) {
    EMBER_CHECK(int64_t(s->size()) <= nd, op, ": s ", shape_str(*s), " has more entries than the "
                "input has dimensions (shape ", shape_str(shape), ")");
    for (int64_t i = nd - int64_t(s->size()); i < nd; ++i) dims.push_back(i);
  } else {
    for (int64_t i = 0; i < nd; ++i) dims.push_back(i);
  }
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t n = shape[dims[i]];
    if (s && (*s)[i] != -1) n = (*s)[i];
    else if (c2r_last && i + 1 == dims.size()) n = 2 * (shape[dims[i]] - 1);
    check_fft_size(n, op);
    sizes.push_back(n);
  }
  return {dims, sizes};
}

template <class T>
Tensor<std::complex<real_t<T>>> fftn_impl(const Tensor<T>& x, const std::optional<std::vector<int64_t>>& s,
                                          const std::optional<std::vector<int64_t>>& dim, FftNorm norm,
                                          bool forward, const char* op) {
  static_assert(is_differentiable_v<T>, "fft: expected a floating-point or complex tensor");
  auto [dims, sizes] = fftn_args(x.shape(), s, dim, op, false);
  auto z = to_complex(x);
  int64_t total = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    z = fft_resize(z, dims[i], sizes[i]);
    total *= sizes[i];
  }
  return c2c(z, dims, forward, fft_scale(norm, total, forward));
}

template <class T>
Tensor<std::complex<T>> rfftn_impl(const Tensor<T>& x, const std::optional<std::vector<int64_t>>& s,
                                   const std::optional<std::vector<int64_t>>& dim, FftNorm norm,
                                   const char* op) {
  static_assert(std::is_floating_point_v<T>, "rfft: expected a real (float or double) tensor");
  auto [dims, sizes] = fftn_args(x.shape(), s, dim, op, false);
  EMBER_CHECK(!dims.empty(), op, ": needs at least one dimension to transform");
  Tensor<T> r = x;
  int64_t total = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    r = fft_resize(r, dims[i], sizes[i]);
    total *= sizes[i];
  }
  const double scale = fft_scale(norm, total, true);
  const int64_t nd = x.dim();
  if (dims.size() == 2 && dims[0] == nd - 2 && dims[1] == nd - 1) return rfft2_last(r, scale);
  Tensor<std::complex<T>> y = r2c(r, dims.back(), dims.size() == 1 ? scale : 1.0);
  if (dims.size() == 1) return y;
  return c2c(y, std::vector<int64_t>(dims.begin(), dims.end() - 1), true, scale);
}

template <class T>
Tensor<real_t<T>> irfftn_impl(const Tensor<T>& x, const std::optional<std::vector<int64_t>>& s,
                              const std::optional<std::vector<int64_t>>& dim, FftNorm norm,
                              const char* op) {
  static_assert(is_differentiable_v<T>, "irfft: expected a floating-point or complex tensor");
  auto [dims, sizes] = fftn_args(x.shape(), s, dim, op, true);
  EMBER_CHECK(!dims.empty(), op, ": needs at least one dimension to transform");
  auto z = to_complex(x);
  int64_t total = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    const bool last = i + 1 == dims.size();
    z = fft_resize(z, dims[i], last ? sizes[i] / 2 + 1 : sizes[i]);
    total *= sizes[i];
  }
  const double scale = fft_scale(norm, total, false);
  const int64_t nd = x.dim();
  if (dims.size() == 2 && dims[0] == nd - 2 && dims[1] == nd - 1)
    return irfft2_last(z, sizes.back(), scale);
  if (dims.size() > 1) z = c2c(z, std::vector<int64_t>(dims.begin(), dims.end() - 1), false, 1.0);
  return c2r(z, dims.back(), sizes.back(), scale);
}

inline std::optional<std::vector<int64_t>> one_size(std::optional<int64_t> n) {
  if (!n) return std::nullopt;
  return std::vector<int64_t>{*n};
}

}  // namespace detail

// ---------------------------------------------------------------- 1-D

// Complex DFT along dim; real input is promoted. n trims or zero-pads the input first.
template <class T>
Tensor<std::complex<real_t<T>>> fft(const Tensor<T>& x, std::optional<int64_t> n = std::nullopt,
                                    int64_t dim = -1, FftNorm norm = FftNorm::Backward) {
  return detail::fftn_impl(x, detail::one_size(n), std::vector<int64_t>{dim}, norm, true, "fft");
}

template <class T>
Tensor<std::complex<real_t<T>>> ifft(const Tensor<T>& x, std::optional<int64_t> n = std::nullopt,
                                     int64_t dim = -1, FftNorm norm = FftNorm::Backward) {
  return detail::fftn_impl(x, detail::one_size(n), std::vector<int64_t>{dim}, norm, false, "ifft");
}

// DFT of a real signal: the n/2 + 1 non-negative frequencies.
template <class T>
Tensor<std::complex<T>> rfft(const Tensor<T>& x, std::optional<int64_t> n = std::nullopt,
                             int64_t dim = -1, FftNorm norm = FftNorm::Backward) {
  static_assert(std::is_floating_point_v<T>, "rfft: expected a real (float or double) tensor");
  return detail::rfftn_impl(x, detail::one_size(n), std::vector<int64_t>{dim}, norm, "rfft");
}

// Inverse of rfft: n real points (default 2 (m - 1) for m input bins) from a half spectrum.
template <class T>
Tensor<real_t<T>> irfft(const Tensor<T>& x, std::optional<int64_t> n = std::nullopt,
                        int64_t dim = -1, FftNorm norm = FftNorm::Backward) {
  return detail::irfftn_impl(x, detail::one_size(n), std::vector<int64_t>{dim}, norm, "irfft");
}

// ---------------------------------------------------------------- 2-D (dims default to the last two)

template <class T>
Tensor<std::complex<real_t<T>>> fft2(const Tensor<T>& x, std::optional<std::vector<int64_t>> s = std::nullopt,
                                     std::vector<int64_t> dim = {-2, -1}, FftNorm norm = FftNorm::Backward) {
  return detail::fftn_impl(x, s, dim, norm, true, "fft2");
}

template <class T>
Tensor<std::complex<real_t<T>>> ifft2(const Tensor<T>& x, std::optional<std::vector<int64_t>> s = std::nullopt,
                                      std::vector<int64_t> dim = {-2, -1}, FftNorm norm = FftNorm::Backward) {
  return detail::fftn_impl(x, s, dim, norm, false, "ifft2");
}

template <class T>
Tensor<std::complex<T>> rfft2(const Tensor<T>& x, std::optional<std::vector<int64_t>> s = std::nullopt,
                              std::vector<int64_t> dim = {-2, -1}, FftNorm norm = FftNorm::Backward) {
  static_assert(std::is_floating_point_v<T>, "rfft: expected a real (float or double) tensor");
  return detail::rfftn_impl(x, s, dim, norm, "rfft2");
}

template <class T>
Tensor<real_t<T>> irfft2(const Tensor<T>& x, std::optional<std::vector<int64_t>> s = std::nullopt,
                         std::vector<int64_t> dim = {-2, -1}, FftNorm norm = FftNorm::Backward) {
  return detail::irfftn_impl(x, s, dim, norm, "irfft2");
}

// ---------------------------------------------------------------- N-D (dims default to all, or the last len(s))

template <class T>
Tensor<std::complex<real_t<T>>> fftn(const Tensor<T>& x, std::optional<std::vector<int64_t>> s = std::nullopt,
                                     std::optional<std::vector<int64_t>> dim = std::nullopt,
                                     FftNorm norm = FftNorm::Backward) {
  return detail::fftn_impl(x, s, dim, norm, true, "fftn");
}

template <class T>
Tensor<std::complex<real_t<T>>> ifftn(const Tensor<T>& x, std::optional<std::vector<int64_t>> s = std::nullopt,
                                      std::optional<std::vector<int64_t>> dim = std::nullopt,
                                      FftNorm norm = FftNorm::Backward) {
  return detail::fftn_impl(x, s, dim, norm, false, "ifftn");
}

template <class T>
Tensor<std::complex<T>> rfftn(const Tensor<T>& x, std::optional<std::vector<int64_t>> s = std::nullopt,
                              std::optional<std::vector<int64_t>> dim = std::nullopt,
                              FftNorm norm = FftNorm::Backward) {
  static_assert(std::is_floating_point_v<T>, "rfft: expected a real (float or double) tensor");
  return detail::rfftn_impl(x, s, dim, norm, "rfftn");
}

template <class T>
Tensor<real_t<T>> irfftn(const Tensor<T>& x, std::optional<std::vector<int64_t>> s = std::nullopt,
                         std::optional<std::vector<int64_t>> dim = std::nullopt,
                         FftNorm norm = FftNorm::Backward) {
  return detail::irfftn_impl(x, s, dim, norm, "irfftn");
}

// ---------------------------------------------------------------- norm as PyTorch spells it

template <class T>
Tensor<std::complex<real_t<T>>> fft(const Tensor<T>& x, std::optional<int64_t> n, int64_t dim, std::string_view norm) {
  return fft(x, n, dim, fft_norm_from_string(norm, "fft"));
}
template <class T>
Tensor<std::complex<real_t<T>>> ifft(const Tensor<T>& x, std::optional<int64_t> n, int64_t dim, std::string_view norm) {
  return ifft(x, n, dim, fft_norm_from_string(norm, "ifft"));
}
template <class T>
Tensor<std::complex<T>> rfft(const Tensor<T>& x, std::optional<int64_t> n, int64_t dim, std::string_view norm) {
  return rfft(x, n, dim, fft_norm_from_string(norm, "rfft"));
}
template <class T>
Tensor<real_t<T>> irfft(const Tensor<T>& x, std::optional<int64_t> n, int64_t dim, std::string_view norm) {
  return irfft(x, n, dim, fft_norm_from_string(norm, "irfft"));
}
template <class T>
Tensor<std::complex<real_t<T>>> fft2(const Tensor<T>& x, std::optional<std::vector<int64_t>> s,
                                     std::vector<int64_t> dim, std::string_view norm) {
  return fft2(x, s, dim, fft_norm_from_string(norm, "fft2"));
}
template <class T>
Tensor<std::complex<real_t<T>>> ifft2(const Tensor<T>& x, std::optional<std::vector<int64_t>> s,
                                      std::vector<int64_t> dim, std::string_view norm) {
  return ifft2(x, s, dim, fft_norm_from_string(norm, "ifft2"));
}
template <class T>
Tensor<std::complex<T>> rfft2(const Tensor<T>& x, std::optional<std::vector<int64_t>> s,
                              std::vector<int64_t> dim, std::string_view norm) {
  return rfft2(x, s, dim, fft_norm_from_string(norm, "rfft2"));
}
template <class T>
Tensor<real_t<T>> irfft2(const Tensor<T>& x, std::optional<std::vector<int64_t>> s,
                         std::vector<int64_t> dim, std::string_view norm) {
  return irfft2(x, s, dim, fft_norm_from_string(norm, "irfft2"));
}

}  // namespace ember
