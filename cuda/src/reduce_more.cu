// The reduction family's launchers and the fused cross entropy's, with their float and double
// instances, come with ember/cuda/reduce_more.cuh and ember/cuda/cross_entropy.cuh.
#include <algorithm>
#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/cross_entropy.cuh>
#include <ember/cuda/reduce_more.cuh>
#include <ember/cuda/runtime.cuh>
