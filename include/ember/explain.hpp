// Saliency explainers for any model given as forward (and, for Grad-CAM / CAM, as a
// features / head split): vanilla gradient, CAM, Grad-CAM, RISE, MDM, and the deletion /
// insertion curves that score them (with ember/metrics/attribution.hpp).
#pragma once

#include <ember/explain/cam.hpp>
#include <ember/explain/common.hpp>
#include <ember/explain/gradient.hpp>
#include <ember/explain/mdm.hpp>
#include <ember/explain/perturbation.hpp>
#include <ember/explain/rise.hpp>
