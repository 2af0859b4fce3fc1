// Tensor<T> with everything its methods need: arithmetic, sums (for broadcasting gradients)
// and the autograd engine (Tensor::backward, grad). Include this, not tensor_def.hpp.
#pragma once

#include <ember/core/tensor_def.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>  // log, used by the gradient of pow
#include <ember/autograd/engine.hpp>
