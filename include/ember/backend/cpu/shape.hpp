// The CPU kernels of the shape family (ops/shape.hpp): cat's block copies and flip.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>

namespace ember::cpu {

// Copies `outer` contiguous blocks of `block` elements from src to dst, block o to
// dst + o * dst_row: one input of cat (dims before the cat dim outer, the input's part of a
// row the block).
template <class T>
void copy_blocks(const T* src, int64_t outer, int64_t block, T* dst, int64_t dst_row) {
  parallel_for(outer, outer * block, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      std::memcpy(dst + o * dst_row, src + o * block, size_t(block) * sizeof(T));
  });
}

// dst = src reversed along the dims flagged in `flipped`, both contiguous of shape s (st: the
// contiguous strides), one innermost row at a time.
template <class T>
void flip(const T* src, const std::vector<int64_t>& s, const std::vector<int64_t>& st,
          const std::vector<bool>& flipped, T* dst) {
  const int64_t nd = int64_t(s.size());
  int64_t numel = 1;
  for (int64_t v : s) numel *= v;
  if (numel == 0) return;
  const int64_t inner = nd == 0 ? 1 : s[nd - 1];
  const bool flip_inner = nd > 0 && flipped[nd - 1];
  parallel_for(numel / inner, numel, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t rem = r, from = 0;  // offset of the source row of output row r
      for (int64_t d = nd - 2; d >= 0; --d) {
        const int64_t c = rem % s[d];
        rem /= s[d];
        from += (flipped[d] ? s[d] - 1 - c : c) * st[d];
      }
      const T* in = src + from;
      T* o = dst + r * inner;
      if (flip_inner)
        for (int64_t i = 0; i < inner; ++i) o[i] = in[inner - 1 - i];
      else
        std::memcpy(o, in, size_t(inner) * sizeof(T));
    }
  });
}

}  // namespace ember::cpu
