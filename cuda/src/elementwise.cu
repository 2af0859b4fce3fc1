// Launchers for the elementwise kernels (ember/cuda/elementwise.cuh), the pointwise family
// (ember/cuda/pointwise.cuh) and the sum reduction (ember/cuda/reduce.cuh).
#include <cstdint>
#include <cstring>

#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/elementwise.cuh>
#include <ember/cuda/pointwise.cuh>
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda {

namespace {

constexpr int kThreads = 256;

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <class T, BinaryOp Op>
void launch_binary(T* out, const T* a, const T* b, const StridedLayout& l, int device) {
  cudaStream_t st = detail::stream(device);
  if (l.contiguous) {
    const bool vec = aligned16(out) && aligned16(a) && aligned16(b);
    const int64_t work = vec ? (l.numel + 3) / 4 : l.numel;
    kernels::binary_contiguous<T, Op>
        <<<detail::grid_for(work, kThreads, device), kThreads, 0, st>>>(out, a, b, l.numel, vec);
  } else {
    kernels::binary_strided<T, Op>
        <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, st>>>(out, a, b, l);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void binary_impl(BinaryOp op, T* out, const T* a, const T* b, const StridedLayout& l, int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  switch (op) {
    case BinaryOp::Add:
      return launch_binary<T, BinaryOp::Add>(out, a, b, l, device);
    case BinaryOp::Sub:
      return launch_binary<T, BinaryOp::Sub>(out, a, b, l, device);
    case BinaryOp::Mul:
      return launch_binary<T, BinaryOp::Mul>(out, a, b, l, device);
    case BinaryOp::Div:
      return launch_binary<T, BinaryOp::Div>(out, a, b, l, device);
    case BinaryOp::Pow:
      return launch_binary<T, BinaryOp::Pow>(out, a, b, l, device);
    case BinaryOp::Maximum:
      return launch_binary<T, BinaryOp::Maximum>(out, a, b, l, device);
    case BinaryOp::Minimum:
      return launch_binary<T, BinaryOp::Minimum>(out, a, b, l, device);
    case BinaryOp::MaxWeight:
      return launch_binary<T, BinaryOp::MaxWeight>(out, a, b, l, device);
    case BinaryOp::MinWeight:
      return launch_binary<T, BinaryOp::MinWeight>(out, a, b, l, device);
    case BinaryOp::EqMask:
      return launch_binary<T, BinaryOp::EqMask>(out, a, b, l, device);
    case BinaryOp::DivOrZero:
      return launch_binary<T, BinaryOp::DivOrZero>(out, a, b, l, device);
  }
  fail("cuda::binary: unknown op ", int(op));
}

template <int E>
void fill_impl(void* dst, const void* host_value, int64_t n, int device) {
  using B = typename kernels::Bytes<E>::type;
  B v;
  std::memcpy(&v, host_value, E);
  kernels::fill_kernel<B>
      <<<detail::grid_for(n, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          static_cast<B*>(dst), v, n);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <int E>
void copy_impl(void* dst, const void* src, const StridedLayout& l, int device) {
  using B = typename kernels::Bytes<E>::type;
  kernels::copy_kernel<B>
      <<<detail::grid_for(l.numel, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          static_cast<B*>(dst), static_cast<const B*>(src), l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void sum_impl(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, int device) {
  if (outer * inner == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  if (inner == 1) {
    // Few long rows: split each row over several blocks so the whole GPU works on it.
    const int64_t want_blocks = int64_t(detail::sm_count(device)) * 4;
    int64_t parts = outer >= want_blocks ? 1 : (want_blocks + outer - 1) / outer;
    parts = std::max<int64_t>(1, std::min<int64_t>(parts, (n + 4095) / 4096));
    parts = std::min<int64_t>(parts, 65535);
    const int64_t chunk = (n + parts - 1) / parts;
    if (parts > 1) EMBER_CUDA_CHECK(cudaMemsetAsync(out, 0, size_t(outer) * sizeof(T), st));
    EMBER_CHECK(outer <= int64_t(INT32_MAX), "sum: ", outer,
                " rows is more than CUDA's grid allows");
    kernels::sum_rows<T>
        <<<dim3(unsigned(outer), unsigned(parts)), kThreads, 0, st>>>(out, x, n, chunk, parts > 1);
  } else {
    kernels::sum_columns<T><<<detail::grid_for(outer * inner, kThreads, device), kThreads, 0, st>>>(
        out, x, outer, n, inner);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace

void binary(BinaryOp op, float* out, const float* a, const float* b, const StridedLayout& l,
            int device) {
  binary_impl(op, out, a, b, l, device);
}
void binary(BinaryOp op, double* out, const double* a, const double* b, const StridedLayout& l,
            int device) {
  binary_impl(op, out, a, b, l, device);
}
void fill(void* dst, const void* host_value, size_t elem_size, int64_t n, int device) {
  if (n == 0) return;
  detail::use_device(device);
  switch (elem_size) {
    case 1:
      return fill_impl<1>(dst, host_value, n, device);
    case 2:
      return fill_impl<2>(dst, host_value, n, device);
    case 4:
      return fill_impl<4>(dst, host_value, n, device);
    case 8:
      return fill_impl<8>(dst, host_value, n, device);
    case 16:
      return fill_impl<16>(dst, host_value, n, device);
  }
  fail("cuda::fill: unsupported element size ", elem_size);
}

void strided_copy(void* dst, const void* src, size_t elem_size, const StridedLayout& l,
                  int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  if (l.contiguous) {  // one memcpy at copy bandwidth
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(l.numel) * elem_size,
                                     cudaMemcpyDeviceToDevice, detail::stream(device)));
    return;
  }
  switch (elem_size) {
    case 1:
      return copy_impl<1>(dst, src, l, device);
    case 2:
      return copy_impl<2>(dst, src, l, device);
    case 4:
      return copy_impl<4>(dst, src, l, device);
    case 8:
      return copy_impl<8>(dst, src, l, device);
    case 16:
      return copy_impl<16>(dst, src, l, device);
  }
  fail("cuda::strided_copy: unsupported element size ", elem_size);
}

void sum_dim(float* out, const float* x, int64_t outer, int64_t n, int64_t inner, int device) {
  sum_impl(out, x, outer, n, inner, device);
}
void sum_dim(double* out, const double* x, int64_t outer, int64_t n, int64_t inner, int device) {
  sum_impl(out, x, outer, n, inner, device);
}
}  // namespace ember::cuda
