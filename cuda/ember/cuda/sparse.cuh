// CSR kernels: spmm, sddmm, the per-row softmax of entries (segment_softmax) and its backward,
// and the row gather that permutes entry values into the transpose's order.
//
// Deterministic by construction (no atomics): every output element is owned by one thread or
// one warp and summed in entry order, like the CPU kernels of ops/sparse.hpp, so float results
// differ from the CPU only by the CPU's pairwise unrolling (a few ulps).
//
// Layouts (all contiguous): values [nnz, H]; X / P / Q rows of F = H * C features, head h at
// [h * C, (h + 1) * C). H = 1 for scalar values.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace ember::cuda::kernels {

template <class T>
__device__ inline T warp_sum(T v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <class T>
__device__ inline T warp_max(T v) {
  for (int o = 16; o > 0; o /= 2) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

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
