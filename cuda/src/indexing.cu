// Launchers for the indexing family (ember/cuda/indexing.cuh: gather / scatter_add along a dim,
// masked_fill, segment_sum, the Philox dropout mask) and the fused optimizer steps
// (ember/cuda/optim.cuh). The deterministic scatter_add sorts with cub::DeviceRadixSort.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cub/device/device_radix_sort.cuh>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/indexing.cuh>
#include <ember/cuda/optim.cuh>
#include <ember/cuda/runtime.cuh>
#include <type_traits>

namespace ember::cuda {

namespace {

constexpr int kThreads = 256;

// Device scratch memory from the stream-ordered pool, released (stream-ordered) on scope exit.
class Scratch {
 public:
  Scratch(size_t nbytes, int device)
      : p_(nbytes ? allocate(nbytes, device) : nullptr), n_(nbytes), device_(device) {}
  ~Scratch() {
    if (!p_) return;
    try {
      deallocate(p_, n_, device_);
    } catch (...) {  // a destructor must not throw (the launch error, if any, is reported)
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class U>
  U* as() const {
    return static_cast<U*>(p_);
  }

 private:
  void* p_;
  size_t n_;
  int device_;
};

template <class T>
void index_gather_impl(T* kside, const T* target, const int64_t* index, const IndexLayout& l,
                       int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  kernels::index_gather<T>
      <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          kside, target, index, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void index_scatter_add_impl(T* target, const T* kside, const int64_t* index, const IndexLayout& l,
                            bool deterministic, int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  const unsigned grid = detail::grid_for(l.numel, kThreads, device);
  if (!deterministic) {
    kernels::index_scatter_add_atomic<T><<<grid, kThreads, 0, st>>>(target, kside, index, l);
    EMBER_CUDA_CHECK_LAUNCH();
    return;
  }
  // Sort only the bits a target offset can have (fewer radix passes).
  int end_bit = 1;
  while (end_bit < 64 && (uint64_t(1) << end_bit) < uint64_t(std::max<int64_t>(l.target_extent, 1)))
    ++end_bit;
  const size_t n = size_t(l.numel);
  Scratch keys(n * sizeof(uint64_t), device), keys_sorted(n * sizeof(uint64_t), device);
  Scratch pos(n * sizeof(int64_t), device), pos_sorted(n * sizeof(int64_t), device);
  kernels::index_scatter_keys<uint64_t>
      <<<grid, kThreads, 0, st>>>(keys.as<uint64_t>(), pos.as<int64_t>(), index, l);
  EMBER_CUDA_CHECK_LAUNCH();
  size_t temp_bytes = 0;
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, temp_bytes, keys.as<uint64_t>(), keys_sorted.as<uint64_t>(), pos.as<int64_t>(),
      pos_sorted.as<int64_t>(), l.numel, 0, end_bit, st));
  Scratch temp(std::max<size_t>(temp_bytes, 1), device);
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      temp.as<void>(), temp_bytes, keys.as<uint64_t>(), keys_sorted.as<uint64_t>(),
      pos.as<int64_t>(), pos_sorted.as<int64_t>(), l.numel, 0, end_bit, st));
  kernels::index_scatter_runs<T><<<grid, kThreads, 0, st>>>(
      target, kside, keys_sorted.as<uint64_t>(), pos_sorted.as<int64_t>(), l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void masked_fill_impl(T* out, const T* x, const bool* mask, double value, const StridedLayout& l,
                      int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  kernels::masked_fill<T>
      <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          out, x, mask, T(value), l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void segment_sum_impl(T* out, const T* src, const int64_t* row_ptr, int64_t rows, int64_t f,
                      int device) {
  if (rows * f == 0) return;
  detail::use_device(device);
  kernels::segment_sum<T>
      <<<detail::grid_for(rows * f, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          out, src, row_ptr, rows, f);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void scatter_max_impl(T* out, int64_t* arg, T* mask, const T* src, const int64_t* ptr,
                      const int64_t* order, int64_t rows, int64_t f, int64_t e_rows, int device) {
  if (rows * f == 0) return;
  detail::use_device(device);
  kernels::scatter_max_sorted<T>
      <<<detail::grid_for(rows * f, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          out, arg, mask, src, ptr, order, rows, f, e_rows);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void dropout_mask_impl(T* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device) {
  if (n == 0) return;
  detail::use_device(device);
  const double keep = 1.0 - p;
  const T scale = T(1.0 / keep);  // as ops/dropout.hpp: the scale rounded once to T
  kernels::dropout_mask<T>
      <<<detail::grid_for(n, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          mask, n, keep, scale, seed, offset);
  EMBER_CUDA_CHECK_LAUNCH();
}

// Blocks along x for a chunk whose largest tensor has max_n elements: enough for a few waves
// over the whole chunk, spread over its tensors (blockIdx.y).
unsigned optim_blocks(int64_t max_n, size_t count, int device) {
  const int64_t need = (max_n + kThreads - 1) / kThreads;
  const int64_t cap = std::max<int64_t>(1, int64_t(detail::sm_count(device)) * 16 / int64_t(count));
  return unsigned(std::max<int64_t>(1, std::min(need, cap)));
}

template <class R>
void sgd_step_impl(const SgdParam<R>* params, size_t count, int device) {
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  for (size_t first = 0; first < count; first += kernels::kOptimChunk) {
    kernels::SgdChunk<R> chunk{};
    const size_t c = std::min<size_t>(kernels::kOptimChunk, count - first);
    int64_t max_n = 0;
    for (size_t i = 0; i < c; ++i) {
      const SgdParam<R>& q = params[first + i];
      kernels::SgdDesc<R>& d = chunk.t[i];
      // The scalars exactly as SGD::update forms them on the CPU.
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
    kernels::sgd_step<R>
        <<<dim3(optim_blocks(max_n, c, device), unsigned(c)), kThreads, 0, st>>>(chunk);
    EMBER_CUDA_CHECK_LAUNCH();
  }
}

template <class R>
void adam_step_impl(const AdamParam<R>* params, size_t count, int device) {
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  for (size_t first = 0; first < count; first += kernels::kOptimChunk) {
    kernels::AdamChunk<R> chunk{};
    const size_t c = std::min<size_t>(kernels::kOptimChunk, count - first);
    int64_t max_n = 0;
    for (size_t i = 0; i < c; ++i) {
      const AdamParam<R>& q = params[first + i];
      // The scalars exactly as AdamImpl::update forms them on the CPU.
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
    kernels::adam_step<R>
        <<<dim3(optim_blocks(max_n, c, device), unsigned(c)), kThreads, 0, st>>>(chunk);
    EMBER_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace

void index_gather(float* kside, const float* target, const int64_t* index, const IndexLayout& l,
                  int device) {
  index_gather_impl(kside, target, index, l, device);
}
void index_gather(double* kside, const double* target, const int64_t* index, const IndexLayout& l,
                  int device) {
  index_gather_impl(kside, target, index, l, device);
}
void index_scatter_add(float* target, const float* kside, const int64_t* index,
                       const IndexLayout& l, bool deterministic, int device) {
  index_scatter_add_impl(target, kside, index, l, deterministic, device);
}
void index_scatter_add(double* target, const double* kside, const int64_t* index,
                       const IndexLayout& l, bool deterministic, int device) {
  index_scatter_add_impl(target, kside, index, l, deterministic, device);
}
void masked_fill(float* out, const float* x, const bool* mask, double value, const StridedLayout& l,
                 int device) {
  masked_fill_impl(out, x, mask, value, l, device);
}
void masked_fill(double* out, const double* x, const bool* mask, double value,
                 const StridedLayout& l, int device) {
  masked_fill_impl(out, x, mask, value, l, device);
}
void segment_sum(float* out, const float* src, const int64_t* row_ptr, int64_t rows, int64_t f,
                 int device) {
  segment_sum_impl(out, src, row_ptr, rows, f, device);
}
void segment_sum(double* out, const double* src, const int64_t* row_ptr, int64_t rows, int64_t f,
                 int device) {
  segment_sum_impl(out, src, row_ptr, rows, f, device);
}
void scatter_max(float* out, int64_t* arg, float* mask, const float* src, const int64_t* ptr,
                 const int64_t* order, int64_t rows, int64_t f, int64_t e_rows, int device) {
  scatter_max_impl(out, arg, mask, src, ptr, order, rows, f, e_rows, device);
}
void scatter_max(double* out, int64_t* arg, double* mask, const double* src, const int64_t* ptr,
                 const int64_t* order, int64_t rows, int64_t f, int64_t e_rows, int device) {
  scatter_max_impl(out, arg, mask, src, ptr, order, rows, f, e_rows, device);
}
void dropout_mask(float* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device) {
  dropout_mask_impl(mask, n, p, seed, offset, device);
}
void dropout_mask(double* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device) {
  dropout_mask_impl(mask, n, p, seed, offset, device);
}
void sgd_step(const SgdParam<float>* params, size_t count, int device) {
  sgd_step_impl(params, count, device);
}
void sgd_step(const SgdParam<double>* params, size_t count, int device) {
  sgd_step_impl(params, count, device);
}
void adam_step(const AdamParam<float>* params, size_t count, int device) {
  adam_step_impl(params, count, device);
}
void adam_step(const AdamParam<double>* params, size_t count, int device) {
  adam_step_impl(params, count, device);
}

}  // namespace ember::cuda
