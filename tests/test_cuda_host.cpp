// The host-side logic of the CUDA backend, tested on every build (no GPU needed): how cuBLAS
// reads an operand (backend/linalg.hpp's gemm_operand), how the device probe classifies a
// CUDA error (backend/cuda/api.hpp). The CUDA kernels themselves are tested against the CPU by
// tests/cuda/ (the agreement suite), where a GPU is present.
#include <doctest/doctest.h>

#include <cstdint>

#include <ember/backend/cuda/api.hpp>
#include <ember/backend/linalg.hpp>
#include <ember/core/tensor.hpp>

using namespace ember;

TEST_CASE("cuda host: cuBLAS operand layouts, size-1 dims with any stride") {
  // gemm_operand decides how cuBLAS reads a stack of matrices (host logic, tested on CPU
  // tensors). A size-1 dim's stride is never used: a 0-d tensor broadcast to [B, 1, 1] has
  // strides 0 everywhere and is still a valid operand, with the smallest leading dim (1).
  using backend::detail::gemm_operand;
  bool trans = true;
  int64_t ld = -1, batch_stride = -1;
  const auto scalar = Tensor<float>::scalar(2.0f);
  CHECK(gemm_operand(scalar.expand({5, 1, 1}), 1, 1, trans, ld, batch_stride));
  CHECK(ld == 1);
  CHECK(batch_stride == 0);
  CHECK(gemm_operand(scalar.expand({1, 1}), 1, 1, trans, ld, batch_stride));
  CHECK(ld == 1);
  // A row vector [1, 7] whose row stride is 0, and a column [7, 1] whose column stride is 0.
  CHECK(gemm_operand(Tensor<float>::zeros({7}).unsqueeze(0).expand({1, 7}), 1, 7, trans, ld,
                     batch_stride));
  CHECK((!trans && ld == 7));
  CHECK(gemm_operand(Tensor<float>::zeros({7}).unsqueeze(1), 7, 1, trans, ld, batch_stride));
  CHECK(ld >= 1);
  // The ordinary cases: row-major, transposed, and one that needs a copy.
  const auto m = Tensor<float>::zeros({3, 4});
  CHECK(gemm_operand(m, 3, 4, trans, ld, batch_stride));
  CHECK((!trans && ld == 4));
  CHECK(gemm_operand(m.t(), 4, 3, trans, ld, batch_stride));
  CHECK((trans && ld == 4));
  CHECK(!gemm_operand(Tensor<float>::zeros({3, 8}).slice(1, 0, 8, 2), 3, 4, trans, ld,
                      batch_stride));  // stride 2 along the row: cuBLAS cannot read it
}

TEST_CASE("cuda host: the device probe: 'no device' or no driver means a machine without a GPU") {
  using cuda::DeviceProbe;
  using cuda::classify_device_probe;
  CHECK(classify_device_probe(0, 12080) == DeviceProbe::devices);
  CHECK(classify_device_probe(100, 12080) == DeviceProbe::no_gpu);  // cudaErrorNoDevice
  CHECK(classify_device_probe(35, 0) == DeviceProbe::no_gpu);       // no driver installed
  CHECK(classify_device_probe(35, 11040) == DeviceProbe::error);    // a driver too old
  CHECK(classify_device_probe(999, 12080) == DeviceProbe::error);   // cudaErrorUnknown
}
