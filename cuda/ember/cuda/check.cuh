// EMBER_CUDA_CHECK(call): runs a CUDA runtime, cuBLAS, cuFFT or cuSPARSE call and turns a
// failure into ember::Error with the call's text, the library's message, file and line.
// Device code of ember is compiled by nvcc only (cuda/src/*.cu); this header is for them.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>
#include <cusparse.h>

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

}  // namespace ember::cuda::detail

#define EMBER_CUDA_CHECK(call) ::ember::cuda::detail::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: reports a bad launch configuration where it happened.
#define EMBER_CUDA_CHECK_LAUNCH() EMBER_CUDA_CHECK(cudaGetLastError())
