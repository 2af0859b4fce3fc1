// Launchers for layer_norm (ember/cuda/layer_norm.cuh) and the cuBLAS
// GEMM behind matmul / bmm / linear.
#include <climits>
#include <cstdint>

#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/layer_norm.cuh>
#include <ember/cuda/runtime.cuh>
#include <ember/cuda/softmax.cuh>

namespace ember::cuda {

namespace {

template <class T>
void layer_norm_forward_impl(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b,
                             int64_t rows, int64_t n, double eps, int device) {
  if (rows == 0 || n == 0) return;
  detail::check_grid(rows, "layer_norm");
  detail::use_device(device);
  kernels::layer_norm_forward<T><<<unsigned(rows), detail::row_threads(n), 0, detail::stream(device)>>>(
      y, mean, rstd, x, w, b, n, eps);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void layer_norm_backward_impl(T* gx, T* gw, T* gb, const T* g, const T* x, const T* w,
                              const T* mean, const T* rstd, int64_t rows, int64_t n, int device) {
  if (rows == 0 || n == 0) return;
  detail::check_grid(rows, "layer_norm_backward");
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  if (gx) {
    kernels::layer_norm_backward_input<T>
        <<<unsigned(rows), detail::row_threads(n), 0, st>>>(gx, g, x, w, mean, rstd, n);
    EMBER_CUDA_CHECK_LAUNCH();
  }
  if (gw || gb) {
    const int threads = 256;
    const int64_t col_blocks = (n + threads - 1) / threads;
    // Enough row chunks for a few waves; each block then adds once per column.
    const int64_t want = int64_t(detail::sm_count(device)) * 8;
    int64_t chunks =
        std::max<int64_t>(1, std::min<int64_t>(rows, (want + col_blocks - 1) / col_blocks));
    chunks = std::min<int64_t>(chunks, 65535);
    const int64_t per = (rows + chunks - 1) / chunks;
    chunks = (rows + per - 1) / per;
    if (gw) EMBER_CUDA_CHECK(cudaMemsetAsync(gw, 0, size_t(n) * sizeof(T), st));
    if (gb) EMBER_CUDA_CHECK(cudaMemsetAsync(gb, 0, size_t(n) * sizeof(T), st));
    kernels::layer_norm_backward_params<T>
        <<<dim3(unsigned(col_blocks), unsigned(chunks)), threads, 0, st>>>(gw, gb, g, x, mean, rstd,
                                                                           rows, n, per);
    EMBER_CUDA_CHECK_LAUNCH();
  }
}

void check_gemm_range(const GemmArgs& g) {
  for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.batch})
    EMBER_CHECK(v <= int64_t(INT_MAX), "matmul: a dimension of ", v,
                " is larger than cuBLAS's int arguments allow");
}

}  // namespace

void layer_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                        const float* b, int64_t rows, int64_t n, double eps, int device) {
  layer_norm_forward_impl(y, mean, rstd, x, w, b, rows, n, eps, device);
}
void layer_norm_forward(double* y, double* mean, double* rstd, const double* x, const double* w,
                        const double* b, int64_t rows, int64_t n, double eps, int device) {
  layer_norm_forward_impl(y, mean, rstd, x, w, b, rows, n, eps, device);
}
void layer_norm_backward(float* gx, float* gw, float* gb, const float* g, const float* x,
                         const float* w, const float* mean, const float* rstd, int64_t rows,
                         int64_t n, int device) {
  layer_norm_backward_impl(gx, gw, gb, g, x, w, mean, rstd, rows, n, device);
}
void layer_norm_backward(double* gx, double* gw, double* gb, const double* g, const double* x,
                         const double* w, const double* mean, const double* rstd, int64_t rows,
                         int64_t n, int device) {
  layer_norm_backward_impl(gx, gw, gb, g, x, w, mean, rstd, rows, n, device);
}

// Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: cuBLAS gets B first, with m and n swapped.
// A row-major operand read as column-major is its transpose, so op N there means "as stored".
void gemm(const GemmArgs& g, const float* a, const float* b, float* c, int device) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  check_gemm_range(g);
  detail::use_device(device);
  cublasHandle_t h = detail::cublas_handle(device);
  const float alpha = float(g.alpha), beta = float(g.beta);
  const cublasComputeType_t compute =
      tf32_allowed() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  EMBER_CUDA_CHECK(cublasGemmStridedBatchedEx(
      h, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, int(g.n),
      int(g.m), int(g.k), &alpha, b, CUDA_R_32F, int(g.ldb), g.stride_b, a, CUDA_R_32F, int(g.lda),
      g.stride_a, &beta, c, CUDA_R_32F, int(g.ldc), g.stride_c, int(g.batch), compute,
      CUBLAS_GEMM_DEFAULT));
}

void gemm(const GemmArgs& g, const double* a, const double* b, double* c, int device) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  check_gemm_range(g);
  detail::use_device(device);
  cublasHandle_t h = detail::cublas_handle(device);
  const double alpha = g.alpha, beta = g.beta;
  EMBER_CUDA_CHECK(cublasDgemmStridedBatched(
      h, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, int(g.n),
      int(g.m), int(g.k), &alpha, b, int(g.ldb), g.stride_b, a, int(g.lda), g.stride_a, &beta, c,
      int(g.ldc), g.stride_c, int(g.batch)));
}

}  // namespace ember::cuda
