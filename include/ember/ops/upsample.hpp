// Padding (constant, reflect, replicate, circular) and 2-D interpolation (nearest, bilinear
// with align_corners true or false), with PyTorch's semantics (torch.nn.functional.pad and
// interpolate).
//
// Both are linear maps of the input (constant padding up to its constant), written as a
// kernel and its adjoint; each op's gradient is the other one, so second derivatives work
// (detail::linear_map). The kernels are in backend/upsample.hpp (CPU:
// backend/cpu/upsample.hpp), and read the index tables built here.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <ember/backend/upsample.hpp>
#include <ember/core/tensor.hpp>

namespace ember {

namespace detail {

// out = fwd(x) for a linear kernel fwd (contiguous tensor in, fresh tensor out) whose adjoint
// kernel is adj; the gradient is linear_map(g, adj, fwd), so derivatives of any order work.
template <class T, class Fwd, class Adj>
Tensor<T> linear_map(const Tensor<T>& x, const char* name, const Fwd& fwd, const Adj& adj) {
  Tensor<T> out = fwd(x.detach().contiguous());
  if (any_requires_grad(x))
    record(out, name, {x}, [name, fwd, adj](const Tensor<T>& g) -> Grads {
      return {linear_map(g, name, adj, fwd)};
    });
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------------- pad

enum class PadMode { Constant, Reflect, Replicate, Circular };

struct PadOptions {
  PadMode mode = PadMode::Constant;
  double value = 0.0;  // the fill of PadMode::Constant
};

namespace detail {

// Source index along one padded dim for each output position, -1 for the constant fill.
inline std::vector<int64_t> pad_table(int64_t n, int64_t left, int64_t right, PadMode mode) {
  const int64_t m = n + left + right;
  std::vector<int64_t> t(size_t(std::max<int64_t>(m, 0)));
  for (int64_t o = 0; o < m; ++o) {
    int64_t i = o - left;
    switch (mode) {
      case PadMode::Constant:
        if (i < 0 || i >= n) i = -1;
        break;
      case PadMode::Reflect:
        if (i < 0) i = -i;
        if (i >= n) i = 2 * (n - 1) - i;
        break;
      case PadMode::Replicate:
        i = std::clamp<int64_t>(i, 0, n - 1);
        break;
      case PadMode::Circular:
        i = ((i % n) + n) % n;
        break;
    }
    t[size_t(o)] = i;
  }
  return t;
}

}  // namespace detail

// Pads the last pad.size()/2 dims of x; pad lists (left, right) pairs starting from the last
// dim, as torch.nn.functional.pad. Constant mode accepts negative pads (cropping) and any
// number of dims; reflect needs pads smaller than the dim, replicate / circular non-empty dims.
template <class T>
Tensor<T> pad(const Tensor<T>& x, const std::vector<int64_t>& pad, PadOptions options = {}) {
  static_assert(std::is_floating_point_v<T>, "pad: needs float or double tensors");
  EMBER_CHECK(x.defined(), "pad: input is undefined");
  const int64_t k = int64_t(pad.size()) / 2, nd = x.dim();
  EMBER_CHECK(pad.size() % 2 == 0 && k <= nd, "pad: expected an even number of pads covering at "
              "most the input's ", nd, " dims, got ", pad.size(), " for shape ", shape_str(x.shape()));
  if (k == 0) return x.clone();
  const char* mode_name[] = {"constant", "reflect", "replicate", "circular"};
  if (options.mode != PadMode::Constant)
    EMBER_CHECK(k <= 3 && nd >= k + 1 && nd <= k + 2, "pad: ", mode_name[int(options.mode)],
                " padding of ", k, " dims expects a ", k + 1, "-D or ", k + 2,
                "-D input, got shape ", shape_str(x.shape()));
  Shape small = x.shape(), big = x.shape();
  std::vector<std::vector<int64_t>> tables;
  for (int64_t j = 0; j < k; ++j) {  // j = 0 is the first padded dim (nd - k)
    const int64_t d = nd - k + j;
    const int64_t left = pad[size_t(2 * (k - 1 - j))], right = pad[size_t(2 * (k - 1 - j) + 1)];
    const int64_t n = small[d];
    big[d] = n + left + right;
    EMBER_CHECK(big[d] >= 0, "pad: pads (", left, ", ", right, ") make dim ", d, " of shape ",
                shape_str(x.shape()), " negative");
    if (options.mode == PadMode::Reflect)
      EMBER_CHECK(left >= 0 && right >= 0 && left < n && right < n, "pad: reflect padding (",
                  left, ", ", right, ") must be non-negative and smaller than dim ", d, " (size ",
                  n, ") of shape ", shape_str(x.shape()));
    if (options.mode == PadMode::Replicate || options.mode == PadMode::Circular)
      EMBER_CHECK(left >= 0 && right >= 0 && n > 0 &&
                      (options.mode == PadMode::Replicate || (left <= n && right <= n)),
                  "pad: ", mode_name[int(options.mode)], " padding (", left, ", ", right,
                  ") does not fit dim ", d, " (size ", n, ") of shape ", shape_str(x.shape()));
    tables.push_back(detail::pad_table(n, left, right, options.mode));
  }
  Tensor<T> out = backend::pad(x, small, big, tables, T(options.value), false, "pad");
  if (any_requires_grad(x)) {
    // The gradient of the affine map is the adjoint of its linear part (fill 0).
    auto fwd = [small, big, tables](const Tensor<T>& v) {
      return backend::pad(v, small, big, tables, T(0), false, "pad");
    };
    auto adj = [small, big, tables](const Tensor<T>& g) {
      return backend::pad(g, small, big, tables, T(0), true, "pad");
    };
    record(out, "pad", {x}, [fwd, adj](const Tensor<T>& g) -> Grads {
      return {detail::linear_map(g, "pad_backward", adj, fwd)};
    });
  }
  return out;
}

// ---------------------------------------------------------------------- interpolate

enum class InterpolateMode { Nearest, Bilinear };

// Exactly one of size and scale_factor (each 1 value for both dims, or 2). align_corners is
// for bilinear only (false when not given, PyTorch's default).
struct InterpolateOptions {
  std::vector<int64_t> size = {};
  std::vector<double> scale_factor = {};
  InterpolateMode mode = InterpolateMode::Nearest;
  std::optional<bool> align_corners = std::nullopt;
};

namespace detail {

// PyTorch's index arithmetic (UpSample.h): scales in float for nearest, in T for bilinear.
template <class T>
cpu::InterpTable<T> interp_table(int64_t in, int64_t out, std::optional<double> scale,
                            InterpolateMode mode, bool align_corners) {
  cpu::InterpTable<T> t;
  t.i0.resize(size_t(out));
  t.i1.resize(size_t(out));
  t.w0.resize(size_t(out));
  t.w1.resize(size_t(out));
  for (int64_t o = 0; o < out; ++o) {
    if (mode == InterpolateMode::Nearest) {
      const float s = scale ? float(1.0 / *scale) : float(in) / float(out);
      const int64_t i = std::min<int64_t>(int64_t(std::floor(float(o) * s)), in - 1);
      t.i0[size_t(o)] = t.i1[size_t(o)] = i;
      t.w0[size_t(o)] = T(1);
      t.w1[size_t(o)] = T(0);
    } else {
      T s;
      if (align_corners) s = out > 1 ? T(in - 1) / T(out - 1) : T(0);
      else s = scale ? T(1.0 / *scale) : T(in) / T(out);
      T src = align_corners ? s * T(o) : std::max(s * (T(o) + T(0.5)) - T(0.5), T(0));
      const int64_t i0 = std::min<int64_t>(int64_t(src), in - 1);
      const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
      const T l1 = std::min(src - T(i0), T(1));
      t.i0[size_t(o)] = i0;
      t.i1[size_t(o)] = i1;
      t.w0[size_t(o)] = T(1) - l1;
      t.w1[size_t(o)] = l1;
    }
  }
  return t;
}

}  // namespace detail

// Resizes the last two dims of a 3-D [C, H, W] or 4-D [N, C, H, W] input
// (torch.nn.functional.interpolate for mode 'nearest' and 'bilinear').
template <class T>
Tensor<T> interpolate(const Tensor<T>& x, InterpolateOptions options) {
  static_assert(std::is_floating_point_v<T>, "interpolate: needs float or double tensors");
  EMBER_CHECK(x.defined() && (x.dim() == 3 || x.dim() == 4),
              "interpolate: expected a 3-D or 4-D input, got shape ",
              x.defined() ? shape_str(x.shape()) : std::string("(undefined)"));
  const bool has_size = !options.size.empty(), has_scale = !options.scale_factor.empty();
  EMBER_CHECK(has_size != has_scale, "interpolate: give exactly one of size and scale_factor");
  EMBER_CHECK(options.size.size() <= 2 && options.scale_factor.size() <= 2,
              "interpolate: size and scale_factor take 1 or 2 values for a 2-D resize");
  const bool bilinear = options.mode == InterpolateMode::Bilinear;
  EMBER_CHECK(bilinear || !options.align_corners.has_value(),
              "interpolate: align_corners only applies to bilinear mode");
  const bool align = options.align_corners.value_or(false);
  const int64_t nd = x.dim();
  Shape small = x.shape(), big = x.shape();
  std::optional<double> scale[2];
  for (int i = 0; i < 2; ++i) {
    const int64_t in = small[nd - 2 + i];
    EMBER_CHECK(in > 0, "interpolate: input ", shape_str(x.shape()), " has an empty spatial dim");
    if (has_size) {
      big[nd - 2 + i] = options.size[options.size.size() == 1 ? 0 : size_t(i)];
    } else {
      const double sf = options.scale_factor[options.scale_factor.size() == 1 ? 0 : size_t(i)];
      EMBER_CHECK(sf > 0, "interpolate: scale_factor must be positive, got ", sf);
      big[nd - 2 + i] = int64_t(std::floor(double(in) * sf));
      scale[i] = sf;
    }
    EMBER_CHECK(big[nd - 2 + i] > 0, "interpolate: output size must be positive, got ",
                shape_str(big), " for input ", shape_str(x.shape()));
  }
  const auto th = detail::interp_table<T>(small[nd - 2], big[nd - 2], scale[0], options.mode, align);
  const auto tw = detail::interp_table<T>(small[nd - 1], big[nd - 1], scale[1], options.mode, align);
  auto fwd = [small, big, th, tw](const Tensor<T>& v) {
    return backend::interpolate(v, small, big, th, tw, false, "interpolate");
  };
  auto adj = [small, big, th, tw](const Tensor<T>& g) {
    return backend::interpolate(g, small, big, th, tw, true, "interpolate");
  };
  return detail::linear_map(x, bilinear ? "upsample_bilinear2d" : "upsample_nearest2d", fwd, adj);
}

}  // namespace ember
