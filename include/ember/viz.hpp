// Figures as pixels, with no dependency beyond stb_image_write: colormaps, heat maps and
// overlays, segmentation masks, boxes and frames, resizing, tensors as images. Write the
// result with ember::data::write_png. Charts and labelled grids are in <ember/plot.hpp>.
#pragma once

#include <ember/viz/canvas.hpp>
#include <ember/viz/color.hpp>
#include <ember/viz/colormap.hpp>
#include <ember/viz/draw.hpp>
#include <ember/viz/heatmap.hpp>
#include <ember/viz/mask.hpp>
#include <ember/viz/resize.hpp>
#include <ember/viz/tensor_image.hpp>
