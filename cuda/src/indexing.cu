// Launchers for the indexing and scatter families (their kernels and launchers are in
// ember/cuda/indexing.cuh and ember/cuda/scatter.cuh, included here), the row sorts of the sort
// family (ember/cuda/sort.cuh), the Philox dropout mask (ember/cuda/dropout.cuh) and
// multinomial sampling (ember/cuda/sampling.cuh), and the fused optimizer steps
// (ember/cuda/optim.cuh), each with its launchers and their float / double instances.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/dropout.cuh>
#include <ember/cuda/indexing.cuh>
#include <ember/cuda/optim.cuh>
#include <ember/cuda/sampling.cuh>
#include <ember/cuda/scatter.cuh>
#include <ember/cuda/sort.cuh>
#include <ember/cuda/runtime.cuh>
#include <type_traits>


