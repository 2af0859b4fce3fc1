// Complex tensor ops, FFTs (fft/rfft/2-D/N-D) and spectral layers (SpectralConv, FNO, KNO).
// Includes <ember/ember.hpp> too.
#pragma once

#include <ember/ember.hpp>

#include <ember/nn/spectral.hpp>
#include <ember/ops/complex.hpp>
#include <ember/ops/fft.hpp>
