// A global switch for deterministic kernels (like torch.use_deterministic_algorithms).
//
// CPU kernels are always deterministic (each output element is reduced by one thread in a
// fixed order), so they ignore the flag. On CUDA, ops that accumulate into shared targets with
// atomics (scatter_add, index_add and their users; see backend/indexing.hpp for
// the list) give float sums whose rounding depends on the order the atomics land in. With the
// switch on they take a slower path that sums every target in index order instead, so two runs
// are bitwise equal.
//
// The flag is a plain global, read when an op launches: set it once at start-up, not while
// other threads are running ops.
#pragma once

namespace ember {

namespace detail {
inline bool deterministic_flag = false;
}  // namespace detail

inline void set_deterministic(bool on) { detail::deterministic_flag = on; }
inline bool deterministic() { return detail::deterministic_flag; }

}  // namespace ember
