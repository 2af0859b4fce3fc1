// The CPU kernel of dropout (ops/dropout.hpp): the keep-and-scale mask.
#pragma once

#include <cstdint>

#include <ember/core/dtype.hpp>
#include <ember/core/random.hpp>

namespace ember {

namespace cpu {

// mask[i] = Bernoulli(1 - p) / (1 - p) for i < n, drawn in order from `gen` (serially, so a
// seed gives the same mask on any thread count). 0 <= p < 1. The scale is rounded once to T.
template <class T>
void dropout_mask(T* mask, int64_t n, double p, Generator& gen) {
  const double keep = 1.0 - p;
  const T scale = T(real_t<T>(1.0 / keep));
  for (int64_t i = 0; i < n; ++i) mask[i] = gen.uniform() < keep ? scale : T(0);
}

}  // namespace cpu

}  // namespace ember
