// Launchers for fill and strided copy (their kernels are in ember/cuda/elementwise.cuh). The
// launchers of the elementwise and pointwise families, with their float and double instances,
// come with ember/cuda/elementwise.cuh and ember/cuda/pointwise.cuh.
#include <cstdint>
#include <cstring>

#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/elementwise.cuh>
#include <ember/cuda/pointwise.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda {

namespace {

constexpr int kThreads = 256;

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

}  // namespace

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

}  // namespace ember::cuda
