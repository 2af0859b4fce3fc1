// Dropout (inverted, as in PyTorch): in training each element is kept with probability 1 - p
// and scaled by 1 / (1 - p), so the expected output equals the input and evaluation needs no
// rescaling. On CUDA the mask comes from a counter-based Philox generator keyed by one value
// drawn from the Generator: a seed gives the same mask on every run and launch shape, but a
// different one from the CPU's.
//
// Gradient contract: the output is mul(x, mask) with a constant mask (0 or 1 / (1 - p)), so
// the gradient is g * mask through mul's own rule, and second derivatives come for free.
#pragma once

#include <cstdint>
#include <ember/backend/cuda/dispatch_indexing.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>

namespace ember {

// The keep-and-scale mask dropout multiplies by: Bernoulli(1 - p) / (1 - p), drawn in row-major
// order from `gen` (serially, so a seed gives the same mask on any thread count). 0 <= p < 1.
template <class T>
Tensor<T> dropout_mask(const Shape& shape, double p, Generator& gen = default_generator()) {
  static_assert(is_differentiable_v<T>, "dropout: needs a floating-point or complex tensor");
  EMBER_CHECK(p >= 0.0 && p < 1.0, "dropout_mask: probability must be in [0, 1), got ", p);
  const double keep = 1.0 - p;
  const T scale = T(real_t<T>(1.0 / keep));
  Tensor<T> mask = Tensor<T>::empty(shape);
  T* m = mask.data_ptr();
  for (int64_t i = 0; i < mask.numel(); ++i) m[i] = gen.uniform() < keep ? scale : T(0);
  return mask;
}

// Zeroes each element with probability p when training and scales the rest by 1 / (1 - p);
// the identity when !training or p == 0. Like torch.nn.functional.dropout(x, p, training).
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p = 0.5, bool training = true,
                  Generator& gen = default_generator()) {
  static_assert(is_differentiable_v<T>, "dropout: needs a floating-point or complex tensor");
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got ", p,
              " (input shape ", shape_str(x.shape()), ")");
  const bool on_cuda = cuda::use_cuda("dropout", x);
  if (!on_cuda) check_cpu(x.device(), "dropout");
  if (!training || p == 0.0) return x;
  // Everything dropped: x * 0 keeps the graph, so gradients are zeros rather than missing.
  if (p == 1.0) return mul(x, T(0));
  // CUDA: a Philox mask keyed by one draw from gen (not the CPU's mask for the same seed).
  if (on_cuda) return mul(x, cuda::dropout_mask<T>(x.shape(), p, gen.next_u64(), x.device()));
  return mul(x, dropout_mask<T>(x.shape(), p, gen));
}

}  // namespace ember
