// Dropout (inverted, as in PyTorch): in training each element is kept with probability 1 - p
// and scaled by 1 / (1 - p), so the expected output equals the input and evaluation needs no
// rescaling. The mask comes from backend/dropout.hpp: on the CPU drawn from the Generator, on
// CUDA from a counter-based Philox generator keyed by one value drawn from the Generator: a
// seed gives the same mask on every run and launch shape, but a different one from the CPU's.
//
// Gradient contract: the output is mul(x, mask) with a constant mask (0 or 1 / (1 - p)), so
// the gradient is g * mask through mul's own rule, and second derivatives come for free.
#pragma once

#include <cstdint>

#include <ember/backend/dropout.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>

namespace ember {

// The keep-and-scale mask dropout multiplies by: Bernoulli(1 - p) / (1 - p), drawn in row-major
// order from `gen` (serially, so a seed gives the same mask on any thread count). 0 <= p < 1.
template <class T>
Tensor<T> dropout_mask(const Shape& shape, double p, Generator& gen = default_generator()) {
  static_assert(is_differentiable_v<T>, "dropout: needs a floating-point or complex tensor");
  EMBER_CHECK(p >= 0.0 && p < 1.0, "dropout_mask: probability must be in [0, 1), got ", p);
  return backend::dropout_mask<T>(shape, p, gen, Device::cpu(), "dropout_mask");
}

// Zeroes each element with probability p when training and scales the rest by 1 / (1 - p);
// the identity when !training or p == 0. Like torch.nn.functional.dropout(x, p, training).
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p = 0.5, bool training = true,
                  Generator& gen = default_generator()) {
  static_assert(is_differentiable_v<T>, "dropout: needs a floating-point or complex tensor");
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got ", p,
              " (input shape ", shape_str(x.shape()), ")");
  if (!training || p == 0.0) return x;
  // Everything dropped: x * 0 keeps the graph, so gradients are zeros rather than missing.
  if (p == 1.0) return mul(x, T(0));
  return mul(x, backend::dropout_mask<T>(x.shape(), p, gen, x.device(), "dropout"));
}

}  // namespace ember
