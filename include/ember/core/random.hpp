// Seeded random numbers. Every random creation takes a Generator explicitly (or the global
// one, reseeded with manual_seed), so the same seed gives bit-identical tensors everywhere.
// The stream is our own (splitmix64 + Box-Muller), not std::*_distribution, whose output
// differs between standard libraries.
#pragma once

#include <cmath>
#include <cstdint>

namespace ember {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : state_(seed) {}

  void seed(uint64_t s) {
    state_ = s;
    has_spare_ = false;
  }

  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

  // Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

  // Uniform integer in [low, high).
  int64_t randint(int64_t low, int64_t high) {
    const uint64_t span = uint64_t(high - low);
    return low + int64_t(next_u64() % span);
  }

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The generator used when none is passed.
inline Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

inline void manual_seed(uint64_t seed) { default_generator().seed(seed); }

}  // namespace ember
