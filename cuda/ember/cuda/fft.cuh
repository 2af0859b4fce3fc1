// cuFFT plans for ember's transforms, cached per (device, stream, type, rank, sizes, batch).
//
// Every transform ember asks for is batched over contiguous signals in cuFFT's basic layout
// (inembed / onembed null): `batch` signals of sizes n[0..rank) back to back, for R2C real
// input [n] and complex output [n_last / 2 + 1] per signal (C2R the other way round). So the
// key needs no strides. A plan is bound to its stream once (cufftSetStream) and keeps its own
// work area; plans are never destroyed (like the cuBLAS handles: destroying them at exit races
// with the driver's teardown, and an in-flight transform may still use the work area). Past
// kMaxPlans distinct keys the cache stops growing: such transforms get a one-off plan that is
// destroyed after the stream has finished with it.
//
// Plans, kernels and the launchers of backend/fft.hpp; included by one translation unit
// (cuda/src/spectral.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cufft.h>

#include <array>
#include <complex>
#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/fft.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>
#include <map>
#include <mutex>
#include <tuple>

namespace ember::cuda::detail {

struct FftPlanKey {
  int device;
  cudaStream_t stream;
  cufftType type;
  int rank;
  std::array<long long, 3> n;
  long long batch;
  bool operator<(const FftPlanKey& o) const {
    return std::tie(device, stream, type, rank, n, batch) <
           std::tie(o.device, o.stream, o.type, o.rank, o.n, o.batch);
  }
};

// A plan for `key`; `owned` is set when the caller must destroy it after use (cache full).
inline cufftHandle fft_plan(const FftPlanKey& key, bool& owned) {
  constexpr size_t kMaxPlans = 512;
  static std::mutex* mu = new std::mutex();
  static auto* cache = new std::map<FftPlanKey, cufftHandle>();
  std::lock_guard<std::mutex> lock(*mu);
  owned = false;
  if (auto it = cache->find(key); it != cache->end()) return it->second;
  use_device(key.device);
  cufftHandle plan;
  EMBER_CUDA_CHECK(cufftCreate(&plan));
  long long n[3] = {key.n[0], key.n[1], key.n[2]};
  size_t work = 0;
  cufftResult r = cufftMakePlanMany64(plan, key.rank, n, nullptr, 1, 0, nullptr, 1, 0, key.type,
                                      key.batch, &work);
  if (r == CUFFT_ALLOC_FAILED) {
    // The plan's work area comes from outside ember's memory pool, which keeps every block it
    // was given: return those to the driver and try once more.
    trim_pool(key.device, key.stream);
    r = cufftMakePlanMany64(plan, key.rank, n, nullptr, 1, 0, nullptr, 1, 0, key.type, key.batch,
                            &work);
  }
  if (r != CUFFT_SUCCESS) {
    cufftDestroy(plan);
    EMBER_CUDA_CHECK(r);  // throws with the call, file and line
  }
  EMBER_CUDA_CHECK(cufftSetStream(plan, key.stream));
  if (cache->size() < kMaxPlans)
    (*cache)[key] = plan;
  else
    owned = true;
  return plan;
}

// Destroys a one-off plan once the stream no longer needs it.
inline void fft_release(cufftHandle plan, bool owned, cudaStream_t stream) {
  if (!owned) return;
  EMBER_CUDA_CHECK(cudaStreamSynchronize(stream));
  EMBER_CUDA_CHECK(cufftDestroy(plan));
}

}  // namespace ember::cuda::detail

namespace ember::cuda::kernels {

// Zeroes the imaginary parts of bin 0 and (nyquist: even n) bin h - 1 of `rows` half spectra
// of h bins, given as their reals (re, im pairs): the parts a C2R transform must ignore (the
// CPU's c2r does), so that cuFFT sees an exactly Hermitian input whatever its own handling of
// them.
template <class R>
__global__ void zero_dc_nyquist_imag(R* __restrict__ x, int64_t rows, int64_t h, bool nyquist) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += stride) {
    x[2 * (r * h) + 1] = R(0);
    if (nyquist) x[2 * (r * h + h - 1) + 1] = R(0);
  }
}

// x[i] *= s over n reals (a complex array counts 2 per element): FFT normalisation.
template <class R>
__global__ void scale_reals(R* __restrict__ x, int64_t n, R s) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) x[i] *= s;
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

namespace detail {

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

inline FftPlanKey plan_key(cufftType type, int rank, const int64_t* n, int64_t batch,
                           int device) {
  EMBER_CHECK(rank >= 1 && rank <= 3, "fft: cuFFT transforms 1 to 3 dims at once, asked for ",
              rank);
  FftPlanKey key{device, stream(device), type, rank, {1, 1, 1}, batch};
  for (int i = 0; i < rank; ++i) key.n[size_t(i)] = n[i];
  return key;
}

// Signals are empty when there are none or one has size 0: nothing to transform.
inline bool fft_empty(int rank, const int64_t* n, int64_t batch) {
  if (batch <= 0) return true;
  for (int i = 0; i < rank; ++i)
    if (n[i] <= 0) return true;
  return false;
}

inline int64_t signal_size(int rank, const int64_t* n) {
  int64_t s = 1;
  for (int i = 0; i < rank; ++i) s *= n[i];
  return s;
}

template <class R>
void scale_in_place(R* x, int64_t nreal, double scale, int device) {
  if (scale == 1.0 || nreal == 0) return;
  kernels::scale_reals<R>
      <<<grid_for(nreal, 256, device), 256, 0, stream(device)>>>(x, nreal, R(scale));
  EMBER_CUDA_CHECK_LAUNCH();
}

inline cufftResult exec_c2c(cufftHandle p, std::complex<float>* in, std::complex<float>* out,
                            int dir) {
  return cufftExecC2C(p, reinterpret_cast<cufftComplex*>(in), reinterpret_cast<cufftComplex*>(out),
                      dir);
}
inline cufftResult exec_c2c(cufftHandle p, std::complex<double>* in, std::complex<double>* out,
                            int dir) {
  return cufftExecZ2Z(p, reinterpret_cast<cufftDoubleComplex*>(in),
                      reinterpret_cast<cufftDoubleComplex*>(out), dir);
}
inline cufftResult exec_r2c(cufftHandle p, float* in, std::complex<float>* out) {
  return cufftExecR2C(p, in, reinterpret_cast<cufftComplex*>(out));
}
inline cufftResult exec_r2c(cufftHandle p, double* in, std::complex<double>* out) {
  return cufftExecD2Z(p, in, reinterpret_cast<cufftDoubleComplex*>(out));
}
inline cufftResult exec_c2r(cufftHandle p, std::complex<float>* in, float* out) {
  return cufftExecC2R(p, reinterpret_cast<cufftComplex*>(in), out);
}
inline cufftResult exec_c2r(cufftHandle p, std::complex<double>* in, double* out) {
  return cufftExecZ2D(p, reinterpret_cast<cufftDoubleComplex*>(in), out);
}

}  // namespace detail

template <class R>
void fft_c2c(std::complex<R>* out, const std::complex<R>* in, int rank, const int64_t* n,
             int64_t batch, bool forward, double scale, int device) {
  if (detail::fft_empty(rank, n, batch)) return;
  detail::use_device(device);
  const detail::FftPlanKey key =
      detail::plan_key(detail::FftTypes<R>::c2c, rank, n, batch, device);
  bool owned = false;
  const cufftHandle plan = detail::fft_plan(key, owned);
  // Out-of-place C2C leaves its input intact, so the const_cast is only for the C signature.
  EMBER_CUDA_CHECK(detail::exec_c2c(plan, const_cast<std::complex<R>*>(in), out,
                                    forward ? CUFFT_FORWARD : CUFFT_INVERSE));
  detail::fft_release(plan, owned, key.stream);
  detail::scale_in_place(reinterpret_cast<R*>(out), 2 * batch * detail::signal_size(rank, n),
                         scale, device);
}

template <class R>
void fft_r2c(std::complex<R>* out, const R* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device) {
  if (detail::fft_empty(rank, n, batch)) return;
  detail::use_device(device);
  const detail::FftPlanKey key =
      detail::plan_key(detail::FftTypes<R>::r2c, rank, n, batch, device);
  bool owned = false;
  const cufftHandle plan = detail::fft_plan(key, owned);
  EMBER_CUDA_CHECK(detail::exec_r2c(plan, const_cast<R*>(in), out));
  detail::fft_release(plan, owned, key.stream);
  const int64_t bins = detail::signal_size(rank - 1, n) * (n[rank - 1] / 2 + 1);
  detail::scale_in_place(reinterpret_cast<R*>(out), 2 * batch * bins, scale, device);
}

template <class R>
void fft_c2r(R* out, const std::complex<R>* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device) {
  if (detail::fft_empty(rank, n, batch)) return;
  detail::use_device(device);
  const cudaStream_t st = detail::stream(device);
  // cuFFT's C2R overwrites its input: transform a copy.
  const int64_t bins = batch * detail::signal_size(rank - 1, n) * (n[rank - 1] / 2 + 1);
  const size_t bytes = size_t(bins) * sizeof(std::complex<R>);
  void* tmp = allocate(bytes, device);
  try {
    EMBER_CUDA_CHECK(cudaMemcpyAsync(tmp, in, bytes, cudaMemcpyDeviceToDevice, st));
    if (rank == 1) {  // 1-D: the imaginary parts of DC / Nyquist are ignored (CPU semantics)
      const int64_t h = n[0] / 2 + 1;
      kernels::zero_dc_nyquist_imag<R><<<detail::grid_for(batch, 256, device), 256, 0, st>>>(
          static_cast<R*>(tmp), batch, h, n[0] % 2 == 0);
      EMBER_CUDA_CHECK_LAUNCH();
    }
    const detail::FftPlanKey key =
        detail::plan_key(detail::FftTypes<R>::c2r, rank, n, batch, device);
    bool owned = false;
    const cufftHandle plan = detail::fft_plan(key, owned);
    EMBER_CUDA_CHECK(detail::exec_c2r(plan, static_cast<std::complex<R>*>(tmp), out));
    detail::fft_release(plan, owned, key.stream);
  } catch (...) {
    deallocate(tmp, bytes, device);
    throw;
  }
  deallocate(tmp, bytes, device);  // stream-ordered: freed after the transform has read it
  detail::scale_in_place(out, batch * detail::signal_size(rank, n), scale, device);
}

template void fft_c2c<float>(std::complex<float>*, const std::complex<float>*, int, const int64_t*,
                             int64_t, bool, double, int);
template void fft_c2c<double>(std::complex<double>*, const std::complex<double>*, int,
                              const int64_t*, int64_t, bool, double, int);
template void fft_r2c<float>(std::complex<float>*, const float*, int, const int64_t*, int64_t,
                             double, int);
template void fft_r2c<double>(std::complex<double>*, const double*, int, const int64_t*, int64_t,
                              double, int);
template void fft_c2r<float>(float*, const std::complex<float>*, int, const int64_t*, int64_t,
                             double, int);
template void fft_c2r<double>(double*, const std::complex<double>*, int, const int64_t*, int64_t,
                              double, int);

}  // namespace ember::cuda
