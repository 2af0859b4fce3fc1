// Launchers of the spectral, complex, sparse and attention kernels: cuFFT transforms (plans in
// ember/cuda/fft.cuh), complex elementwise ops and complex GEMM (cuBLAS cgemm / zgemm), CSR
// spmm / sddmm / segment softmax, and attention's causal mask. Every call runs on the
// device's current stream (detail::stream) and checks for errors where it happened.
#include <climits>
#include <complex>
#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/attention.cuh>
#include <ember/cuda/check.cuh>
#include <ember/cuda/complex.cuh>
#include <ember/cuda/fft.cuh>
#include <ember/cuda/runtime.cuh>
#include <ember/cuda/sparse.cuh>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>

namespace ember::cuda {

namespace {

constexpr int kThreads = 256;

template <class R>
kernels::Cx<R>* cx(std::complex<R>* p) {
  return reinterpret_cast<kernels::Cx<R>*>(p);
}
template <class R>
const kernels::Cx<R>* cx(const std::complex<R>* p) {
  return reinterpret_cast<const kernels::Cx<R>*>(p);
}

// ---------------------------------------------------------------- FFT

template <class R>
struct FftTypes;
template <>
struct FftTypes<float> {
  static constexpr cufftType c2c = CUFFT_C2C, r2c = CUFFT_R2C, c2r = CUFFT_C2R;
};
template <>
struct FftTypes<double> {
  static constexpr cufftType c2c = CUFFT_Z2Z, r2c = CUFFT_D2Z, c2r = CUFFT_Z2D;
};

detail::FftPlanKey plan_key(cufftType type, int rank, const int64_t* n, int64_t batch, int device) {
  EMBER_CHECK(rank >= 1 && rank <= 3, "fft: cuFFT transforms 1 to 3 dims at once, asked for ",
              rank);
  detail::FftPlanKey key{device, detail::stream(device), type, rank, {1, 1, 1}, batch};
  for (int i = 0; i < rank; ++i) key.n[size_t(i)] = n[i];
  return key;
}

// Signals are empty when there are none or one has size 0: nothing to transform.
bool fft_empty(int rank, const int64_t* n, int64_t batch) {
  if (batch <= 0) return true;
  for (int i = 0; i < rank; ++i)
    if (n[i] <= 0) return true;
  return false;
}

template <class R>
void scale_in_place(R* x, int64_t nreal, double scale, int device) {
  if (scale == 1.0 || nreal == 0) return;
  kernels::scale_reals<R>
      <<<detail::grid_for(nreal, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          x, nreal, R(scale));
  EMBER_CUDA_CHECK_LAUNCH();
}

cufftResult exec_c2c(cufftHandle p, std::complex<float>* in, std::complex<float>* out, int dir) {
  return cufftExecC2C(p, reinterpret_cast<cufftComplex*>(in), reinterpret_cast<cufftComplex*>(out),
                      dir);
}
cufftResult exec_c2c(cufftHandle p, std::complex<double>* in, std::complex<double>* out, int dir) {
  return cufftExecZ2Z(p, reinterpret_cast<cufftDoubleComplex*>(in),
                      reinterpret_cast<cufftDoubleComplex*>(out), dir);
}
cufftResult exec_r2c(cufftHandle p, float* in, std::complex<float>* out) {
  return cufftExecR2C(p, in, reinterpret_cast<cufftComplex*>(out));
}
cufftResult exec_r2c(cufftHandle p, double* in, std::complex<double>* out) {
  return cufftExecD2Z(p, in, reinterpret_cast<cufftDoubleComplex*>(out));
}
cufftResult exec_c2r(cufftHandle p, std::complex<float>* in, float* out) {
  return cufftExecC2R(p, reinterpret_cast<cufftComplex*>(in), out);
}
cufftResult exec_c2r(cufftHandle p, std::complex<double>* in, double* out) {
  return cufftExecZ2D(p, reinterpret_cast<cufftDoubleComplex*>(in), out);
}

int64_t signal_size(int rank, const int64_t* n) {
  int64_t s = 1;
  for (int i = 0; i < rank; ++i) s *= n[i];
  return s;
}

template <class R>
void fft_c2c_impl(std::complex<R>* out, const std::complex<R>* in, int rank, const int64_t* n,
                  int64_t batch, bool forward, double scale, int device) {
  if (fft_empty(rank, n, batch)) return;
  detail::use_device(device);
  const detail::FftPlanKey key = plan_key(FftTypes<R>::c2c, rank, n, batch, device);
  bool owned = false;
  const cufftHandle plan = detail::fft_plan(key, owned);
  // Out-of-place C2C leaves its input intact, so the const_cast is only for the C signature.
  EMBER_CUDA_CHECK(exec_c2c(plan, const_cast<std::complex<R>*>(in), out,
                            forward ? CUFFT_FORWARD : CUFFT_INVERSE));
  detail::fft_release(plan, owned, key.stream);
  scale_in_place(reinterpret_cast<R*>(out), 2 * batch * signal_size(rank, n), scale, device);
}

template <class R>
void fft_r2c_impl(std::complex<R>* out, const R* in, int rank, const int64_t* n, int64_t batch,
                  double scale, int device) {
  if (fft_empty(rank, n, batch)) return;
  detail::use_device(device);
  const detail::FftPlanKey key = plan_key(FftTypes<R>::r2c, rank, n, batch, device);
  bool owned = false;
  const cufftHandle plan = detail::fft_plan(key, owned);
  EMBER_CUDA_CHECK(exec_r2c(plan, const_cast<R*>(in), out));
  detail::fft_release(plan, owned, key.stream);
  const int64_t bins = signal_size(rank - 1, n) * (n[rank - 1] / 2 + 1);
  scale_in_place(reinterpret_cast<R*>(out), 2 * batch * bins, scale, device);
}

template <class R>
void fft_c2r_impl(R* out, const std::complex<R>* in, int rank, const int64_t* n, int64_t batch,
                  double scale, int device) {
  if (fft_empty(rank, n, batch)) return;
  detail::use_device(device);
  const cudaStream_t st = detail::stream(device);
  // cuFFT's C2R overwrites its input: transform a copy.
  const int64_t bins = batch * signal_size(rank - 1, n) * (n[rank - 1] / 2 + 1);
  const size_t bytes = size_t(bins) * sizeof(std::complex<R>);
  void* tmp = allocate(bytes, device);
  try {
    EMBER_CUDA_CHECK(cudaMemcpyAsync(tmp, in, bytes, cudaMemcpyDeviceToDevice, st));
    if (rank == 1) {  // 1-D: the imaginary parts of DC / Nyquist are ignored (CPU semantics)
      const int64_t h = n[0] / 2 + 1;
      kernels::zero_dc_nyquist_imag<R>
          <<<detail::grid_for(batch, kThreads, device), kThreads, 0, st>>>(
              static_cast<kernels::Cx<R>*>(tmp), batch, h, n[0] % 2 == 0);
      EMBER_CUDA_CHECK_LAUNCH();
    }
    const detail::FftPlanKey key = plan_key(FftTypes<R>::c2r, rank, n, batch, device);
    bool owned = false;
    const cufftHandle plan = detail::fft_plan(key, owned);
    EMBER_CUDA_CHECK(exec_c2r(plan, static_cast<std::complex<R>*>(tmp), out));
    detail::fft_release(plan, owned, key.stream);
  } catch (...) {
    deallocate(tmp, bytes, device);
    throw;
  }
  deallocate(tmp, bytes, device);  // stream-ordered: freed after the transform has read it
  scale_in_place(out, batch * signal_size(rank, n), scale, device);
}

// ---------------------------------------------------------------- complex elementwise

template <class R>
void complex_binary_impl(BinaryOp op, std::complex<R>* out, const std::complex<R>* a,
                         const std::complex<R>* b, const StridedLayout& l, int device) {
  int code;
  switch (op) {
    case BinaryOp::Add:
      code = 0;
      break;
    case BinaryOp::Sub:
      code = 1;
      break;
    case BinaryOp::Mul:
      code = 2;
      break;
    case BinaryOp::Div:
      code = 3;
      break;
    default:
      fail("complex_binary: unsupported op ", int(op), " for complex tensors");
  }
  if (l.numel == 0) return;
  detail::use_device(device);
  kernels::complex_binary<R>
      <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          code, cx(out), cx(a), cx(b), l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class R>
void complex_unary_impl(int op, std::complex<R>* out, const std::complex<R>* x,
                        std::complex<double> s, const StridedLayout& l, int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  const kernels::Cx<R> sc{R(s.real()), R(s.imag())};
  kernels::complex_unary<R>
      <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          op, cx(out), cx(x), sc, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class R>
void complex_from_parts_impl(std::complex<R>* out, const R* re, const R* im, const StridedLayout& l,
                             int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  kernels::complex_from_parts<R>
      <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          cx(out), re, im, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

void check_gemm_range(const GemmArgs& g) {
  for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.batch})
    EMBER_CHECK(v <= int64_t(INT_MAX), "matmul: a dimension of ", v,
                " is larger than cuBLAS's int arguments allow");
}

// ---------------------------------------------------------------- sparse

// One block per row, threads over the features (at least a warp, at most kThreads).
unsigned feature_threads(int64_t F) {
  int64_t t = (F + 31) / 32 * 32;
  if (t < 32) t = 32;
  if (t > kThreads) t = kThreads;
  return unsigned(t);
}

unsigned row_blocks(int64_t rows, int device) {
  const int64_t cap = int64_t(detail::sm_count(device)) * 32;
  return unsigned(rows < cap ? (rows < 1 ? 1 : rows) : cap);
}

// Warps (one per row / segment), 8 per block.
unsigned warp_blocks(int64_t rows, int device) {
  return detail::grid_for(rows * 32, kThreads, device);
}

// The cuSPARSE handle of `device`'s current stream (created on first use, never destroyed,
// like the cuBLAS handles of runtime.cu).
cusparseHandle_t cusparse_handle(int device) {
  static std::mutex* mu = new std::mutex();
  static auto* handles = new std::map<std::pair<int, cudaStream_t>, cusparseHandle_t>();
  const cudaStream_t st = detail::stream(device);
  std::lock_guard<std::mutex> lock(*mu);
  cusparseHandle_t& h = (*handles)[{device, st}];
  if (!h) {
    detail::use_device(device);
    EMBER_CUDA_CHECK(cusparseCreate(&h));
    EMBER_CUDA_CHECK(cusparseSetStream(h, st));
  }
  return h;
}

// The descriptors of one cusparseSpMM call, destroyed on every exit. They are host-side
// structs wrapping the caller's pointers (cheap to create), so they are made per call rather
// than cached against tensors whose storage may be freed and reused.
struct SpmmDescriptors {
  cusparseConstSpMatDescr_t a = nullptr;
  cusparseConstDnMatDescr_t b = nullptr;
  cusparseDnMatDescr_t c = nullptr;
  ~SpmmDescriptors() {
    if (a) cusparseDestroySpMat(a);
    if (b) cusparseDestroyDnMat(b);
    if (c) cusparseDestroyDnMat(c);
  }
};

// out [rows, F] = A [rows, cols] · x [cols, F] (row-major, scalar values) by cusparseSpMM.
// Non-transposed A: cuSPARSE's result is deterministic run to run.
template <class T, class I>
void spmm_cusparse(T* out, const I* rp, const I* ci, const T* v, const T* x, int64_t rows,
                   int64_t cols, int64_t nnz, int64_t F, int device) {
  const cudaDataType dt = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;
  const cusparseIndexType_t it = sizeof(I) == 4 ? CUSPARSE_INDEX_32I : CUSPARSE_INDEX_64I;
  const cusparseHandle_t h = cusparse_handle(device);
  SpmmDescriptors d;
  EMBER_CUDA_CHECK(cusparseCreateConstCsr(&d.a, rows, cols, nnz, rp, ci, v, it, it,
                                          CUSPARSE_INDEX_BASE_ZERO, dt));
  EMBER_CUDA_CHECK(cusparseCreateConstDnMat(&d.b, cols, F, F, x, dt, CUSPARSE_ORDER_ROW));
  EMBER_CUDA_CHECK(cusparseCreateDnMat(&d.c, rows, F, F, out, dt, CUSPARSE_ORDER_ROW));
  const T alpha = T(1), beta = T(0);
  const cusparseOperation_t op = CUSPARSE_OPERATION_NON_TRANSPOSE;
  size_t bytes = 0;
  EMBER_CUDA_CHECK(cusparseSpMM_bufferSize(h, op, op, &alpha, d.a, d.b, &beta, d.c, dt,
                                           CUSPARSE_SPMM_ALG_DEFAULT, &bytes));
  void* buffer = bytes ? allocate(bytes, device) : nullptr;
  const cusparseStatus_t status =
      cusparseSpMM(h, op, op, &alpha, d.a, d.b, &beta, d.c, dt, CUSPARSE_SPMM_ALG_DEFAULT, buffer);
  deallocate(buffer, bytes, device);  // stream-ordered: after the product has used it
  EMBER_CUDA_CHECK(status);
}

// cuSPARSE for scalar values and rows of at least a warp of features (where its tiled kernels
// pay off); the hand-written kernel for multi-head values, narrow rows and empty matrices.
template <class T, class I>
void spmm_impl(T* out, const I* rp, const I* ci, const T* v, const T* x, int64_t rows, int64_t cols,
               int64_t nnz, int64_t H, int64_t C, int device) {
  if (rows == 0 || H * C == 0) return;
  detail::use_device(device);
  if (H == 1 && C >= 32 && nnz > 0 && cols > 0) {
    spmm_cusparse(out, rp, ci, v, x, rows, cols, nnz, C, device);
    return;
  }
  kernels::spmm_csr<T, I>
      <<<row_blocks(rows, device), feature_threads(H * C), 0, detail::stream(device)>>>(
          out, rp, ci, v, x, rows, H, C);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T, class I>
void sddmm_impl(T* out, const I* rp, const I* ci, const T* p, const T* q, int64_t rows, int64_t H,
                int64_t C, int device) {
  if (rows == 0 || H == 0) return;
  detail::use_device(device);
  kernels::sddmm_csr<T, I><<<warp_blocks(rows, device), kThreads, 0, detail::stream(device)>>>(
      out, rp, ci, p, q, rows, H, C);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void segment_softmax_forward_impl(T* out, const T* src, const int64_t* rp, int64_t nseg, int64_t H,
                                  int device) {
  if (nseg == 0 || H == 0) return;
  detail::use_device(device);
  kernels::segment_softmax_forward<T>
      <<<warp_blocks(nseg, device), kThreads, 0, detail::stream(device)>>>(out, src, rp, nseg, H);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void segment_softmax_backward_impl(T* gx, const T* g, const T* y, const int64_t* rp, int64_t nseg,
                                   int64_t H, int device) {
  if (nseg == 0 || H == 0) return;
  detail::use_device(device);
  kernels::segment_softmax_backward<T>
      <<<warp_blocks(nseg, device), kThreads, 0, detail::stream(device)>>>(gx, g, y, rp, nseg, H);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void gather_rows_impl(T* out, const T* v, const int64_t* perm, int64_t n, int64_t W, int device) {
  if (n == 0 || W == 0) return;
  detail::use_device(device);
  kernels::gather_rows<T>
      <<<detail::grid_for(n * W, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          out, v, perm, n, W);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void fill_above_diagonal_impl(T* x, int64_t B, int64_t L, int64_t S, int64_t diagonal, T value,
                              int device) {
  const int64_t total = B * L * S;
  if (total == 0) return;
  detail::use_device(device);
  kernels::fill_above_diagonal<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          x, total, L, S, diagonal, value);
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace

// ---------------------------------------------------------------- FFT

void fft_c2c(std::complex<float>* out, const std::complex<float>* in, int rank, const int64_t* n,
             int64_t batch, bool forward, double scale, int device) {
  fft_c2c_impl(out, in, rank, n, batch, forward, scale, device);
}
void fft_c2c(std::complex<double>* out, const std::complex<double>* in, int rank, const int64_t* n,
             int64_t batch, bool forward, double scale, int device) {
  fft_c2c_impl(out, in, rank, n, batch, forward, scale, device);
}
void fft_r2c(std::complex<float>* out, const float* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device) {
  fft_r2c_impl(out, in, rank, n, batch, scale, device);
}
void fft_r2c(std::complex<double>* out, const double* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device) {
  fft_r2c_impl(out, in, rank, n, batch, scale, device);
}
void fft_c2r(float* out, const std::complex<float>* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device) {
  fft_c2r_impl(out, in, rank, n, batch, scale, device);
}
void fft_c2r(double* out, const std::complex<double>* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device) {
  fft_c2r_impl(out, in, rank, n, batch, scale, device);
}

// ---------------------------------------------------------------- complex

void complex_binary(BinaryOp op, std::complex<float>* out, const std::complex<float>* a,
                    const std::complex<float>* b, const StridedLayout& l, int device) {
  complex_binary_impl(op, out, a, b, l, device);
}
void complex_binary(BinaryOp op, std::complex<double>* out, const std::complex<double>* a,
                    const std::complex<double>* b, const StridedLayout& l, int device) {
  complex_binary_impl(op, out, a, b, l, device);
}
void complex_unary(int op, std::complex<float>* out, const std::complex<float>* x,
                   std::complex<double> s, const StridedLayout& l, int device) {
  complex_unary_impl(op, out, x, s, l, device);
}
void complex_unary(int op, std::complex<double>* out, const std::complex<double>* x,
                   std::complex<double> s, const StridedLayout& l, int device) {
  complex_unary_impl(op, out, x, s, l, device);
}
void complex_from_parts(std::complex<float>* out, const float* re, const float* im,
                        const StridedLayout& l, int device) {
  complex_from_parts_impl(out, re, im, l, device);
}
void complex_from_parts(std::complex<double>* out, const double* re, const double* im,
                        const StridedLayout& l, int device) {
  complex_from_parts_impl(out, re, im, l, device);
}

// Row-major C = A · B is column-major Cᵀ = Bᵀ · Aᵀ: swap the operands, as gemm (nn.cu) does.
void gemm(const GemmArgs& g, const std::complex<float>* a, const std::complex<float>* b,
          std::complex<float>* c, int device) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  check_gemm_range(g);
  detail::use_device(device);
  cublasHandle_t h = detail::cublas_handle(device);
  const cuComplex alpha = make_cuComplex(float(g.alpha), 0.f),
                  beta = make_cuComplex(float(g.beta), 0.f);
  EMBER_CUDA_CHECK(cublasCgemmStridedBatched(
      h, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, int(g.n),
      int(g.m), int(g.k), &alpha, reinterpret_cast<const cuComplex*>(b), int(g.ldb), g.stride_b,
      reinterpret_cast<const cuComplex*>(a), int(g.lda), g.stride_a, &beta,
      reinterpret_cast<cuComplex*>(c), int(g.ldc), g.stride_c, int(g.batch)));
}
void gemm(const GemmArgs& g, const std::complex<double>* a, const std::complex<double>* b,
          std::complex<double>* c, int device) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  check_gemm_range(g);
  detail::use_device(device);
  cublasHandle_t h = detail::cublas_handle(device);
  const cuDoubleComplex alpha = make_cuDoubleComplex(g.alpha, 0.0),
                        beta = make_cuDoubleComplex(g.beta, 0.0);
  EMBER_CUDA_CHECK(cublasZgemmStridedBatched(
      h, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, int(g.n),
      int(g.m), int(g.k), &alpha, reinterpret_cast<const cuDoubleComplex*>(b), int(g.ldb),
      g.stride_b, reinterpret_cast<const cuDoubleComplex*>(a), int(g.lda), g.stride_a, &beta,
      reinterpret_cast<cuDoubleComplex*>(c), int(g.ldc), g.stride_c, int(g.batch)));
}

// ---------------------------------------------------------------- attention

void fill_above_diagonal(float* x, int64_t B, int64_t L, int64_t S, int64_t diagonal, float value,
                         int device) {
  fill_above_diagonal_impl(x, B, L, S, diagonal, value, device);
}
void fill_above_diagonal(double* x, int64_t B, int64_t L, int64_t S, int64_t diagonal, double value,
                         int device) {
  fill_above_diagonal_impl(x, B, L, S, diagonal, value, device);
}

// ---------------------------------------------------------------- sparse

#define EMBER_CUDA_SPARSE_DEF(T, I)                                                                \
  void spmm_csr(T* out, const I* row_ptr, const I* col_idx, const T* values, const T* x,           \
                int64_t rows, int64_t cols, int64_t nnz, int64_t H, int64_t C, int device) {       \
    spmm_impl(out, row_ptr, col_idx, values, x, rows, cols, nnz, H, C, device);                    \
  }                                                                                                \
  void sddmm_csr(T* out, const I* row_ptr, const I* col_idx, const T* p, const T* q, int64_t rows, \
                 int64_t H, int64_t C, int device) {                                               \
    sddmm_impl(out, row_ptr, col_idx, p, q, rows, H, C, device);                                   \
  }
EMBER_CUDA_SPARSE_DEF(float, int32_t)
EMBER_CUDA_SPARSE_DEF(float, int64_t)
EMBER_CUDA_SPARSE_DEF(double, int32_t)
EMBER_CUDA_SPARSE_DEF(double, int64_t)
#undef EMBER_CUDA_SPARSE_DEF

void segment_softmax_forward(float* out, const float* src, const int64_t* row_ptr, int64_t nseg,
                             int64_t H, int device) {
  segment_softmax_forward_impl(out, src, row_ptr, nseg, H, device);
}
void segment_softmax_forward(double* out, const double* src, const int64_t* row_ptr, int64_t nseg,
                             int64_t H, int device) {
  segment_softmax_forward_impl(out, src, row_ptr, nseg, H, device);
}
void segment_softmax_backward(float* gx, const float* g, const float* y, const int64_t* row_ptr,
                              int64_t nseg, int64_t H, int device) {
  segment_softmax_backward_impl(gx, g, y, row_ptr, nseg, H, device);
}
void segment_softmax_backward(double* gx, const double* g, const double* y, const int64_t* row_ptr,
                              int64_t nseg, int64_t H, int device) {
  segment_softmax_backward_impl(gx, g, y, row_ptr, nseg, H, device);
}
void gather_rows(float* out, const float* v, const int64_t* perm, int64_t n, int64_t W,
                 int device) {
  gather_rows_impl(out, v, perm, n, W, device);
}
void gather_rows(double* out, const double* v, const int64_t* perm, int64_t n, int64_t W,
                 int device) {
  gather_rows_impl(out, v, perm, n, W, device);
}

}  // namespace ember::cuda
