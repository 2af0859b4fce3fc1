// Complex tensor ops, FFTs (fft/rfft/2-D/N-D) and spectral layers (SpectralConv, FNO, KNO).
// Includes <ember/ember.hpp> too.
#pragma once

#include <ember/ember.hpp>

#include <ember/nn/spectral.hpp>
#include <ember/ops/complex.hpp>
#include <ember/ops/fft.hpp>

#ifdef EMBER_EXTERN_TEMPLATES  // the precompiled instances of ember_instances
#define EMBER_INSTANCE_LIST <ember/detail/instances/spectral.inc>
#include <ember/detail/instances/declare.inc>
#endif
