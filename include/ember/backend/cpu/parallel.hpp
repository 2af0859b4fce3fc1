// OpenMP helpers. Loops below a grain size stay serial: spawning threads for a few thousand
// elements costs more than it saves. Without -fopenmp everything runs serially.
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

// EMBER_OMP_SIMD(clauses): `#pragma omp simd clauses` under OpenMP. It lets the compiler split
// a float sum over vector lanes (a reassociation it may not do on its own). Without -fopenmp it
// expands to nothing, so such builds get no unknown-pragma warnings.
#ifdef _OPENMP
#define EMBER_OMP_SIMD(clauses) _Pragma(EMBER_OMP_SIMD_STR(omp simd clauses))
#define EMBER_OMP_SIMD_STR(x) #x
#else
#define EMBER_OMP_SIMD(clauses)
#endif

namespace ember::cpu {

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Elements below which an elementwise loop is not worth splitting across threads.
inline constexpr int64_t kParallelGrain = 32768;

// Calls f(begin, end) over [0, n) in contiguous chunks, in parallel when `work` (a rough
// count of elementary operations) is large enough.
template <class F>
void parallel_for(int64_t n, int64_t work, F&& f) {
  if (n <= 0) return;
  const int threads = max_threads();
  if (threads <= 1 || work < kParallelGrain || n == 1) {
    f(int64_t(0), n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
    if (begin < end) f(begin, end);
  }
#else
  f(int64_t(0), n);
#endif
}

}  // namespace ember::cpu
