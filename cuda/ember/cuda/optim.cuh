// Fused multi-tensor optimizer steps (SGD, Adam, AdamW): one launch updates a chunk of up to
// kOptimChunk parameters, blockIdx.y picking the tensor and blockIdx.x striding over its
// elements. The per-tensor descriptors travel in the kernel's parameter space (< 4 KiB).
//
// The math is optim/sgd.hpp's and optim/adam.hpp's expression for expression, with every
// multiply and add an explicitly rounded intrinsic (__fmul_rn, __dadd_rn, ...) so nvcc cannot
// contract them into FMAs: the CPU build does not fuse them either, so the two agree to the
// last bit (IEEE sqrt and division are nvcc's defaults).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ember::cuda::kernels {

inline constexpr int kOptimChunk = 24;

__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ float div_rn(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double div_rn(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double sqrt_rn(double a) { return __dsqrt_rn(a); }

// One SGD parameter with its scalars already rounded to R (as sgd.hpp's update does).
template <class R>
struct SgdDesc {
  R* p;
  const R* g;
  R* buf;
  int64_t n;
  R wd, mom, keep, neg_lr;
  bool decay, nesterov, maximize, first;
};
template <class R>
struct SgdChunk {
  SgdDesc<R> t[kOptimChunk];
};

template <class R>
__global__ void sgd_step(SgdChunk<R> chunk) {
  const SgdDesc<R>& s = chunk.t[blockIdx.y];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < s.n; k += stride) {
    const R pk = s.p[k];
    R d = s.maximize ? -s.g[k] : s.g[k];
    if (s.decay) d = add_rn(d, mul_rn(s.wd, pk));
    if (s.buf) {
      const R b = s.first ? d : add_rn(mul_rn(s.buf[k], s.mom), mul_rn(s.keep, d));
      s.buf[k] = b;
      d = s.nesterov ? add_rn(d, mul_rn(s.mom, b)) : b;
    }
    s.p[k] = add_rn(pk, mul_rn(s.neg_lr, d));
  }
}

// One Adam / AdamW parameter with its scalars already formed in double and rounded to R.
template <class R>
struct AdamDesc {
  R* p;
  const R* g;
  R* m;
  R* v;
  R* vmax;
  int64_t n;
  R neg_step, bias2_sqrt, w1, beta2, w2, eps, wd, shrink;
  bool decay, decoupled, maximize;
};
template <class R>
struct AdamChunk {
  AdamDesc<R> t[kOptimChunk];
};

// torch.lerp, as optim/adam.hpp's detail::lerp.
template <class R>
__device__ __forceinline__ R lerp_rn(R a, R b, R w) {
  return fabs(w) < R(0.5) ? add_rn(a, mul_rn(w, sub_rn(b, a)))
                          : sub_rn(b, mul_rn(sub_rn(b, a), sub_rn(R(1), w)));
}

template <class R>
__global__ void adam_step(AdamChunk<R> chunk) {
  const AdamDesc<R>& s = chunk.t[blockIdx.y];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < s.n; k += stride) {
    R pk = s.p[k];
    R d = s.maximize ? -s.g[k] : s.g[k];
    if (s.decay) {
      if (s.decoupled)
        pk = mul_rn(pk, s.shrink);
      else
        d = add_rn(d, mul_rn(s.wd, pk));
    }
    const R m = lerp_rn(s.m[k], d, s.w1);
    const R v = add_rn(mul_rn(s.v[k], s.beta2), mul_rn(mul_rn(s.w2, d), d));
    s.m[k] = m;
    s.v[k] = v;
    R second = v;
    if (s.vmax) {
      const R old = s.vmax[k];
      second = old < v ? v : old;  // std::max(vmax, v): keeps vmax unless v is larger
      s.vmax[k] = second;
    }
    const R denom = add_rn(div_rn(sqrt_rn(second), s.bias2_sqrt), s.eps);
    s.p[k] = add_rn(pk, div_rn(mul_rn(s.neg_step, m), denom));
  }
}

}  // namespace ember::cuda::kernels
