// The CPU kernel of the sampling family (ops/sampling.hpp): multinomial draws by the inverse
// CDF (the rule of backend/categorical.hpp), uniforms from the Generator.
#pragma once

#include <cstdint>
#include <ember/backend/categorical.hpp>
#include <ember/core/random.hpp>
#include <vector>

namespace ember::cpu {

// out[r, s] for r < rows, s < num_samples: a category of row r of the contiguous [rows,
// categories] weights p (checked by the op: non-negative, positive sum, and without
// replacement at least num_samples positive weights). The uniforms are drawn in row-major
// order (r, s) from gen, serially, so a seed gives the same samples on any thread count.
template <class T>
void multinomial(int64_t* out, const T* p, int64_t rows, int64_t categories, int64_t num_samples,
                 bool replacement, Generator& gen) {
  std::vector<double> acc(
      static_cast<size_t>(categories));  // the running sums, or the remaining weights
  for (int64_t r = 0; r < rows; ++r) {
    const T* w = p + r * categories;
    int64_t* o = out + r * num_samples;
    if (replacement) {
      double running = 0;
      for (int64_t c = 0; c < categories; ++c) acc[size_t(c)] = running += double(w[c]);
      for (int64_t s = 0; s < num_samples; ++s)
        o[s] = categorical::pick_from_cdf(acc.data(), w, categories, gen.uniform());
    } else {
      for (int64_t c = 0; c < categories; ++c) acc[size_t(c)] = double(w[c]);
      for (int64_t s = 0; s < num_samples; ++s) {
        o[s] = categorical::pick_from_weights(acc.data(), categories, gen.uniform());
        acc[size_t(o[s])] = 0;
      }
    }
  }
}

}  // namespace ember::cpu
