// Part of ember_instances, the precompiled op templates: every family for
// std::complex<float> and std::complex<double>, and the instances with no element type.
// Every list is declared extern first (EMBER_EXTERN_TEMPLATES, see
// include/ember/detail/instances/declare.inc), so this file compiles only its own part and
// the files of the library build in parallel.
#ifndef EMBER_EXTERN_TEMPLATES
#define EMBER_EXTERN_TEMPLATES
#endif
#include <ember/all.hpp>

#define EMBER_INSTANCE(...) template __VA_ARGS__
namespace ember {
#define Complex std::complex<float>
#include <ember/detail/instances/ember.inc>
#include <ember/detail/instances/families.inc>
#undef Complex
#define Complex std::complex<double>
#include <ember/detail/instances/ember.inc>
#include <ember/detail/instances/families.inc>
#undef Complex
#define EMBER_INSTANCES_UNTYPED
#include <ember/detail/instances/ember.inc>
}  // namespace ember
