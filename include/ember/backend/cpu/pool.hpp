// Pooling kernels over contiguous planes [P, H, W] -> [P, OH, OW] (ops/pool.hpp): the max of
// each window with its flat index, the gather at those indices and its adjoint, and window
// means and their adjoint. The windows are tables the op builds (PoolWindows), the same
// tables the CUDA kernels read (cuda/ember/cuda/pool.cuh), so values and indices match.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>

namespace ember::cpu {

// Planes geometry of a 2-D pooling: P planes of H x W pooled to OH x OW with kernel k, stride
// s, padding p and dilation d per spatial dim.
struct PoolGeom {
  int64_t P = 1, H = 1, W = 1, OH = 1, OW = 1;
  int64_t k[2] = {1, 1}, s[2] = {1, 1}, p[2] = {0, 0}, d[2] = {1, 1};
};

// The window of each output position: rows [h_lo[oh], h_hi[oh]) stepping h_step, columns
// [w_lo[ow], w_hi[ow]) stepping w_step, clipped to the input.
struct PoolWindows {
  std::vector<int64_t> h_lo, h_hi, w_lo, w_hi;
  int64_t h_step = 1, w_step = 1;
};

// Argmax (NaN wins, first maximum on ties) of each window: out and idx [P, OH, OW], idx the
// flat position h*W + w inside the plane.
template <class T>
void max_pool(const PoolGeom& g, const PoolWindows& win, const T* x, T* out, int64_t* idx) {
  parallel_for(g.P, g.P * g.OH * g.OW * 4, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* xp = x + p * g.H * g.W;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          T best = -std::numeric_limits<T>::infinity();
          int64_t arg = -1;
          for (int64_t h = win.h_lo[size_t(oh)]; h < win.h_hi[size_t(oh)]; h += win.h_step)
            for (int64_t w = win.w_lo[size_t(ow)]; w < win.w_hi[size_t(ow)]; w += win.w_step) {
              const T v = xp[h * g.W + w];
              if (arg < 0 || v > best || std::isnan(v)) {
                best = v;
                arg = h * g.W + w;
                if (std::isnan(v)) goto done;
              }
            }
        done:
          const int64_t o = (p * g.OH + oh) * g.OW + ow;
          out[o] = best;
          idx[o] = arg < 0 ? 0 : arg;
        }
    }
  });
}

// Max pooling's values as a linear map of x for fixed indices idx [P, OH*OW]: forward
// out [P, OH*OW] = x [P, H*W] at idx; adjoint out [P, H*W] (overwritten) = the sum of src
// [P, OH*OW] at idx, in increasing output order (gather's gradient, a scatter-add, sums in
// the same order).
template <class T>
void pool_gather(const PoolGeom& g, const T* src, const int64_t* idx, T* out, bool adjoint) {
  const int64_t n_in = g.H * g.W, n_out = g.OH * g.OW;
  parallel_for(g.P, g.P * n_out, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t* ip = idx + p * n_out;
      if (!adjoint) {
        const T* sp = src + p * n_in;
        T* op = out + p * n_out;
        for (int64_t o = 0; o < n_out; ++o) op[o] = sp[ip[o]];
      } else {
        const T* sp = src + p * n_out;
        T* op = out + p * n_in;
        std::fill_n(op, n_in, T(0));
        for (int64_t o = 0; o < n_out; ++o) op[ip[o]] += sp[o];
      }
    }
  });
}

// Window means: out [P, OH, OW] = the sum over each window * inv_div[oh*OW + ow] (forward), or
// the adjoint: out [P, H, W] (overwritten) sums each output's scaled value into its window.
// The window size k when every window is k x k, unstrided inside, at stride k from the origin
// (avg_pool2d(2) and friends: no padding, no overlap); 0 otherwise.
inline int64_t tiling_window(const PoolGeom& g, const PoolWindows& win) {
  if (win.h_step != 1 || win.w_step != 1 || g.OH == 0 || g.OW == 0) return 0;
  const int64_t k = win.h_hi[0] - win.h_lo[0];
  for (int64_t o = 0; o < g.OH; ++o)
    if (win.h_lo[size_t(o)] != o * k || win.h_hi[size_t(o)] != o * k + k) return 0;
  for (int64_t o = 0; o < g.OW; ++o)
    if (win.w_lo[size_t(o)] != o * k || win.w_hi[size_t(o)] != o * k + k) return 0;
  return k;
}

template <class T>
void window_mean(const PoolGeom& g, const PoolWindows& win, const T* src,
                 const std::vector<T>& inv_div, T* out, bool adjoint) {
  const int64_t k = tiling_window(g, win);
  parallel_for(g.P, g.P * g.OH * g.OW * 4, [&](int64_t begin, int64_t end) {
    if (adjoint) std::fill(out + begin * g.H * g.W, out + end * g.H * g.W, T(0));
    for (int64_t p = begin; p < end; ++p)
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const T* scale = inv_div.data() + oh * g.OW;
        if (k > 0 && !adjoint) {
          // Tiling windows: the generic loop's order (rows, then columns) without its tables.
          T* o = out + (p * g.OH + oh) * g.OW;
          const T* rows = src + p * g.H * g.W + oh * k * g.W;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            T acc = T(0);
            for (int64_t a = 0; a < k; ++a)
              for (int64_t b = 0; b < k; ++b) acc += rows[a * g.W + ow * k + b];
            o[ow] = acc * scale[ow];
          }
          continue;
        }
        if (k > 0) {  // the adjoint of tiling windows: each input belongs to one window
          const T* v = src + (p * g.OH + oh) * g.OW;
          T* rows = out + p * g.H * g.W + oh * k * g.W;
          for (int64_t a = 0; a < k; ++a)
            for (int64_t ow = 0; ow < g.OW; ++ow)
              for (int64_t b = 0; b < k; ++b) rows[a * g.W + ow * k + b] = v[ow] * scale[ow];
          continue;
        }
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t oi = (p * g.OH + oh) * g.OW + ow;
          if (!adjoint) {
            const T* xp = src + p * g.H * g.W;
            T acc = T(0);
            for (int64_t h = win.h_lo[size_t(oh)]; h < win.h_hi[size_t(oh)]; h += win.h_step)
              for (int64_t w = win.w_lo[size_t(ow)]; w < win.w_hi[size_t(ow)]; w += win.w_step)
                acc += xp[h * g.W + w];
            out[oi] = acc * scale[ow];
          } else {
            T* xp = out + p * g.H * g.W;
            const T v = src[oi] * scale[ow];
            for (int64_t h = win.h_lo[size_t(oh)]; h < win.h_hi[size_t(oh)]; h += win.h_step)
              for (int64_t w = win.w_lo[size_t(ow)]; w < win.w_hi[size_t(ow)]; w += win.w_step)
                xp[h * g.W + w] += v;
          }
        }
      }
  });
}

}  // namespace ember::cpu
