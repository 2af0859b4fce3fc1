// The umbrella header: tensors, autograd, the elementwise / reduction / linear-algebra /
// indexing / sorting ops, categorical sampling, nn basics (Module, Linear, activations, dropout, init, losses), optim,
// checkpoints and data loading. Each op family has its own umbrella, so a program pays the
// compile time only for what it uses (a user file including this one compiles in about 5 s):
//   <ember/vision.hpp>       convolutions, pooling, upsampling, batch/group/instance norm
//   <ember/transformer.hpp>  attention, multi-head attention, transformer layers, embeddings
//   <ember/graph.hpp>        CSR sparse matrices, SpMM/SDDMM, scatter ops, GNN layers
//   <ember/spectral.hpp>     complex ops, FFTs, spectral layers (FNO, KNO)
//   <ember/all.hpp>          everything above
// Image IO (<ember/data/image.hpp>, stb) and the models (<ember/nn/models/*.hpp>) are separate
// includes too.
#pragma once

#include <ember/core/tensor.hpp>

#include <ember/ops/activation.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/dropout.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/sampling.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/softmax.hpp>
#include <ember/ops/sort.hpp>
#include <ember/ops/unary.hpp>

#include <ember/nn/activation.hpp>
#include <ember/nn/dropout.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/sequential.hpp>

#include <ember/optim/adam.hpp>
#include <ember/optim/clip.hpp>
#include <ember/optim/scheduler.hpp>
#include <ember/optim/sgd.hpp>

#include <ember/io/checkpoint.hpp>
#include <ember/io/safetensors.hpp>

#include <ember/data/dataloader.hpp>
#include <ember/data/dataset.hpp>

// Users of the CMake target ember::ember get EMBER_EXTERN_TEMPLATES: the common op templates
// (float, double, complex: the lists in detail/instances/) are then declared extern here and come
// precompiled from the library ember_instances instead of being compiled in every file.
// Without the macro (just -I include) ember stays a plain header-only library.
#ifdef EMBER_EXTERN_TEMPLATES  // the precompiled instances of ember_instances
#define EMBER_INSTANCE_LIST <ember/detail/instances/ember.inc>
#include <ember/detail/instances/declare.inc>
#endif
