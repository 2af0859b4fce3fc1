// Charts and labelled image grids drawn with PLplot (cairo): line charts, scatter plots, bar
// charts, image grids. Needs the CMake target ember::plot (cmake/EmberPlot.cmake), which
// links PLplot; the core ember headers never include this. Pixel-only figures (heat maps,
// masks, boxes) are in <ember/viz.hpp>.
#pragma once

#include <ember/plot/bar_chart.hpp>
#include <ember/plot/figure.hpp>
#include <ember/plot/image_grid.hpp>
#include <ember/plot/line_chart.hpp>
#include <ember/plot/scatter.hpp>
