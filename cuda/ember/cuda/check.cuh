// EMBER_CUDA_CHECK(call): runs a CUDA runtime, cuBLAS, cuFFT or cuSPARSE call and turns a
// failure into ember::Error with the call's text, the library's message, file and line.
// Device code of ember is compiled by nvcc only (cuda/src/*.cu); this header is for them.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>
#include <cusparse.h>

#include <cstdlib>
#include <string_view>

#include <ember/core/error.hpp>

namespace ember::cuda::detail {

inline void check(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess)
    fail("CUDA error: ", call, " failed with ", cudaGetErrorName(e), " (", cudaGetErrorString(e),
         ") at ", file, ":", line);
}
inline void check(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    fail("cuBLAS error: ", call, " failed with ", cublasGetStatusName(s), " (",
         cublasGetStatusString(s), ") at ", file, ":", line);
}
inline void check(cufftResult r, const char* call, const char* file, int line) {
  if (r != CUFFT_SUCCESS)
    fail("cuFFT error: ", call, " failed with code ", int(r), " at ", file, ":", line);
}
inline void check(cusparseStatus_t s, const char* call, const char* file, int line) {
  if (s != CUSPARSE_STATUS_SUCCESS)
    fail("cuSPARSE error: ", call, " failed with ", cusparseGetErrorName(s), " (",
         cusparseGetErrorString(s), ") at ", file, ":", line);
}

// EMBER_CUDA_SYNC=1 in the environment: wait for every kernel right after its launch, so that
// a fault inside it (an illegal address, a failed device assert) is reported with the launcher
// that started it instead of by whatever CUDA call comes next. A debugging switch: it
// serialises the host with the device.
inline bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("EMBER_CUDA_SYNC");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
  }();
  return on;
}

inline void check_launch(const char* launcher, const char* file, int line) {
  const cudaError_t e = cudaGetLastError();  // a bad launch configuration
  if (e != cudaSuccess)
    fail("CUDA error: the launch in ", launcher, " failed with ", cudaGetErrorName(e), " (",
         cudaGetErrorString(e), ") at ", file, ":", line);
  if (!sync_after_launch()) return;
  const cudaError_t run = cudaDeviceSynchronize();
  if (run != cudaSuccess)
    fail("CUDA error in the kernel launched by ", launcher, " at ", file, ":", line, ": ",
         cudaGetErrorName(run), " (", cudaGetErrorString(run), ")");
}

}  // namespace ember::cuda::detail

#define EMBER_CUDA_CHECK(call) ::ember::cuda::detail::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: reports a bad launch configuration where it happened, and with
// EMBER_CUDA_SYNC=1 a fault inside the kernel too.
#define EMBER_CUDA_CHECK_LAUNCH() ::ember::cuda::detail::check_launch(__func__, __FILE__, __LINE__)
