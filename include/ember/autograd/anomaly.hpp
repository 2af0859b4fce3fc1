// Anomaly mode: find the first op that produces a NaN or an infinity.
//
//   ember::AnomalyGuard guard;   // or ember::detect_anomaly(true)
//   loss.backward();             // throws ember::Error naming the first bad op
//
// When on (a thread_local flag, like GradMode), two places scan tensors for NaN/Inf:
//  - record(): the output of every op that records a graph node (that is, every op applied
//    to tensors that require grad while grad mode is on). Ops that record nothing (under
//    NoGradGuard, or on tensors without requires_grad) are not seen; call check_finite(t, op)
//    on such results where needed.
//  - the engine: every gradient a backward rule returns, before it is accumulated.
// The first hit throws "anomaly: op 'mul' produced NaN in its forward output [2, 3]" or
// "anomaly: op 'log' produced Inf in the gradient for input 0 in backward [4]".
// When off, the cost is one thread_local load and branch per op. Ops that produce -inf on
// purpose (masked_fill before a softmax) trip the forward check: AnomalyGuard(true, false)
// or detect_anomaly(true, false) then checks forward outputs for NaN only.
//
// check_loss(loss, step) is the training-loop guard: it throws a clear Error when the loss
// is NaN or infinite, whether or not anomaly mode is on.
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <ember/core/dtype.hpp>
#include <ember/core/error.hpp>
#include <ember/core/tensor_impl.hpp>
#include <string>
#include <type_traits>
#include <vector>

namespace ember {

template <class T>
class Tensor;

class AnomalyMode {
 public:
  static bool is_enabled() { return state().enabled; }
  static void set_enabled(bool enabled) { state().enabled = enabled; }
  // Whether an infinity in a forward output is an anomaly (NaN always is). Off for models that
  // produce -inf on purpose, e.g. masked_fill(scores, mask, -inf) before a softmax.
  static bool forward_inf_is_anomaly() { return state().forward_inf; }
  static void set_forward_inf_is_anomaly(bool on) { state().forward_inf = on; }

 private:
  struct State {
    bool enabled = false;
    bool forward_inf = true;
  };
  static State& state() {
    thread_local State s;
    return s;
  }
};

// Turns anomaly detection on or off for the calling thread.
inline void detect_anomaly(bool enabled, bool forward_inf_is_anomaly = true) {
  AnomalyMode::set_enabled(enabled);
  AnomalyMode::set_forward_inf_is_anomaly(forward_inf_is_anomaly);
}
inline bool is_anomaly_enabled() { return AnomalyMode::is_enabled(); }

// Sets anomaly mode for a scope and restores the previous setting on exit.
class AnomalyGuard {
 public:
  explicit AnomalyGuard(bool enabled = true, bool forward_inf_is_anomaly = true)
      : previous_(AnomalyMode::is_enabled()), previous_inf_(AnomalyMode::forward_inf_is_anomaly()) {
    detect_anomaly(enabled, forward_inf_is_anomaly);
  }
  ~AnomalyGuard() { detect_anomaly(previous_, previous_inf_); }
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_, previous_inf_;
};

namespace detail {

template <class T>
int nonfinite_kind(const T& v) {  // 0 finite, 1 NaN, 2 Inf
  if constexpr (is_complex_v<T>) {
    const int a = nonfinite_kind(v.real()), b = nonfinite_kind(v.imag());
    return a == 1 || b == 1 ? 1 : (a ? a : b);
  } else {
    return std::isnan(v) ? 1 : (std::isinf(v) ? 2 : 0);
  }
}

// "NaN", "Inf" or nullptr: the first non-finite element of a (strided) tensor of floating or
// complex dtype (infinities ignored unless `inf`); integer and bool tensors are always finite.
// CPU storage only: CUDA tensors are not scanned yet.
inline const char* first_nonfinite(const TensorImpl& t, bool inf = true) {
  if (!t.storage || !t.storage->device().is_cpu()) return nullptr;
  return visit_dtype(t.dtype, [&](auto* tag) -> const char* {
    using T = std::remove_pointer_t<decltype(tag)>;
    if constexpr (!is_differentiable_v<T>) {
      return nullptr;
    } else {
      const T* base = static_cast<const T*>(t.storage->data()) + t.offset;
      const int64_t n = t.numel();
      const int64_t nd = int64_t(t.shape.size());
      std::vector<int64_t> idx(size_t(nd), 0);
      for (int64_t i = 0; i < n; ++i) {
        int64_t off = 0;
        for (int64_t d = 0; d < nd; ++d) off += idx[size_t(d)] * t.strides[size_t(d)];
        if (const int k = nonfinite_kind(base[off]); k == 1 || (k == 2 && inf))
          return k == 1 ? "NaN" : "Inf";
        for (int64_t d = nd - 1; d >= 0; --d) {
          if (++idx[size_t(d)] < t.shape[size_t(d)]) break;
          idx[size_t(d)] = 0;
        }
      }
      return nullptr;
    }
  });
}

// Throws "anomaly: op '<op>' produced <NaN|Inf> in <where> <shape>" if `t` has a bad value.
inline void check_finite_impl(const TensorImpl& t, const std::string& op, const std::string& where,
                              bool inf = true) {
  if (const char* bad = first_nonfinite(t, inf))
    fail("anomaly: op '", op, "' produced ", bad, " in ", where, " ", shape_str(t.shape));
}

// The check record() runs on each recorded forward output while anomaly mode is on.
inline void check_forward_output(const TensorImpl& t, const char* op) {
  check_finite_impl(t, op, "its forward output", AnomalyMode::forward_inf_is_anomaly());
}

}  // namespace detail

// Scans `t` and throws ember::Error naming `op` if it holds a NaN or an infinity. Use it on
// results that anomaly mode does not see (ops that recorded no graph node). Always checks,
// whether or not anomaly mode is on.
template <class T>
void check_finite(const Tensor<T>& t, const char* op) {
  if (t.defined()) detail::check_finite_impl(*t.impl(), op, "its forward output");
}

// The training-loop guard: throws ember::Error when `loss` (a one-element tensor) is NaN or
// infinite, naming the step, so a diverging run stops at once instead of training on garbage.
template <class T>
void check_loss(const Tensor<T>& loss, int64_t step) {
  EMBER_CHECK(loss.defined() && loss.numel() == 1, "check_loss: step ", step,
              ": expected a one-element loss, got shape ",
              loss.defined() ? shape_str(loss.shape()) : std::string("(undefined)"));
  const T v = loss.item();
  if (const int k = detail::nonfinite_kind(v))
    fail("check_loss: the loss is ", k == 1 ? "NaN" : "Inf", " at step ", step,
         " (the model diverged or an input holds NaN/Inf: lower the learning rate, clip "
         "gradients, or rerun the step under ember::AnomalyGuard to find the op)");
}

}  // namespace ember
