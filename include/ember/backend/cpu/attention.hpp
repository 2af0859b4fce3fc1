// The CPU kernel of attention's causal mask (ops/attention.hpp's fill_above_diagonal).
#pragma once

#include <algorithm>
#include <cstdint>

#include <ember/backend/cpu/parallel.hpp>

namespace ember::cpu {

// x, contiguous [B, L, S], gets `value` wherever j > i + diagonal; rows run in parallel.
template <class T>
void fill_above_diagonal(T* x, int64_t B, int64_t L, int64_t S, int64_t diagonal, T value) {
  parallel_for(B * L, B * L * S, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % L;
      T* row = x + r * S;
      for (int64_t j = std::max<int64_t>(0, i + diagonal + 1); j < S; ++j) row[j] = value;
    }
  });
}

}  // namespace ember::cpu
