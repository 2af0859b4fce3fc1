// The CUDA runtime: device selection, one stream per device (or the caller's, set_stream),
// the stream-ordered memory pool, copies, and cuBLAS handles cached per stream.
#include <cstdint>
#include <cstdio>
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

static_assert(kCudaSuccess == int(cudaSuccess) && kCudaErrorNoDevice == int(cudaErrorNoDevice),
              "api.hpp's copies of the CUDA error codes must match the runtime's");

int device_count() {
  static const int count = [] {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaSuccess) return n;
    (void)cudaGetLastError();
    int driver = 0, runtime = 0;
    (void)cudaDriverGetVersion(&driver);
    (void)cudaRuntimeGetVersion(&runtime);
    if (classify_device_probe(int(e), driver) == DeviceProbe::no_gpu) return 0;
    // A GPU may be there, but this process cannot use it: say so loudly, never "no GPU".
    std::fprintf(stderr, "ember: cudaGetDeviceCount failed with %s (%s); driver supports CUDA %d, "
                 "runtime is %d\n", cudaGetErrorName(e), cudaGetErrorString(e), driver, runtime);
    return -int(e);  // reported by device_count's callers below
  }();
  EMBER_CHECK(count >= 0, "cuda: probing the CUDA devices failed with CUDA error ", -count,
              " (see the message above: an NVIDIA driver too old for this CUDA runtime, or a broken "
              "installation); this is not the same as a machine without a GPU");
  return count;
}

bool is_available() { return device_count() > 0; }

namespace detail {

// Reads the current device from CUDA each time (cheap, no driver call): a cached copy would go
// stale when the caller runs cudaSetDevice outside ember.
void use_device(int device) {
  int current = -1;
  EMBER_CUDA_CHECK(cudaGetDevice(&current));
  if (current != device) EMBER_CUDA_CHECK(cudaSetDevice(device));
}

void trim_pool(int device, cudaStream_t st) {
  cudaMemPool_t pool;
  EMBER_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  EMBER_CUDA_CHECK(cudaStreamSynchronize(st));  // frees queued so far take effect
  EMBER_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
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
    cublasStatus_t created = cublasCreate(&h);
    if (created == CUBLAS_STATUS_ALLOC_FAILED) {  // its workspace is outside the pool: trim, retry
      trim_pool(device, st);
      created = cublasCreate(&h);
    }
    EMBER_CUDA_CHECK(created);
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
  const cudaStream_t old = detail::stream(device);
  {
    std::lock_guard<std::mutex> lock(state_mutex());
    DeviceState& s = state(device);
    s.user = static_cast<cudaStream_t>(stream);
    s.user_set = stream != nullptr;
  }
  const cudaStream_t next = detail::stream(device);
  if (next == old) return;
  // Work already queued on the old stream (writes of live tensors, frees of pool blocks that
  // the pool may hand out again on the new stream) comes before anything on the new one.
  detail::use_device(device);
  cudaEvent_t done;
  EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  EMBER_CUDA_CHECK(cudaEventRecord(done, old));
  EMBER_CUDA_CHECK(cudaStreamWaitEvent(next, done, 0));
  EMBER_CUDA_CHECK(cudaEventDestroy(done));  // released once the wait is satisfied
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
  cudaError_t e = cudaMallocAsync(&p, nbytes, detail::stream(device));
  if (e == cudaErrorMemoryAllocation) {
    // The pool keeps every freed block (release threshold UINT64_MAX); memory that cuFFT plans
    // or cuBLAS workspaces took from outside it may be what is missing: give the cached blocks
    // back to the driver and try once more.
    (void)cudaGetLastError();
    detail::trim_pool(device, detail::stream(device));
    e = cudaMallocAsync(&p, nbytes, detail::stream(device));
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      fail("allocate: out of memory asking for ", nbytes, " bytes on cuda:", device);
    }
  }
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // not left for the next launch to report as its own
    EMBER_CUDA_CHECK(e);
  }
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
      const cudaStream_t src_stream = detail::stream(src_device.index);
      EMBER_CUDA_CHECK(cudaStreamSynchronize(src_stream));
      EMBER_CUDA_CHECK(
          cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, nbytes, st));
      // The source (often a temporary contiguous copy) is freed on its own stream: that stream
      // waits for the copy to have read it.
      cudaEvent_t copied;
      EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&copied, cudaEventDisableTiming));
      EMBER_CUDA_CHECK(cudaEventRecord(copied, st));
      EMBER_CUDA_CHECK(cudaStreamWaitEvent(src_stream, copied, 0));
      EMBER_CUDA_CHECK(cudaEventDestroy(copied));
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
