// Image processing on tensors (namespace ember::image): planes are the last two dims
// [..., H, W], colour images [..., 3, H, W] with values in [0, 1]. Built from ember ops, so
// everything runs on CPU and CUDA tensors and is differentiable where the maths is (not
// through rounding). Each group is includable on its own:
//   image/filter.hpp        separable filtering with reflect / replicate / zero borders
//   image/gaussian.hpp      Gaussian kernels and blur
//   image/box.hpp           box (mean) filter
//   image/sobel.hpp         Sobel gradients and magnitude
//   image/color.hpp         RGB <-> Y'CbCr (BT.601 full range, JPEG), YUV, TV range
//   image/chroma.hpp        chroma subsampling / upsampling, 4:2:0 planes
//   image/dct.hpp           orthonormal block DCT / IDCT, block layout, zig-zag scan
//   image/quant_tables.hpp  JPEG tables (T.81 Annex K, IJG quality), H.264 QP steps
//   image/quantize.hpp      quantise / dequantise, the block codec round trip
//   image/degrade.hpp       contrast change, Gaussian noise
#pragma once

#include <ember/image/box.hpp>
#include <ember/image/chroma.hpp>
#include <ember/image/color.hpp>
#include <ember/image/dct.hpp>
#include <ember/image/degrade.hpp>
#include <ember/image/filter.hpp>
#include <ember/image/gaussian.hpp>
#include <ember/image/quant_tables.hpp>
#include <ember/image/quantize.hpp>
#include <ember/image/sobel.hpp>
