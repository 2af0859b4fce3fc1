// The cuBLAS GEMM behind matmul, bmm and linear (backend/linalg.hpp) and the convolutions:
// the launcher declared with GemmArgs in backend/cuda/api.hpp, for float, double and their
// complex types (cgemm / zgemm: FNO's channel mixing).
//
// Included by exactly one translation unit (cuda/src/nn.cu), which gets the four instances at
// the end of this file.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <climits>
#include <complex>
#include <cstdint>
#include <type_traits>

#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda {

namespace detail {

inline void check_gemm_range(const GemmArgs& g) {
  for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.batch})
    EMBER_CHECK(v <= int64_t(INT_MAX), "matmul: a dimension of ", v,
                " is larger than cuBLAS's int arguments allow");
}

}  // namespace detail

// Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: cuBLAS gets B first, with m and n swapped.
// A row-major operand read as column-major is its transpose, so op N there means "as stored".
// Complex: trans_* is a plain transpose (not conjugate), alpha and beta are real.
template <class T>
void gemm(const GemmArgs& g, const T* a, const T* b, T* c, int device) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  detail::check_gemm_range(g);
  detail::use_device(device);
  cublasHandle_t h = detail::cublas_handle(device);
  const cublasOperation_t op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if constexpr (std::is_same_v<T, float>) {
    const float alpha = float(g.alpha), beta = float(g.beta);
    const cublasComputeType_t compute =
        tf32_allowed() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    EMBER_CUDA_CHECK(cublasGemmStridedBatchedEx(
        h, op_b, op_a, int(g.n), int(g.m), int(g.k), &alpha, b, CUDA_R_32F, int(g.ldb),
        g.stride_b, a, CUDA_R_32F, int(g.lda), g.stride_a, &beta, c, CUDA_R_32F, int(g.ldc),
        g.stride_c, int(g.batch), compute, CUBLAS_GEMM_DEFAULT));
  } else if constexpr (std::is_same_v<T, double>) {
    const double alpha = g.alpha, beta = g.beta;
    EMBER_CUDA_CHECK(cublasDgemmStridedBatched(h, op_b, op_a, int(g.n), int(g.m), int(g.k),
                                               &alpha, b, int(g.ldb), g.stride_b, a, int(g.lda),
                                               g.stride_a, &beta, c, int(g.ldc), g.stride_c,
                                               int(g.batch)));
  } else if constexpr (std::is_same_v<T, std::complex<float>>) {
    const cuComplex alpha = make_cuComplex(float(g.alpha), 0.f),
                    beta = make_cuComplex(float(g.beta), 0.f);
    EMBER_CUDA_CHECK(cublasCgemmStridedBatched(
        h, op_b, op_a, int(g.n), int(g.m), int(g.k), &alpha,
        reinterpret_cast<const cuComplex*>(b), int(g.ldb), g.stride_b,
        reinterpret_cast<const cuComplex*>(a), int(g.lda), g.stride_a, &beta,
        reinterpret_cast<cuComplex*>(c), int(g.ldc), g.stride_c, int(g.batch)));
  } else {
    static_assert(std::is_same_v<T, std::complex<double>>, "cuda::gemm: an unsupported type");
    const cuDoubleComplex alpha = make_cuDoubleComplex(g.alpha, 0.0),
                          beta = make_cuDoubleComplex(g.beta, 0.0);
    EMBER_CUDA_CHECK(cublasZgemmStridedBatched(
        h, op_b, op_a, int(g.n), int(g.m), int(g.k), &alpha,
        reinterpret_cast<const cuDoubleComplex*>(b), int(g.ldb), g.stride_b,
        reinterpret_cast<const cuDoubleComplex*>(a), int(g.lda), g.stride_a, &beta,
        reinterpret_cast<cuDoubleComplex*>(c), int(g.ldc), g.stride_c, int(g.batch)));
  }
}

template void gemm<float>(const GemmArgs&, const float*, const float*, float*, int);
template void gemm<double>(const GemmArgs&, const double*, const double*, double*, int);
template void gemm<std::complex<float>>(const GemmArgs&, const std::complex<float>*,
                                        const std::complex<float>*, std::complex<float>*, int);
template void gemm<std::complex<double>>(const GemmArgs&, const std::complex<double>*,
                                         const std::complex<double>*, std::complex<double>*, int);

}  // namespace ember::cuda
