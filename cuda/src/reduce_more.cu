// Launchers for the predicate, where, reduction and pick / place kernels
// (ember/cuda/reduce_more.cuh) and the fused cross entropy (ember/cuda/cross_entropy.cuh).
#include <algorithm>
#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/cross_entropy.cuh>
#include <ember/cuda/reduce_more.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda {

namespace {

constexpr int kThreads = 256;

template <class T, PredicateOp Op>
void launch_predicate(bool* out, const T* a, const T* b, T s, const StridedLayout& l, int device) {
  kernels::predicate_kernel<T, Op>
      <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          out, a, b, s, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void predicate_impl(PredicateOp op, bool* out, const T* a, const T* b, double scalar,
                    const StridedLayout& l, int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  const T s = T(scalar);
  switch (op) {
#define EMBER_PREDICATE_CASE(name) \
  case PredicateOp::name:          \
    return launch_predicate<T, PredicateOp::name>(out, a, b, s, l, device);
    EMBER_PREDICATE_CASE(Eq)
    EMBER_PREDICATE_CASE(Ne)
    EMBER_PREDICATE_CASE(Lt)
    EMBER_PREDICATE_CASE(Le)
    EMBER_PREDICATE_CASE(Gt)
    EMBER_PREDICATE_CASE(Ge)
    EMBER_PREDICATE_CASE(And)
    EMBER_PREDICATE_CASE(Or)
    EMBER_PREDICATE_CASE(Not)
    EMBER_PREDICATE_CASE(IsNan)
    EMBER_PREDICATE_CASE(IsInf)
    EMBER_PREDICATE_CASE(IsFinite)
#undef EMBER_PREDICATE_CASE
  }
  fail("cuda::predicate: unknown op ", int(op));
}

template <class T>
void where_impl(T* out, const bool* cond, const T* a, const T* b, const StridedLayout& l,
                const StridedLayout& lc, int device) {
  if (l.numel == 0) return;
  EMBER_CHECK(l.numel == lc.numel, "cuda::where: layouts of ", l.numel, " and ", lc.numel,
              " elements");
  detail::use_device(device);
  kernels::where_kernel<T>
      <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          out, cond, a, b, l, lc);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T, class R>
void launch_reduce(const R& r, T* values, int64_t* indices, const T* x, int64_t outer, int64_t n,
                   int64_t inner, int device) {
  cudaStream_t st = detail::stream(device);
  if (inner == 1) {
    const unsigned blocks =
        unsigned(std::min<int64_t>(outer, int64_t(detail::sm_count(device)) * 32));
    kernels::reduce_rows_kernel<T, R>
        <<<std::max(1u, blocks), kernels::kReduceThreads, 0, st>>>(r, values, indices, x, outer, n);
  } else {
    kernels::reduce_columns_kernel<T, R>
        <<<detail::grid_for(outer * inner, kThreads, device), kThreads, 0, st>>>(
            r, values, indices, x, outer, n, inner);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void reduce_impl(ReduceOp op, T* values, int64_t* indices, const T* x, int64_t outer, int64_t n,
                 int64_t inner, int64_t correction, int device) {
  if (outer * inner == 0) return;
  EMBER_CHECK(n > 0, "cuda::reduce_dim: cannot reduce over 0 elements");
  detail::use_device(device);
  switch (op) {
    case ReduceOp::Max:
      return launch_reduce(kernels::ExtremeR<T, true>{}, values, indices, x, outer, n, inner,
                           device);
    case ReduceOp::Min:
      return launch_reduce(kernels::ExtremeR<T, false>{}, values, indices, x, outer, n, inner,
                           device);
    case ReduceOp::ArgMax:
      return launch_reduce(kernels::ArgR<T, true>{}, values, indices, x, outer, n, inner, device);
    case ReduceOp::ArgMin:
      return launch_reduce(kernels::ArgR<T, false>{}, values, indices, x, outer, n, inner, device);
    case ReduceOp::LogSumExp:
      return launch_reduce(kernels::LseR<T>{}, values, indices, x, outer, n, inner, device);
    case ReduceOp::Var:
      return launch_reduce(kernels::VarR<T>{correction, false}, values, indices, x, outer, n, inner,
                           device);
    case ReduceOp::Std:
      return launch_reduce(kernels::VarR<T>{correction, true}, values, indices, x, outer, n, inner,
                           device);
  }
  fail("cuda::reduce_dim: unknown op ", int(op));
}

template <class T>
void pick_impl(T* out, const T* src, const int64_t* idx, int64_t outer, int64_t n, int64_t inner,
               int device) {
  if (outer * inner == 0) return;
  detail::use_device(device);
  kernels::pick_kernel<T>
      <<<detail::grid_for(outer * inner, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          out, src, idx, outer, n, inner);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void place_impl(T* out, const T* src, const int64_t* idx, int64_t outer, int64_t n, int64_t inner,
                int device) {
  if (outer * n * inner == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  EMBER_CUDA_CHECK(cudaMemsetAsync(out, 0, size_t(outer * n * inner) * sizeof(T), st));
  kernels::place_kernel<T><<<detail::grid_for(outer * inner, kThreads, device), kThreads, 0, st>>>(
      out, src, idx, outer, n, inner);
  EMBER_CUDA_CHECK_LAUNCH();
}

// Blocks for one-block-per-row kernels: every row, up to a few waves (rows loop inside).
unsigned row_blocks(int64_t rows, int device) {
  return unsigned(
      std::max<int64_t>(1, std::min<int64_t>(rows, int64_t(detail::sm_count(device)) * 32)));
}

template <class T>
void cross_entropy_forward_impl(T* loss, T* lse, const T* x, const int64_t* target, const T* w,
                                int64_t rows, int64_t n, int device) {
  if (rows == 0) return;
  EMBER_CHECK(n > 0, "cross_entropy: 0 classes");
  detail::use_device(device);
  kernels::cross_entropy_forward<T>
      <<<row_blocks(rows, device), kThreads, 0, detail::stream(device)>>>(loss, lse, x, target, w,
                                                                          rows, n);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void cross_entropy_backward_impl(T* gx, const T* g, const T* lse, const T* x, const int64_t* target,
                                 const T* w, int64_t rows, int64_t n, int device) {
  if (rows * n == 0) return;
  detail::use_device(device);
  kernels::cross_entropy_backward<T>
      <<<row_blocks(rows, device), kThreads, 0, detail::stream(device)>>>(gx, g, lse, x, target, w,
                                                                          rows, n);
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace

void cross_entropy_forward(float* loss, float* lse, const float* x, const int64_t* target,
                           const float* weight, int64_t rows, int64_t n, int device) {
  cross_entropy_forward_impl(loss, lse, x, target, weight, rows, n, device);
}
void cross_entropy_forward(double* loss, double* lse, const double* x, const int64_t* target,
                           const double* weight, int64_t rows, int64_t n, int device) {
  cross_entropy_forward_impl(loss, lse, x, target, weight, rows, n, device);
}
void cross_entropy_backward(float* gx, const float* g, const float* lse, const float* x,
                            const int64_t* target, const float* weight, int64_t rows, int64_t n,
                            int device) {
  cross_entropy_backward_impl(gx, g, lse, x, target, weight, rows, n, device);
}
void cross_entropy_backward(double* gx, const double* g, const double* lse, const double* x,
                            const int64_t* target, const double* weight, int64_t rows, int64_t n,
                            int device) {
  cross_entropy_backward_impl(gx, g, lse, x, target, weight, rows, n, device);
}

void predicate(PredicateOp op, bool* out, const float* a, const float* b, double scalar,
               const StridedLayout& l, int device) {
  predicate_impl(op, out, a, b, scalar, l, device);
}
void predicate(PredicateOp op, bool* out, const double* a, const double* b, double scalar,
               const StridedLayout& l, int device) {
  predicate_impl(op, out, a, b, scalar, l, device);
}
void predicate(PredicateOp op, bool* out, const bool* a, const bool* b, double scalar,
               const StridedLayout& l, int device) {
  predicate_impl(op, out, a, b, scalar, l, device);
}

void where(float* out, const bool* cond, const float* a, const float* b, const StridedLayout& l,
           const StridedLayout& lc, int device) {
  where_impl(out, cond, a, b, l, lc, device);
}
void where(double* out, const bool* cond, const double* a, const double* b, const StridedLayout& l,
           const StridedLayout& lc, int device) {
  where_impl(out, cond, a, b, l, lc, device);
}

void reduce_dim(ReduceOp op, float* values, int64_t* indices, const float* x, int64_t outer,
                int64_t n, int64_t inner, int64_t correction, int device) {
  reduce_impl(op, values, indices, x, outer, n, inner, correction, device);
}
void reduce_dim(ReduceOp op, double* values, int64_t* indices, const double* x, int64_t outer,
                int64_t n, int64_t inner, int64_t correction, int device) {
  reduce_impl(op, values, indices, x, outer, n, inner, correction, device);
}

void pick_dim(float* out, const float* src, const int64_t* idx, int64_t outer, int64_t n,
              int64_t inner, int device) {
  pick_impl(out, src, idx, outer, n, inner, device);
}
void pick_dim(double* out, const double* src, const int64_t* idx, int64_t outer, int64_t n,
              int64_t inner, int device) {
  pick_impl(out, src, idx, outer, n, inner, device);
}
void place_dim(float* out, const float* src, const int64_t* idx, int64_t outer, int64_t n,
               int64_t inner, int device) {
  place_impl(out, src, idx, outer, n, inner, device);
}
void place_dim(double* out, const double* src, const int64_t* idx, int64_t outer, int64_t n,
               int64_t inner, int device) {
  place_impl(out, src, idx, outer, n, inner, device);
}

}  // namespace ember::cuda
