// CSR kernels: spmm, sddmm, the per-row softmax of entries (segment_softmax) and its backward,
// and the row gather that permutes entry values into the transpose's order.
//
// Deterministic by construction (no atomics): every output element is owned by one thread or
// one warp and summed in entry order, like the CPU kernels of backend/cpu/sparse.hpp, so float
// results differ from the CPU only by the CPU's pairwise unrolling (a few ulps). Warp sums and
// maxima are reduce.cuh's.
//
// Layouts (all contiguous): values [nnz, H]; X / P / Q rows of F = H * C features, head h at
// [h * C, (h + 1) * C). H = 1 for scalar values.
//
// Kernels and the launchers of backend/sparse.hpp; included by one translation unit
// (cuda/src/spectral.cu), which gets the float and double (and int32 / int64 index) instances
// at the end of this file.
#pragma once

#include <cuda_runtime.h>
#include <cusparse.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>

#include <ember/backend/sparse.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// out[r, f] = sum_k v[k, f / C] * x[ci[k], f]: one block per row (grid-stride over rows),
// threads over the F features (coalesced reads of x's rows).
template <class T, class I>
__global__ void spmm_csr(T* __restrict__ out, const I* __restrict__ rp, const I* __restrict__ ci,
                         const T* __restrict__ v, const T* __restrict__ x, int64_t rows, int64_t H,
                         int64_t C) {
  const int64_t F = H * C;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t k0 = int64_t(rp[r]), k1 = int64_t(rp[r + 1]);
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) {
      const int64_t h = f / C;
      T acc = T(0);
      for (int64_t k = k0; k < k1; ++k) acc += v[k * H + h] * x[int64_t(ci[k]) * F + f];
      out[r * F + f] = acc;
    }
  }
}

// out[k, h] = <p[r_k, h, :], q[c_k, h, :]>: one warp per row (grid-stride), lanes over C.
template <class T, class I>
__global__ void sddmm_csr(T* __restrict__ out, const I* __restrict__ rp, const I* __restrict__ ci,
                          const T* __restrict__ p, const T* __restrict__ q, int64_t rows, int64_t H,
                          int64_t C) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  const int64_t F = H * C;
  for (int64_t r = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32; r < rows; r += warps) {
    const T* pr = p + r * F;
    for (int64_t k = int64_t(rp[r]); k < int64_t(rp[r + 1]); ++k) {
      const T* qr = q + int64_t(ci[k]) * F;
      for (int64_t h = 0; h < H; ++h) {
        T acc = T(0);
        for (int64_t c = lane; c < C; c += 32) acc += pr[h * C + c] * qr[h * C + c];
        acc = warp_sum(acc);
        if (lane == 0) out[k * H + h] = acc;
      }
    }
  }
}

// Softmax of src [E, H] over each segment rp[s] .. rp[s+1] (per column h): one warp per
// segment, lanes over its entries. A column of -inf only is shifted by 0 (gives NaN, as the CPU).
template <class T>
__global__ void segment_softmax_forward(T* __restrict__ out, const T* __restrict__ src,
                                        const int64_t* __restrict__ rp, int64_t nseg, int64_t H) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t s = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32; s < nseg; s += warps) {
    const int64_t k0 = rp[s], k1 = rp[s + 1];
    for (int64_t h = 0; h < H; ++h) {
      T m = -INFINITY;
      for (int64_t k = k0 + lane; k < k1; k += 32) m = fmax(m, src[k * H + h]);
      m = warp_max(m);
      const T shift = isinf(m) ? T(0) : m;
      T sum = T(0);
      for (int64_t k = k0 + lane; k < k1; k += 32) {
        const T e = exp(src[k * H + h] - shift);
        out[k * H + h] = e;
        sum += e;
      }
      sum = warp_sum(sum);
      // Each lane rescales the entries it wrote itself: no cross-lane hazard.
      for (int64_t k = k0 + lane; k < k1; k += 32) out[k * H + h] /= sum;
    }
  }
}

// gx = g y - y sum_segment(g y), per column h (the CPU rule's formula, in its order).
template <class T>
__global__ void segment_softmax_backward(T* __restrict__ gx, const T* __restrict__ g,
                                         const T* __restrict__ y, const int64_t* __restrict__ rp,
                                         int64_t nseg, int64_t H) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t s = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32; s < nseg; s += warps) {
    const int64_t k0 = rp[s], k1 = rp[s + 1];
    for (int64_t h = 0; h < H; ++h) {
      T sum = T(0);
      for (int64_t k = k0 + lane; k < k1; k += 32) sum += g[k * H + h] * y[k * H + h];
      sum = warp_sum(sum);
      for (int64_t k = k0 + lane; k < k1; k += 32) {
        const T yv = y[k * H + h];
        gx[k * H + h] = g[k * H + h] * yv - yv * sum;
      }
    }
  }
}

// out[k, w] = v[perm[k], w] for k < n, rows of W elements.
template <class T>
__global__ void gather_rows(T* __restrict__ out, const T* __restrict__ v,
                            const int64_t* __restrict__ perm, int64_t n, int64_t W) {
  const int64_t total = n * W, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t k = i / W, w = i % W;
    out[i] = v[perm[k] * W + w];
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

namespace detail {

inline constexpr int kSparseThreads = 256;

// One block per row, threads over the features (at least a warp, at most kSparseThreads).
inline unsigned csr_feature_threads(int64_t F) {
  int64_t t = (F + 31) / 32 * 32;
  if (t < 32) t = 32;
  if (t > kSparseThreads) t = kSparseThreads;
  return unsigned(t);
}

inline unsigned csr_row_blocks(int64_t rows, int device) {
  const int64_t cap = int64_t(sm_count(device)) * 32;
  return unsigned(rows < cap ? (rows < 1 ? 1 : rows) : cap);
}

// Warps (one per row / segment), 8 per block.
inline unsigned csr_warp_blocks(int64_t rows, int device) {
  return grid_for(rows * 32, kSparseThreads, device);
}

// The cuSPARSE handle of `device`'s current stream (created on first use, never destroyed,
// like the cuBLAS handles of runtime.cu).
inline cusparseHandle_t cusparse_handle(int device) {
  static std::mutex* mu = new std::mutex();
  static auto* handles = new std::map<std::pair<int, cudaStream_t>, cusparseHandle_t>();
  const cudaStream_t st = stream(device);
  std::lock_guard<std::mutex> lock(*mu);
  cusparseHandle_t& h = (*handles)[{device, st}];
  if (!h) {
    use_device(device);
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

}  // namespace detail

// cuSPARSE for scalar values and rows of at least a warp of features (where its tiled kernels
// pay off); the hand-written kernel for multi-head values, narrow rows and empty matrices.
template <class T, class I>
void spmm_csr(T* out, const I* row_ptr, const I* col_idx, const T* values, const T* x, int64_t rows,
              int64_t cols, int64_t nnz, int64_t H, int64_t C, int device) {
  if (rows == 0 || H * C == 0) return;
  detail::use_device(device);
  if (H == 1 && C >= 32 && nnz > 0 && cols > 0) {
    detail::spmm_cusparse(out, row_ptr, col_idx, values, x, rows, cols, nnz, C, device);
    return;
  }
  kernels::spmm_csr<T, I>
      <<<detail::csr_row_blocks(rows, device), detail::csr_feature_threads(H * C), 0,
         detail::stream(device)>>>(out, row_ptr, col_idx, values, x, rows, H, C);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T, class I>
void sddmm_csr(T* out, const I* row_ptr, const I* col_idx, const T* p, const T* q, int64_t rows,
               int64_t H, int64_t C, int device) {
  if (rows == 0 || H == 0) return;
  detail::use_device(device);
  kernels::sddmm_csr<T, I><<<detail::csr_warp_blocks(rows, device), detail::kSparseThreads, 0,
                             detail::stream(device)>>>(out, row_ptr, col_idx, p, q, rows, H, C);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void segment_softmax_forward(T* out, const T* src, const int64_t* row_ptr, int64_t nseg, int64_t H,
                             int device) {
  if (nseg == 0 || H == 0) return;
  detail::use_device(device);
  kernels::segment_softmax_forward<T>
      <<<detail::csr_warp_blocks(nseg, device), detail::kSparseThreads, 0,
         detail::stream(device)>>>(out, src, row_ptr, nseg, H);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void segment_softmax_backward(T* gx, const T* g, const T* y, const int64_t* row_ptr, int64_t nseg,
                              int64_t H, int device) {
  if (nseg == 0 || H == 0) return;
  detail::use_device(device);
  kernels::segment_softmax_backward<T>
      <<<detail::csr_warp_blocks(nseg, device), detail::kSparseThreads, 0,
         detail::stream(device)>>>(gx, g, y, row_ptr, nseg, H);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void gather_rows(T* out, const T* v, const int64_t* perm, int64_t n, int64_t W, int device) {
  if (n == 0 || W == 0) return;
  constexpr int threads = detail::kSparseThreads;
  detail::use_device(device);
  kernels::gather_rows<T>
      <<<detail::grid_for(n * W, threads, device), threads, 0, detail::stream(device)>>>(
          out, v, perm, n, W);
  EMBER_CUDA_CHECK_LAUNCH();
}

#define EMBER_CUDA_SPARSE_INSTANCES(T, I)                                                     \
  template void spmm_csr<T, I>(T*, const I*, const I*, const T*, const T*, int64_t, int64_t,  \
                               int64_t, int64_t, int64_t, int);                               \
  template void sddmm_csr<T, I>(T*, const I*, const I*, const T*, const T*, int64_t, int64_t, \
                                int64_t, int);
EMBER_CUDA_SPARSE_INSTANCES(float, int32_t)
EMBER_CUDA_SPARSE_INSTANCES(float, int64_t)
EMBER_CUDA_SPARSE_INSTANCES(double, int32_t)
EMBER_CUDA_SPARSE_INSTANCES(double, int64_t)
#undef EMBER_CUDA_SPARSE_INSTANCES
template void segment_softmax_forward<float>(float*, const float*, const int64_t*, int64_t, int64_t,
                                             int);
template void segment_softmax_forward<double>(double*, const double*, const int64_t*, int64_t,
                                              int64_t, int);
template void segment_softmax_backward<float>(float*, const float*, const float*, const int64_t*,
                                              int64_t, int64_t, int);
template void segment_softmax_backward<double>(double*, const double*, const double*,
                                               const int64_t*, int64_t, int64_t, int);
template void gather_rows<float>(float*, const float*, const int64_t*, int64_t, int64_t, int);
template void gather_rows<double>(double*, const double*, const int64_t*, int64_t, int64_t, int);

}  // namespace ember::cuda
