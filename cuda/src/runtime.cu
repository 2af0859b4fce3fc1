// The CUDA runtime: device selection, one stream per device (or the caller's, set_stream),
// the stream-ordered memory pool, copies, and cuBLAS handles cached per stream.
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda {

namespace {

struct DeviceState {
  cudaStream_t own = nullptr;   // created on first use, never destroyed (outlives tensors)
  cudaStream_t user = nullptr;  // set_stream
  bool user_set = false;
  bool pool_ready = false;
  int sms = 0;
};

std::mutex& state_mutex() {
  static std::mutex* m = new std::mutex();
  return *m;
}
std::vector<DeviceState>& states() {
  static auto* s = new std::vector<DeviceState>();
  return *s;
}
// Handles never destroyed: destroying them at exit races with the driver's own teardown.
std::map<std::pair<int, cudaStream_t>, cublasHandle_t>& handles() {
  static auto* h = new std::map<std::pair<int, cudaStream_t>, cublasHandle_t>();
  return *h;
}
bool g_tf32 = false;

DeviceState& state(int device) {  // call with state_mutex held
  const int n = device_count();
  EMBER_CHECK(device >= 0 && device < n, "cuda: device ", device, " does not exist (", n,
              " CUDA devices visible)");
  if (states().size() < size_t(n)) states().resize(size_t(n));
  return states()[size_t(device)];
}

}  // namespace

int device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();  // no driver / no device: not an error, just none
      return 0;
    }
    return n;
  }();
  return count;
}

bool is_available() { return device_count() > 0; }

namespace detail {

void use_device(int device) {
  thread_local int current = -1;
  if (current == device) return;
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  current = device;
}

cudaStream_t stream(int device) {
  std::lock_guard<std::mutex> lock(state_mutex());
  DeviceState& s = state(device);
  if (s.user_set) return s.user;
  if (!s.own) {
    use_device(device);
    EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&s.own, cudaStreamNonBlocking));
  }
  return s.own;
}

cublasHandle_t cublas_handle(int device) {
  cudaStream_t st = stream(device);
  std::lock_guard<std::mutex> lock(state_mutex());
  cublasHandle_t& h = handles()[{device, st}];
  if (!h) {
    use_device(device);
    EMBER_CUDA_CHECK(cublasCreate(&h));
    EMBER_CUDA_CHECK(cublasSetStream(h, st));
  }
  // Strict fp32 unless TF32 was allowed (PyTorch's default for matmul).
  EMBER_CUDA_CHECK(cublasSetMathMode(h, g_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return h;
}

int sm_count(int device) {
  std::lock_guard<std::mutex> lock(state_mutex());
  DeviceState& s = state(device);
  if (!s.sms)
    EMBER_CUDA_CHECK(cudaDeviceGetAttribute(&s.sms, cudaDevAttrMultiProcessorCount, device));
  return s.sms;
}

}  // namespace detail

void synchronize(int device) {
  detail::use_device(device);
  EMBER_CUDA_CHECK(cudaStreamSynchronize(detail::stream(device)));
}

void set_stream(void* stream, int device) {
  std::lock_guard<std::mutex> lock(state_mutex());
  DeviceState& s = state(device);
  s.user = static_cast<cudaStream_t>(stream);
  s.user_set = stream != nullptr;
}

void* current_stream(int device) { return detail::stream(device); }

void allow_tf32(bool on) { g_tf32 = on; }
bool tf32_allowed() { return g_tf32; }

void* allocate(size_t nbytes, int device) {
  if (nbytes == 0) return nullptr;
  detail::use_device(device);
  {
    std::lock_guard<std::mutex> lock(state_mutex());
    DeviceState& s = state(device);
    if (!s.pool_ready) {
      // Keep freed memory in the pool instead of returning it to the driver at every
      // synchronisation: the next step of a training loop asks for the same sizes.
      cudaMemPool_t pool;
      EMBER_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
      uint64_t threshold = UINT64_MAX;
      EMBER_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
      s.pool_ready = true;
    }
  }
  void* p = nullptr;
  const cudaError_t e = cudaMallocAsync(&p, nbytes, detail::stream(device));
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    fail("allocate: out of memory asking for ", nbytes, " bytes on cuda:", device);
  }
  EMBER_CUDA_CHECK(e);
  return p;
}

void deallocate(void* p, size_t, int device) {
  if (!p) return;
  detail::use_device(device);
  EMBER_CUDA_CHECK(cudaFreeAsync(p, detail::stream(device)));
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device.is_cuda() && src_device.is_cuda()) {
    detail::use_device(dst_device.index);
    cudaStream_t st = detail::stream(dst_device.index);
    if (dst_device.index == src_device.index) {
      EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, st));
    } else {
      // Work queued on the source's stream must be done first.
      EMBER_CUDA_CHECK(cudaStreamSynchronize(detail::stream(src_device.index)));
      EMBER_CUDA_CHECK(
          cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, nbytes, st));
    }
  } else if (dst_device.is_cuda()) {
    // From pageable host memory the call returns once the source has been staged, so the
    // host buffer may be freed right after.
    detail::use_device(dst_device.index);
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice,
                                     detail::stream(dst_device.index)));
  } else {
    detail::use_device(src_device.index);
    cudaStream_t st = detail::stream(src_device.index);
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, st));
    EMBER_CUDA_CHECK(cudaStreamSynchronize(st));  // the host reads it next
  }
}

}  // namespace ember::cuda
