// The device choice, for the backend functions below the ops (DESIGN.md principle 6): an op
// checks its inputs, calls backend::<kernel>(...), which runs the CPU or the CUDA kernel for
// the inputs' device, and records one gradient rule. This header is the one place that knows
// whether the build has a CUDA backend.
//
// A backend function reads
//
//   if (on_cuda("softmax", x)) {
//     if constexpr (cuda_kernels_v<T>) { ...launch, return... }   // float / double
//     no_cuda_kernel<T>("softmax");                                 // other dtypes
//   }
//   return cpu::softmax(...);
//
// In a CPU-only build cuda_kernels_v is false for every type, so the CUDA launchers (declared
// in the family's header, defined in cuda/ember/cuda/<family>.cuh) are never referenced, and
// on_cuda throws for a CUDA tensor before anything else runs.
#pragma once

#include <type_traits>

#include <ember/core/device.hpp>
#include <ember/core/dtype.hpp>
#include <ember/core/error.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

// True in a build with the CUDA backend (-DEMBER_CUDA=ON defines EMBER_WITH_CUDA).
#ifdef EMBER_WITH_CUDA
inline constexpr bool cuda_built = true;
#else
inline constexpr bool cuda_built = false;
#endif

// The element types the CUDA kernels are compiled for (none in a CPU-only build).
template <class T>
inline constexpr bool cuda_kernels_v =
    cuda_built && (std::is_same_v<T, float> || std::is_same_v<T, double>);

// True when `op` must run on CUDA: some defined operand is on a CUDA device. Then every defined
// operand must be on that same device (else ember::Error naming both devices). In a CPU-only
// build a CUDA operand throws ("configure with -DEMBER_CUDA=ON"); with no CUDA operand, every
// defined operand must be on the CPU.
template <class... Ts>
bool on_cuda(const char* op, const Tensor<Ts>&... ts) {
  bool any = false;
  Device dev;
  auto find = [&](const auto& t) {
    if (t.defined() && t.device().is_cuda() && !any) any = true, dev = t.device();
  };
  (find(ts), ...);
  if (!any) return false;
  auto same = [&](const auto& t) {
    EMBER_CHECK(!t.defined() || t.device() == dev, op, ": operands are on different devices (",
                t.device().str(), " and ", dev.str(), ")");
  };
  (same(ts), ...);
  if constexpr (!cuda_built) check_cpu(dev, op);
  return true;
}

// The device check alone, for an op composed of other ops that should still name itself in a
// device mismatch (every defined operand on one device; no CUDA tensor in a CPU-only build).
template <class... Ts>
void check_one_device(const char* op, const Tensor<Ts>&... ts) {
  (void)on_cuda(op, ts...);
}

// The error of a CUDA operand of a type without CUDA kernels.
template <class T>
[[noreturn]] void no_cuda_kernel(const char* op) {
  fail(op, ": the CUDA backend has kernels for float32 and float64 only, got ",
       dtype_name(dtype_v<T>));
}

}  // namespace ember
