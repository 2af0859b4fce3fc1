// Explicit instantiation definitions of shard 0 of include/ember/detail/instances.inc (see
// tools/gen_instances.py): part of the static library ember_instances that user code links
// through ember::ember. The extern declarations of every shard come first (from ember.hpp),
// so this file compiles only its own shard and the shards build in parallel.
#ifndef EMBER_EXTERN_TEMPLATES
#define EMBER_EXTERN_TEMPLATES
#endif
#include <ember/ember.hpp>

#define EMBER_INSTANCE(...) template __VA_ARGS__
#define EMBER_INSTANCE_SHARD(n) ((n) == 0)
#include <ember/detail/instances.inc>
