// The layer_norm launchers and their instances come with ember/cuda/layer_norm.cuh, the
// cuBLAS GEMM behind matmul / bmm / linear with ember/cuda/linalg.cuh.
#include <climits>
#include <cstdint>

#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/layer_norm.cuh>
#include <ember/cuda/linalg.cuh>
#include <ember/cuda/runtime.cuh>
#include <ember/cuda/softmax.cuh>


