// Scaled-dot-product and multi-head attention, transformer encoder/decoder layers,
// embeddings and positional encodings, key/value-cached decoding steps, and greedy / sampled /
// beam-search decoding.
// Includes <ember/ember.hpp> too.
#pragma once

#include <ember/ember.hpp>

#include <ember/nn/attention.hpp>
#include <ember/nn/decoding.hpp>
#include <ember/nn/embedding.hpp>
#include <ember/nn/kv_cache.hpp>
#include <ember/nn/positional.hpp>
#include <ember/nn/transformer.hpp>
#include <ember/ops/attention.hpp>

#ifdef EMBER_EXTERN_TEMPLATES  // the precompiled instances of ember_instances
#define EMBER_INSTANCE_LIST <ember/detail/instances/transformer.inc>
#include <ember/detail/instances/declare.inc>
#endif
