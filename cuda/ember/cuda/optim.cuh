// Fused multi-tensor optimizer steps (SGD, Adam, AdamW): one launch updates a chunk of up to
// kOptimChunk parameters, blockIdx.y picking the tensor and blockIdx.x striding over its
// elements. The per-tensor descriptors travel in the kernel's parameter space (< 4 KiB).
//
// The math is backend/cpu/optim.hpp's expression for expression, with every
// multiply and add an explicitly rounded intrinsic (__fmul_rn, __dadd_rn, ...) so nvcc cannot
// contract them into FMAs: the CPU build does not fuse them either, so the two agree to the
// last bit (IEEE sqrt and division are nvcc's defaults).
//
// Kernels and the launchers of backend/optim.hpp; included by one translation unit
// (cuda/src/indexing.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <ember/backend/optim.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>

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

namespace ember::cuda {

namespace detail {

inline constexpr int kOptimThreads = 256;

// Blocks along x for a chunk whose largest tensor has max_n elements: enough for a few waves
// over the whole chunk, spread over its tensors (blockIdx.y).
inline unsigned optim_blocks(int64_t max_n, size_t count, int device) {
  const int64_t need = (max_n + kOptimThreads - 1) / kOptimThreads;
  const int64_t cap = std::max<int64_t>(1, int64_t(sm_count(device)) * 16 / int64_t(count));
  return unsigned(std::max<int64_t>(1, std::min(need, cap)));
}

}  // namespace detail

template <class R>
void sgd_step(const SgdParam<R>* params, size_t count, int device) {
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  for (size_t first = 0; first < count; first += kernels::kOptimChunk) {
    kernels::SgdChunk<R> chunk{};
    const size_t c = std::min<size_t>(kernels::kOptimChunk, count - first);
    int64_t max_n = 0;
    for (size_t i = 0; i < c; ++i) {
      const SgdParam<R>& q = params[first + i];
      kernels::SgdDesc<R>& d = chunk.t[i];
      // The scalars exactly as cpu::sgd_step forms them.
      d = {q.param,
           q.grad,
           q.momentum_buffer,
           q.n,
           R(q.weight_decay),
           R(q.momentum),
           R(1 - q.dampening),
           R(-q.lr),
           q.weight_decay != 0,
           q.nesterov,
           q.maximize,
           q.first};
      max_n = std::max(max_n, q.n);
    }
    if (max_n == 0) continue;
    kernels::sgd_step<R><<<dim3(detail::optim_blocks(max_n, c, device), unsigned(c)),
                           detail::kOptimThreads, 0, st>>>(chunk);
    EMBER_CUDA_CHECK_LAUNCH();
  }
}

template <class R>
void adam_step(const AdamParam<R>* params, size_t count, int device) {
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  for (size_t first = 0; first < count; first += kernels::kOptimChunk) {
    kernels::AdamChunk<R> chunk{};
    const size_t c = std::min<size_t>(kernels::kOptimChunk, count - first);
    int64_t max_n = 0;
    for (size_t i = 0; i < c; ++i) {
      const AdamParam<R>& q = params[first + i];
      // The scalars exactly as cpu::adam_step forms them.
      const double bias1 = 1 - std::pow(q.beta1, double(q.step));
      const double bias2 = 1 - std::pow(q.beta2, double(q.step));
      kernels::AdamDesc<R>& d = chunk.t[i];
      d = {q.param,
           q.grad,
           q.exp_avg,
           q.exp_avg_sq,
           q.max_exp_avg_sq,
           q.n,
           R(-(q.lr / bias1)),
           R(std::sqrt(bias2)),
           R(1 - q.beta1),
           R(q.beta2),
           R(1 - q.beta2),
           R(q.eps),
           R(q.weight_decay),
           R(1 - q.lr * q.weight_decay),
           q.weight_decay != 0,
           q.decoupled,
           q.maximize};
      max_n = std::max(max_n, q.n);
    }
    if (max_n == 0) continue;
    kernels::adam_step<R><<<dim3(detail::optim_blocks(max_n, c, device), unsigned(c)),
                            detail::kOptimThreads, 0, st>>>(chunk);
    EMBER_CUDA_CHECK_LAUNCH();
  }
}

template void sgd_step<float>(const SgdParam<float>*, size_t, int);
template void sgd_step<double>(const SgdParam<double>*, size_t, int);
template void adam_step<float>(const AdamParam<float>*, size_t, int);
template void adam_step<double>(const AdamParam<double>*, size_t, int);

}  // namespace ember::cuda
