// The CUDA backend's host interface: plain C++ declarations (no CUDA headers), implemented in
// cuda/src/*.cu and compiled into the static library ember_cuda when ember is configured with
// -DEMBER_CUDA=ON (which defines EMBER_WITH_CUDA). In a CPU-only build this header declares
// only the plain data types below (no functions), and asking for a CUDA tensor throws the
// error of check_cpu (core/device.hpp).
//
// Conventions: pointers are device pointers on `device` unless named host; element counts are
// int64_t; every call is enqueued on the device's current stream (see set_stream) and returns
// without waiting, except copies to the host, which wait for the data. Errors from the CUDA
// runtime and libraries throw ember::Error naming the failed call, file and line.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include <ember/core/device.hpp>

namespace ember::cuda {

// ---------------------------------------------------------------- plain data (every build)

inline constexpr int kMaxDims = 8;

// The geometry of an elementwise op over up to three operands (0 = output, 1, 2 = inputs):
// shape and per-operand strides in elements (0 along broadcast dims). make_layout builds it
// and merges dims that are contiguous in every operand, so most calls have ndim 1.
struct StridedLayout {
  int ndim = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[3][kMaxDims] = {};
  // All operands contiguous with the same shape: the kernels use 16-byte vector accesses.
  bool contiguous = false;
};

// The ops of backend/elementwise.hpp's binary (their formulas there); the complex kernels of
// backend/complex.hpp take Add, Sub, Mul and Div.
enum class BinaryOp : int {
  Add,
  Sub,
  Mul,
  Div,
  Pow,           // a ** b
  Maximum,       // NaN propagating, as torch.maximum
  Minimum,
  MaxWeight,     // maximum's gradient weight of a: 1/2 on a tie, 0 where a loses, else 1
  MinWeight,
  EqMask,        // a == b ? 1 : 0
  DivOrZero      // b > 0 ? a / b : 0
};

// Row-major batched GEMM through cuBLAS: for i < batch,
//   C_i[m, n] = alpha * op(A_i)[m, k] · op(B_i)[k, n] + beta * C_i,
// op = transpose when trans_*; lda/ldb/ldc are row-major leading dims; stride_* are the
// element strides between batch entries (0 broadcasts one matrix).
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  int64_t batch = 1;
  double alpha = 1, beta = 0;
};

// The GEMM for T = float, double, std::complex<float> and std::complex<double>
// (cuda/ember/cuda/linalg.cuh), behind matmul, linear (backend/linalg.hpp) and the
// convolutions. For complex T, trans_* is a plain transpose and alpha, beta are real.
template <class T>
void gemm(const GemmArgs& args, const T* a, const T* b, T* c, int device);

// The layout of `nops` operands (1 to 3) of the given shape and strides. Size-1 dims are
// dropped and runs of dims contiguous in every operand merged; returns false when more than
// kMaxDims dims remain (the caller makes its operands contiguous and retries).
inline bool make_layout(StridedLayout& l, const std::vector<int64_t>& shape,
                        std::initializer_list<const std::vector<int64_t>*> strides) {
  const int nops = int(strides.size());
  std::vector<int64_t> sh;
  std::vector<std::vector<int64_t>> st(static_cast<size_t>(nops));
  l.numel = 1;
  for (int64_t s : shape) l.numel *= s;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !sh.empty();
    int op = 0;
    for (const std::vector<int64_t>* s : strides) {
      if (merge && st[size_t(op)].back() != (*s)[d] * shape[d]) merge = false;
      ++op;
    }
    op = 0;
    if (merge) {
      sh.back() *= shape[d];
      for (const std::vector<int64_t>* s : strides) st[size_t(op++)].back() = (*s)[d];
    } else {
      sh.push_back(shape[d]);
      for (const std::vector<int64_t>* s : strides) st[size_t(op++)].push_back((*s)[d]);
    }
  }
  if (sh.size() > size_t(kMaxDims)) return false;
  l.ndim = int(sh.size());
  l.contiguous = true;
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = sh[size_t(d)];
    for (int op = 0; op < nops; ++op) l.strides[op][d] = st[size_t(op)][size_t(d)];
  }
  for (int op = 0; op < nops; ++op)
    if (l.ndim > 1 || (l.ndim == 1 && l.strides[op][0] != 1)) l.contiguous = false;
  return true;
}

// What the probe for CUDA devices found, from cudaGetDeviceCount's error code and the driver
// version cudaDriverGetVersion reports (0: no driver installed). Only "no device"
// (cudaErrorNoDevice) or no driver at all means a machine without a GPU; any other error (a
// driver too old for this runtime, a broken installation) is a failure to report, not a
// reason to skip the GPU tests. Plain numbers, so CPU-only builds test it too.
enum class DeviceProbe { devices, no_gpu, error };
inline constexpr int kCudaSuccess = 0, kCudaErrorNoDevice = 100;  // checked in runtime.cu
inline DeviceProbe classify_device_probe(int error, int driver_version) {
  if (error == kCudaSuccess) return DeviceProbe::devices;
  if (error == kCudaErrorNoDevice || driver_version == 0) return DeviceProbe::no_gpu;
  return DeviceProbe::error;
}

}  // namespace ember::cuda

#ifdef EMBER_WITH_CUDA

namespace ember::cuda {

// ---------------------------------------------------------------- runtime (runtime.cu)

// Number of visible CUDA devices; 0 (not an error) when there is no driver or no GPU. Any
// other failure of the probe (classify_device_probe) throws ember::Error naming the CUDA error
// and the driver and runtime versions.
int device_count();
bool is_available();
// Waits for all work queued on `device`'s current stream.
void synchronize(int device = 0);
// Uses `stream` (a cudaStream_t, or nullptr for ember's own stream) for `device` from now
// on. The caller keeps the stream alive while ember uses it. The new stream first waits for
// the work queued on the old one (an event), so tensors written there and memory freed there
// are safe to use on the new one.
void set_stream(void* stream, int device = 0);
// The cudaStream_t ember enqueues work on for `device` (created on first use).
void* current_stream(int device = 0);
// TF32 tensor cores for float32 GEMMs (off by default: strict fp32, as PyTorch's default).
void allow_tf32(bool on);
bool tf32_allowed();

// Stream-ordered allocation from the device's memory pool (cudaMallocAsync). The pool keeps
// freed memory (release threshold UINT64_MAX), so a training loop's allocations are reused;
// on out-of-memory it is trimmed (cached blocks returned to the driver) and the allocation
// tried once more before ember::Error is thrown.
void* allocate(size_t nbytes, int device);
void deallocate(void* p, size_t nbytes, int device);
// Copies nbytes between any two of host and CUDA devices. A copy to the host waits until the
// data is there; the others are queued on the stream of the CUDA side (of the destination
// between two devices, after the source's queued work; the source's stream then waits for the
// copy, so the source may be freed there right after).
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);

// ---------------------------------------------------------------- elementwise (elementwise.cu)

// Typeless helpers (by element size: 1, 2, 4, 8 or 16 bytes), for every dtype.
// Fills n elements at dst with the bytes at host_value.
void fill(void* dst, const void* host_value, size_t elem_size, int64_t n, int device);
// out (strides[0]) = in (strides[1]), elementwise over l's shape.
void strided_copy(void* dst, const void* src, size_t elem_size, const StridedLayout& l, int device);

}  // namespace ember::cuda

#endif  // EMBER_WITH_CUDA
