// Convolutions, pooling, upsampling and padding, batch / group / instance norm, and their modules.
// Includes <ember/ember.hpp> too.
#pragma once

#include <ember/ember.hpp>

#include <ember/nn/conv.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/pool.hpp>
#include <ember/ops/batch_norm.hpp>
#include <ember/ops/conv.hpp>
#include <ember/ops/norm_more.hpp>
#include <ember/ops/pool.hpp>
#include <ember/ops/upsample.hpp>

#ifdef EMBER_EXTERN_TEMPLATES  // the precompiled instances of ember_instances
#define EMBER_INSTANCE_LIST <ember/detail/instances/vision.inc>
#include <ember/detail/instances/declare.inc>
#endif
