// Categorical sampling: multinomial. The kernels are in backend/sampling.hpp (the pick rule,
// shared by both devices, in backend/categorical.hpp). A family of its own rather than a part
// of dropout: dropout is a differentiable nn op whose randomness is an internal mask, while a
// sampler returns the random draws themselves (int64 indices, no gradient).
//
// Randomness: on the CPU the uniforms are drawn in row-major order (row, sample) from the
// Generator; on CUDA from a counter-based Philox generator keyed by one value drawn from the
// Generator, as dropout's masks. A seed gives the same samples on every run of one device, but
// the two devices' samples differ (as dropout's masks do).
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/backend/sampling.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <type_traits>

namespace ember {

namespace detail {

// Every row of the [rows, categories] weights must be finite and non-negative with a positive
// sum, and hold at least `needed` positive weights (the samples drawn without replacement).
// Read from a host copy: one transfer from a CUDA device.
template <class T>
void check_categorical_weights(const Tensor<T>& p, int64_t needed, const Shape& shape) {
  const Tensor<T> host = p.detach().to(Device::cpu()).contiguous();
  const int64_t rows = host.shape()[0], categories = host.shape()[1];
  const T* w = host.data_ptr();
  for (int64_t r = 0; r < rows; ++r) {
    double total = 0;
    int64_t positive = 0;
    for (int64_t c = 0; c < categories; ++c) {
      const T v = w[r * categories + c];
      EMBER_CHECK(std::isfinite(double(v)) && v >= T(0), "multinomial: the weights (shape ",
                  shape_str(shape), ") must be finite and non-negative; row ", r, " has ", v,
                  " at category ", c);
      total += double(v);
      positive += v > T(0);
    }
    EMBER_CHECK(total > 0, "multinomial: the weights of row ", r, " (of probs of shape ",
                shape_str(shape), ") sum to 0; each row needs a positive weight");
    EMBER_CHECK(positive >= needed, "multinomial: row ", r, " (of probs of shape ",
                shape_str(shape), ") has ", positive, " positive weights, too few for ", needed,
                " samples without replacement");
  }
}

}  // namespace detail

// num_samples category indices drawn from each row of probs ([C] or [N, C]; non-negative
// weights, not necessarily normalised, each row with a positive sum): category c with
// probability probs[c] / sum(probs). Without replacement a category is drawn at most once per
// row (num_samples <= C, and at least num_samples positive weights per row), each draw from the
// weights left. Returns int64 indices of shape [num_samples] or [N, num_samples] on probs's
// device, with no gradient. Like torch.multinomial(probs, num_samples, replacement, generator).
template <class T>
Tensor<int64_t> multinomial(const Tensor<T>& probs, int64_t num_samples, bool replacement = false,
                            Generator& gen = default_generator()) {
  static_assert(std::is_floating_point_v<T>, "multinomial: needs a float or double tensor");
  EMBER_CHECK(probs.dim() == 1 || probs.dim() == 2,
              "multinomial: probs must be 1-D [C] or 2-D [N, C], got shape ",
              shape_str(probs.shape()));
  const Tensor<T> p = probs.dim() == 1 ? probs.detach().unsqueeze(0) : probs.detach();
  const int64_t categories = p.shape()[1];
  EMBER_CHECK(categories > 0, "multinomial: probs of shape ", shape_str(probs.shape()),
              " has no categories");
  EMBER_CHECK(num_samples > 0, "multinomial: num_samples must be positive, got ", num_samples);
  EMBER_CHECK(replacement || num_samples <= categories, "multinomial: cannot draw ", num_samples,
              " samples without replacement from ", categories, " categories (probs of shape ",
              shape_str(probs.shape()), ")");
  detail::check_categorical_weights(p, replacement ? 1 : num_samples, probs.shape());
  const Tensor<int64_t> out = backend::multinomial(p, num_samples, replacement, gen, "multinomial");
  return probs.dim() == 1 ? out.reshape({num_samples}) : out;
}

}  // namespace ember
