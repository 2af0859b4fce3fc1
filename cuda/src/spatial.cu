// The spatial ops' translation unit: the kernels, launchers and float / double instances of
// convolutions and unfold / fold (ember/cuda/conv.cuh), pooling (pool.cuh), padding and
// interpolation (upsample.cuh); the batch norm launchers and their instances come with
// ember/cuda/batch_norm.cuh.
#include <ember/cuda/batch_norm.cuh>
#include <ember/cuda/conv.cuh>
#include <ember/cuda/pool.cuh>
#include <ember/cuda/upsample.cuh>
