// Where a tensor's storage lives. The device is a run-time property so one program can move
// work between CPU and GPU; a CPU-only build rejects CUDA devices with a clear error.
#pragma once

#include <string>

#include <ember/core/error.hpp>

namespace ember {

enum class DeviceKind : uint8_t { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;

  static Device cpu() { return {DeviceKind::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::CUDA, index}; }
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// CPU paths call this on their inputs: a CUDA tensor gets here in a CPU-only build, or in a
// CUDA build for a dtype (or argument) the op's CUDA path does not handle.
inline void check_cpu(const Device& d, const char* op) {
#ifdef EMBER_WITH_CUDA
  EMBER_CHECK(d.is_cpu(), op, ": tensor is on ", d.str(),
              " but the CUDA backend has no kernel for this dtype or these arguments (its "
              "kernels take float32 and float64; see the op's CUDA path)");
#else
  EMBER_CHECK(d.is_cpu(), op, ": tensor is on ", d.str(),
              " but this build of ember has no CUDA kernel for it (configure with "
              "-DEMBER_CUDA=ON on a machine with CUDA)");
#endif
}

}  // namespace ember
