// What to include to use tensors: the class (core/tensor_class.hpp, read that one to learn
// Tensor<T>) and what its methods call: arithmetic, sums (for broadcasting gradients) and the
// autograd engine (Tensor::backward, grad). The class alone does not compile its methods'
// bodies without these.
#pragma once

#include <ember/core/tensor_class.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>  // log, used by the gradient of pow
#include <ember/autograd/engine.hpp>
