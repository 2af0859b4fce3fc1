// Padding (constant, reflect, replicate, circular) and 2-D interpolation (nearest, bilinear
// with align_corners true or false), with PyTorch's semantics (torch.nn.functional.pad and
// interpolate).
//
// Both are linear maps of the input (constant padding up to its constant), written as a
// kernel and its adjoint; each op's gradient is the other one, so second derivatives work
// (detail::linear_map).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cuda/dispatch_spatial.hpp>
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

// Gathers (forward) or scatter-adds (adjoint) through per-dim index tables over the last k
// dims of a contiguous tensor; `small` is the unpadded shape and `big` the padded one.
template <class T>
Tensor<T> pad_kernel(const Tensor<T>& src, const Shape& small, const Shape& big,
                     const std::vector<std::vector<int64_t>>& tables, T fill, bool adjoint) {
  if (cuda::use_cuda("pad", src)) return cuda::pad(src, small, big, tables, fill, adjoint);
  const int64_t k = int64_t(tables.size()), nd = int64_t(small.size());
  const Shape& out_shape = adjoint ? small : big;
  Tensor<T> out = adjoint ? Tensor<T>::zeros(small, src.device()) : Tensor<T>::empty(big, src.device());
  int64_t outer = 1;
  for (int64_t d = 0; d < nd - k; ++d) outer *= small[d];
  int64_t big_inner = 1, small_inner = 1;
  for (int64_t d = nd - k; d < nd; ++d) {
    big_inner *= big[d];
    small_inner *= small[d];
  }
  const int64_t big_last = big[nd - 1];
  const int64_t rows = big_inner / std::max<int64_t>(big_last, 1);  // padded rows per outer
  const std::vector<int64_t>& last = tables.back();
  const T* s = src.data_ptr();
  T* o = out.data_ptr();
  // One work item per outer slice: in the adjoint, reflected elements of a slice write to the
  // same place, so slices are the unit that never collides.
  cpu::parallel_for(outer, outer * big_inner, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      for (int64_t r = 0; r < rows; ++r) {
        // Source row offset (in small's inner block) of padded row r, or -1.
        int64_t rem = r, off = 0, mul = small[nd - 1];
        bool valid = true;
        for (int64_t d = k - 2; d >= 0; --d) {
          const int64_t size = big[nd - k + d];
          const int64_t idx = tables[size_t(d)][size_t(rem % size)];
          rem /= size;
          if (idx < 0) valid = false;
          off += idx * mul;
          mul *= small[nd - k + d];
        }
        const int64_t big_row = b * big_inner + r * big_last;
        const int64_t small_row = b * small_inner + off;
        if (!adjoint) {
          T* dst = o + big_row;
          if (!valid) {
            std::fill_n(dst, big_last, fill);
            continue;
          }
          const T* sr = s + small_row;
          for (int64_t j = 0; j < big_last; ++j) {
            const int64_t i = last[size_t(j)];
            dst[j] = i < 0 ? fill : sr[i];
          }
        } else {
          if (!valid) continue;
          const T* g = s + big_row;
          T* dst = o + small_row;
          for (int64_t j = 0; j < big_last; ++j) {
            const int64_t i = last[size_t(j)];
            if (i >= 0) dst[i] += g[j];
          }
        }
      }
    }
  });
  (void)out_shape;
  return out;
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
  const T fill = T(options.value);
  Tensor<T> out = detail::pad_kernel(x.detach().contiguous(), small, big, tables, fill, false);
  if (any_requires_grad(x)) {
    // The gradient of the affine map is the adjoint of its linear part (fill 0).
    auto fwd = [small, big, tables](const Tensor<T>& v) {
      return detail::pad_kernel(v, small, big, tables, T(0), false);
    };
    auto adj = [small, big, tables](const Tensor<T>& g) {
      return detail::pad_kernel(g, small, big, tables, T(0), true);
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

// For each output position along one axis: the two source positions and their weights
// (nearest: i1 = i0, w0 = 1, w1 = 0).
template <class T>
struct InterpTable {
  std::vector<int64_t> i0, i1;
  std::vector<T> w0, w1;
};

// PyTorch's index arithmetic (UpSample.h): scales in float for nearest, in T for bilinear.
template <class T>
InterpTable<T> interp_table(int64_t in, int64_t out, std::optional<double> scale,
                            InterpolateMode mode, bool align_corners) {
  InterpTable<T> t;
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

// Separable 2-D interpolation of planes [P, H, W] -> [P, OH, OW] (forward), or its adjoint.
template <class T>
Tensor<T> interp_kernel(const Tensor<T>& src, const Shape& small, const Shape& big,
                        const InterpTable<T>& th, const InterpTable<T>& tw, bool adjoint) {
  if (cuda::use_cuda("interpolate", src))
    return cuda::interpolate(src, small, big, th, tw, adjoint);
  const int64_t nd = int64_t(small.size());
  const int64_t H = small[nd - 2], W = small[nd - 1], OH = big[nd - 2], OW = big[nd - 1];
  int64_t P = 1;
  for (int64_t d = 0; d < nd - 2; ++d) P *= small[d];
  Tensor<T> out = adjoint ? Tensor<T>::zeros(small, src.device()) : Tensor<T>::empty(big, src.device());
  const T* s = src.data_ptr();
  T* o = out.data_ptr();
  cpu::parallel_for(P, P * OH * OW * 4, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = th.i0[size_t(oh)], h1 = th.i1[size_t(oh)];
        const T a0 = th.w0[size_t(oh)], a1 = th.w1[size_t(oh)];
        if (!adjoint) {
          const T* r0 = s + (p * H + h0) * W;
          const T* r1 = s + (p * H + h1) * W;
          T* dst = o + (p * OH + oh) * OW;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t w0 = tw.i0[size_t(ow)], w1 = tw.i1[size_t(ow)];
            const T b0 = tw.w0[size_t(ow)], b1 = tw.w1[size_t(ow)];
            dst[ow] = a0 * (b0 * r0[w0] + b1 * r0[w1]) + a1 * (b0 * r1[w0] + b1 * r1[w1]);
          }
        } else {
          T* r0 = o + (p * H + h0) * W;
          T* r1 = o + (p * H + h1) * W;
          const T* g = s + (p * OH + oh) * OW;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t w0 = tw.i0[size_t(ow)], w1 = tw.i1[size_t(ow)];
            const T b0 = tw.w0[size_t(ow)], b1 = tw.w1[size_t(ow)];
            const T v = g[ow];
            r0[w0] += a0 * b0 * v;
            r0[w1] += a0 * b1 * v;
            r1[w0] += a1 * b0 * v;
            r1[w1] += a1 * b1 * v;
          }
        }
      }
    }
  });
  return out;
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
    return detail::interp_kernel(v, small, big, th, tw, false);
  };
  auto adj = [small, big, th, tw](const Tensor<T>& g) {
    return detail::interp_kernel(g, small, big, th, tw, true);
  };
  return detail::linear_map(x, bilinear ? "upsample_bilinear2d" : "upsample_nearest2d", fwd, adj);
}

}  // namespace ember
