// Padding and 2-D interpolation kernels (ops/upsample.hpp) on contiguous buffers: gathers
// through the per-dim index tables the op builds (so the CUDA kernels of
// cuda/ember/cuda/upsample.cuh, which read the same tables, match), and their adjoints.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>

namespace ember::cpu {

// For each output position along one axis of an interpolation: the two source positions and
// their weights (nearest: i1 = i0, w0 = 1, w1 = 0).
template <class T>
struct InterpTable {
  std::vector<int64_t> i0, i1;
  std::vector<T> w0, w1;
};

// Gathers (forward) or scatter-adds (adjoint) through per-dim index tables over the last k =
// tables.size() dims; `small` is the unpadded shape and `big` the padded one. Forward: out
// [big] = src [small] at the tables' indices, `fill` where an index is -1. Adjoint: out
// [small] (overwritten) sums src [big] over the positions that read each element.
template <class T>
void pad(const std::vector<int64_t>& small, const std::vector<int64_t>& big,
         const std::vector<std::vector<int64_t>>& tables, const T* s, T fill, T* o, bool adjoint) {
  const int64_t k = int64_t(tables.size()), nd = int64_t(small.size());
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
  // One work item per outer slice: in the adjoint, reflected elements of a slice write to the
  // same place, so slices are the unit that never collides.
  parallel_for(outer, outer * big_inner, [&](int64_t begin, int64_t end) {
    if (adjoint) std::fill(o + begin * small_inner, o + end * small_inner, T(0));
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
}

// Separable 2-D interpolation of planes [P, H, W] -> [P, OH, OW] through the row / column
// tables th / tw (forward), or its adjoint [P, OH, OW] -> [P, H, W] (out overwritten).
template <class T>
void interpolate(int64_t P, int64_t H, int64_t W, int64_t OH, int64_t OW, const InterpTable<T>& th,
                 const InterpTable<T>& tw, const T* s, T* o, bool adjoint) {
  parallel_for(P, P * OH * OW * 4, [&](int64_t begin, int64_t end) {
    if (adjoint) std::fill(o + begin * H * W, o + end * H * W, T(0));
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
}

}  // namespace ember::cpu
