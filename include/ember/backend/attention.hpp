// The kernel of attention's causal mask (ops/attention.hpp's fill_above_diagonal) on the
// operand's device: backend/cpu/attention.hpp or cuda/ember/cuda/attention.cuh. The rest of
// attention is bmm, softmax, masked_fill and dropout, each with its own backend.
#pragma once

#include <cstdint>

#include <ember/backend/cpu/attention.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// In place on a contiguous [B, L, S]: x = value where j > i + diagonal; for T = float and
// double.
template <class T>
void fill_above_diagonal(T* x, int64_t B, int64_t L, int64_t S, int64_t diagonal, T value,
                         int device);

}  // namespace cuda

namespace backend {

// A copy of x [..., L, S] with `value` wherever j > i + diagonal.
template <class T>
Tensor<T> fill_above_diagonal(const Tensor<T>& x, int64_t diagonal, T value, const char* name) {
  const bool cuda = on_cuda(name, x);
  Tensor<T> out = x.detach().clone();  // contiguous, on either device: filled in place
  const int64_t L = x.size(-2), S = x.size(-1);
  const int64_t B = L * S == 0 ? 0 : out.numel() / (L * S);
  if (B == 0) return out;
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else cuda::fill_above_diagonal(out.data_ptr(), B, L, S, diagonal, value, x.device().index);
  } else {
    cpu::fill_above_diagonal(out.data_ptr(), B, L, S, diagonal, value);
  }
  return out;
}

}  // namespace backend
}  // namespace ember
