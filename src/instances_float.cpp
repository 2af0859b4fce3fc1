// Part of ember_instances, the precompiled op templates: the families of <ember/ember.hpp>
// for float, uint8_t and bool.
// Every list is declared extern first (EMBER_EXTERN_TEMPLATES, see
// include/ember/detail/instances/declare.inc), so this file compiles only its own part and
// the files of the library build in parallel.
#ifndef EMBER_EXTERN_TEMPLATES
#define EMBER_EXTERN_TEMPLATES
#endif
#include <ember/all.hpp>

#define EMBER_INSTANCE(...) template __VA_ARGS__
namespace ember {
#define Real float
#define EMBER_INSTANCE_LIST <ember/detail/instances/ember.inc>
#include EMBER_INSTANCE_LIST
#undef Real
#define Index uint8_t
#include EMBER_INSTANCE_LIST
#undef Index
#define Index bool
#include EMBER_INSTANCE_LIST
}  // namespace ember
