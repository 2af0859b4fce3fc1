// cuFFT plans for ember's transforms, cached per (device, stream, type, rank, sizes, batch).
//
// Every transform ember asks for is batched over contiguous signals in cuFFT's basic layout
// (inembed / onembed null): `batch` signals of sizes n[0..rank) back to back, for R2C real
// input [n] and complex output [n_last / 2 + 1] per signal (C2R the other way round). So the
// key needs no strides. A plan is bound to its stream once (cufftSetStream) and keeps its own
// work area; plans are never destroyed (like the cuBLAS handles: destroying them at exit races
// with the driver's teardown, and an in-flight transform may still use the work area). Past
// kMaxPlans distinct keys the cache stops growing: such transforms get a one-off plan that is
// destroyed after the stream has finished with it.
#pragma once

#include <cufft.h>

#include <array>
#include <cstdint>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>
#include <map>
#include <mutex>
#include <tuple>

namespace ember::cuda::detail {

struct FftPlanKey {
  int device;
  cudaStream_t stream;
  cufftType type;
  int rank;
  std::array<long long, 3> n;
  long long batch;
  bool operator<(const FftPlanKey& o) const {
    return std::tie(device, stream, type, rank, n, batch) <
           std::tie(o.device, o.stream, o.type, o.rank, o.n, o.batch);
  }
};

// A plan for `key`; `owned` is set when the caller must destroy it after use (cache full).
inline cufftHandle fft_plan(const FftPlanKey& key, bool& owned) {
  constexpr size_t kMaxPlans = 512;
  static std::mutex* mu = new std::mutex();
  static auto* cache = new std::map<FftPlanKey, cufftHandle>();
  std::lock_guard<std::mutex> lock(*mu);
  owned = false;
  if (auto it = cache->find(key); it != cache->end()) return it->second;
  use_device(key.device);
  cufftHandle plan;
  EMBER_CUDA_CHECK(cufftCreate(&plan));
  long long n[3] = {key.n[0], key.n[1], key.n[2]};
  size_t work = 0;
  const cufftResult r = cufftMakePlanMany64(plan, key.rank, n, nullptr, 1, 0, nullptr, 1, 0,
                                            key.type, key.batch, &work);
  if (r != CUFFT_SUCCESS) {
    cufftDestroy(plan);
    EMBER_CUDA_CHECK(r);  // throws with the call, file and line
  }
  EMBER_CUDA_CHECK(cufftSetStream(plan, key.stream));
  if (cache->size() < kMaxPlans)
    (*cache)[key] = plan;
  else
    owned = true;
  return plan;
}

// Destroys a one-off plan once the stream no longer needs it.
inline void fft_release(cufftHandle plan, bool owned, cudaStream_t stream) {
  if (!owned) return;
  EMBER_CUDA_CHECK(cudaStreamSynchronize(stream));
  EMBER_CUDA_CHECK(cufftDestroy(plan));
}

}  // namespace ember::cuda::detail
