// What every benchmark program shares: the size switch (EMBER_BENCH_SIZE, set by bench/run) and,
// in a CUDA build, the device, the stream sync that makes a timed iteration the GPU's time, and
// the skip where no GPU is visible.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include <ember/backend/cuda/api.hpp>
#include <ember/core/device.hpp>

namespace ember::bench {

// True for the gpu sizes of ../shared/bench/WORKLOADS.md.
inline bool gpu_size() {
  const char* s = std::getenv("EMBER_BENCH_SIZE");
  return s && std::string(s) == "gpu";
}

#ifdef EMBER_WITH_CUDA

inline const Device kGpu = Device::cuda(0);

inline void sync_gpu() { cuda::synchronize(0); }

// False (and the benchmark marked as skipped with a reason) where no GPU is visible.
inline bool have_gpu(benchmark::State& state) {
  if (cuda::is_available()) return true;
  state.SkipWithError("no CUDA device");
  return false;
}

#endif

}  // namespace ember::bench
