// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
// counter-based generator. Ten rounds of multiply-xor on a 128-bit counter under a 64-bit key
// give 128 random bits that depend only on (key, counter), so any thread can draw the numbers
// of any element without a sequential state: the result is the same for every launch shape.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ember::cuda::kernels {

struct Philox4x32 {
  uint32_t v[4];
};

__host__ __device__ __forceinline__ uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t& hi) {
  const uint64_t p = uint64_t(a) * uint64_t(b);
  hi = uint32_t(p >> 32);
  return uint32_t(p);
}

// The 128 random bits for counter c under key k (the reference constants of Random123).
__host__ __device__ inline Philox4x32 philox4x32_10(Philox4x32 c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {  // constant trip count: nvcc unrolls it
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo32(kM0, c.v[0], hi0);
    const uint32_t lo1 = mulhilo32(kM1, c.v[2], hi1);
    c = {{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}

// Uniform in [0, 1) with 53 random bits, for element `i` of the stream (seed, offset).
__host__ __device__ inline double philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  const Philox4x32 ctr = {
      {uint32_t(i), uint32_t(i >> 32), uint32_t(offset), uint32_t(offset >> 32)}};
  const Philox4x32 r = philox4x32_10(ctr, uint32_t(seed), uint32_t(seed >> 32));
  const uint64_t bits = ((uint64_t(r.v[0]) << 32) | r.v[1]) >> 11;
  return double(bits) * 0x1.0p-53;
}

}  // namespace ember::cuda::kernels
