// The umbrella header: tensors, autograd, every CPU op, nn, optim, checkpoints and data
// loading. Image IO (<ember/data/image.hpp>, stb) and the CUDA backend are separate includes
// because most programs do not need them.
#pragma once

#include <ember/core/tensor.hpp>

#include <ember/ops/activation.hpp>
#include <ember/ops/attention.hpp>
#include <ember/ops/batch_norm.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/complex.hpp>
#include <ember/ops/conv.hpp>
#include <ember/ops/dropout.hpp>
#include <ember/ops/fft.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/norm_more.hpp>
#include <ember/ops/pool.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/softmax.hpp>
#include <ember/ops/sparse.hpp>
#include <ember/ops/unary.hpp>
#include <ember/ops/upsample.hpp>
#include <ember/sparse/csr.hpp>

#include <ember/nn/activation.hpp>
#include <ember/nn/attention.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/dropout.hpp>
#include <ember/nn/embedding.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/gnn.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/pool.hpp>
#include <ember/nn/positional.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/nn/spectral.hpp>
#include <ember/nn/transformer.hpp>

#include <ember/optim/adam.hpp>
#include <ember/optim/clip.hpp>
#include <ember/optim/scheduler.hpp>
#include <ember/optim/sgd.hpp>

#include <ember/io/checkpoint.hpp>
#include <ember/io/safetensors.hpp>

#include <ember/data/dataloader.hpp>
#include <ember/data/dataset.hpp>

// Users of the CMake target ember::ember get EMBER_EXTERN_TEMPLATES: the common op templates
// (float, double, complex; see tools/gen_instances.py) are then declared extern here and come
// precompiled from the library ember_instances instead of being compiled in every file.
// Without the macro (just -I include) ember stays a plain header-only library.
#ifdef EMBER_EXTERN_TEMPLATES
#include <ember/detail/extern_instances.hpp>
#endif
