// Every part of ember that runs on the CPU: the umbrella and each op family's header.
#pragma once

#include <ember/ember.hpp>
#include <ember/graph.hpp>
#include <ember/spectral.hpp>
#include <ember/transformer.hpp>
#include <ember/vision.hpp>
