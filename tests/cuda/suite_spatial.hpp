// Agreement suites of the spatial ops (cuda/src/spatial.cu): convolutions, unfold / fold,
// pooling, pad, interpolate, batch_norm and the norms built on layer_norm. Included by
// test_cuda_agreement.cpp after its helpers (check_agreement, randn, rel_error, tolerance, kGpu).
//
// Tolerances: the common 1e-5 (float) / 1e-10 (double) relative error. The GEMMs are cuBLAS in
// strict fp32; the adjoints of pooling, pad and interpolate add with atomics, whose order
// changes only the last bits of sums of a few terms. Indices compare exactly.
#pragma once

#include <ember/ops/batch_norm.hpp>
#include <ember/ops/conv.hpp>
#include <ember/ops/norm_more.hpp>
#include <ember/ops/pool.hpp>
#include <ember/ops/upsample.hpp>

namespace {

template <class T>
void conv_suite() {
  using V = std::vector<Tensor<T>>;
  const auto x = randn<T>({2, 4, 9, 8}, 101), w = randn<T>({6, 2, 3, 3}, 102);
  const auto b = randn<T>({6}, 103);
  check_agreement<T>("conv2d stride 2, padding, dilation 2, groups 2, bias",
                     [](const V& v) {
                       return conv2d(v[0], v[1], v[2],
                                     {.stride = 2, .padding = 1, .dilation = 2, .groups = 2});
                     },
                     {x, w, b});
  check_agreement<T>(
      "conv2d one sample, asymmetric stride / padding",
      [](const V& v) {
        return conv2d(v[0], v[1], v[2], {.stride = {2, 1}, .padding = {0, 2}});
      },
      {randn<T>({1, 3, 7, 6}, 104), randn<T>({5, 3, 2, 3}, 105), randn<T>({5}, 106)});
  check_agreement<T>(
      "conv2d depthwise",
      [](const V& v) { return conv2d(v[0], v[1], Tensor<T>(), {.padding = 1, .groups = 4}); },
      {randn<T>({3, 4, 7, 7}, 107), randn<T>({4, 1, 3, 3}, 108)});
  check_agreement<T>("conv2d of a transposed input, padding 'same' (even kernel: pad)",
                     [](const V& v) {
                       return conv2d(v[0].transpose(2, 3), v[1], Tensor<T>(),
                                     {.same_padding = true});
                     },
                     {randn<T>({2, 3, 6, 5}, 109), randn<T>({4, 3, 4, 2}, 110)});
  check_agreement<T>(
      "conv2d of a channel slice, 1x1 kernel",
      [](const V& v) { return conv2d(v[0].slice(1, 1, 4), v[1], v[2]); },
      {randn<T>({2, 5, 4, 6}, 111), randn<T>({7, 3, 1, 1}, 112), randn<T>({7}, 113)});
  check_agreement<T>(
      "conv2d stride 3 > kernel 2 (some inputs in no window)",
      [](const V& v) { return conv2d(v[0], v[1], v[2], {.stride = 3}); },
      {randn<T>({2, 3, 8, 7}, 141), randn<T>({4, 3, 2, 2}, 142), randn<T>({4}, 143)});
  check_agreement<T>("conv2d unbatched",
                     [](const V& v) { return conv2d(v[0], v[1], Tensor<T>(), {.stride = 2}); },
                     {randn<T>({3, 8, 7}, 114), randn<T>({2, 3, 3, 3}, 115)});
  check_agreement<T>(
      "conv1d stride 2, padding 2, groups 2, bias",
      [](const V& v) { return conv1d(v[0], v[1], v[2], {.stride = 2, .padding = 2, .groups = 2}); },
      {randn<T>({3, 4, 10}, 116), randn<T>({6, 2, 3}, 117), randn<T>({6}, 118)});
  check_agreement<T>(
      "conv3d stride (1, 2, 1), padding 1, bias",
      [](const V& v) {
        return conv3d(v[0], v[1], v[2], {.stride = {1, 2, 1}, .padding = 1});
      },
      {randn<T>({2, 2, 4, 5, 3}, 119), randn<T>({3, 2, 2, 3, 2}, 120), randn<T>({3}, 121)});
  check_agreement<T>(
      "conv_transpose2d stride 2, padding 1, output_padding 1, bias",
      [](const V& v) {
        return conv_transpose2d(v[0], v[1], v[2], {.stride = 2, .padding = 1, .output_padding = 1});
      },
      {randn<T>({2, 4, 4, 5}, 122), randn<T>({4, 3, 3, 3}, 123), randn<T>({3}, 124)});
  check_agreement<T>("conv_transpose2d groups 2, dilation 2",
                     [](const V& v) {
                       return conv_transpose2d(v[0], v[1], Tensor<T>(),
                                               {.stride = {1, 2}, .groups = 2, .dilation = 2});
                     },
                     {randn<T>({2, 4, 3, 4}, 125), randn<T>({4, 2, 2, 3}, 126)});
  check_agreement<T>(
      "conv_transpose1d stride 3",
      [](const V& v) { return conv_transpose1d(v[0], v[1], v[2], {.stride = 3, .padding = 1}); },
      {randn<T>({2, 3, 5}, 127), randn<T>({3, 2, 4}, 128), randn<T>({2}, 129)});
  check_agreement<T>(
      "conv_transpose3d",
      [](const V& v) { return conv_transpose3d(v[0], v[1], Tensor<T>(), {.stride = 2}); },
      {randn<T>({1, 2, 2, 3, 2}, 130), randn<T>({2, 2, 2, 2, 2}, 131)});
  check_agreement<T>("unfold kernel (2, 3), padding 1, stride 2",
                     [](const V& v) {
                       return unfold(v[0], {2, 3}, {.padding = 1, .stride = 2});
                     },
                     {randn<T>({2, 3, 6, 7}, 132)});
  check_agreement<T>("fold (overlapping blocks) of a transpose",
                     [](const V& v) {
                       return fold(v[0].transpose(1, 2), {5, 7}, 2, {.dilation = {1, 2}});
                     },
                     {randn<T>({2, 20, 12}, 133)});
}

// Second derivatives: the three conv ops are each other's gradients on the GPU as well.
template <class T>
void conv_double_backward() {
  const auto x0 = randn<T>({2, 4, 6, 5}, 140), w0 = randn<T>({4, 2, 3, 3}, 141);
  std::vector<Tensor<T>> results;
  for (const Device dev : {Device::cpu(), kGpu}) {
    auto x = x0.detach().clone().to(dev).requires_grad_();
    auto w = w0.detach().clone().to(dev).requires_grad_();
    const auto y = conv2d(x, w, Tensor<T>(), {.stride = 2, .padding = 1, .groups = 2});
    const auto gx = grad<T>({sum(mul(y, y))}, {x}, {}, {.create_graph = true})[0];
    const auto gw = grad<T>({sum(mul(gx, gx))}, {w})[0];
    results.push_back(gw);
  }
  CHECK(results[1].device() == kGpu);
  CHECK(rel_error(results[1], results[0]) <= tolerance<T>());
}

template <class T>
void pool_suite() {
  using V = std::vector<Tensor<T>>;
  const auto x = randn<T>({2, 3, 9, 8}, 201);
  check_agreement<T>("max_pool2d 3, stride 2, padding 1, ceil_mode",
                     [](const V& v) {
                       return max_pool2d(v[0], 3, {.stride = 2, .padding = 1, .ceil_mode = true});
                     },
                     {x});
  check_agreement<T>(
      "max_pool2d dilation 2 of a transpose (overlapping windows)",
      [](const V& v) { return max_pool2d(v[0].transpose(2, 3), 2, {.stride = 1, .dilation = 2}); },
      {x});
  check_agreement<T>("max_pool2d unbatched",
                     [](const V& v) {
                       return max_pool2d(v[0], {2, 3});
                     },
                     {randn<T>({3, 6, 7}, 202)});
  check_agreement<T>(
      "avg_pool2d 3, stride 2, padding 1, ceil_mode, count_include_pad false",
      [](const V& v) {
        return avg_pool2d(
            v[0], 3, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false});
      },
      {x});
  check_agreement<T>("avg_pool2d 2 (count_include_pad)",
                     [](const V& v) { return avg_pool2d(v[0], 2, {.padding = 1}); }, {x});
  check_agreement<T>("avg_pool2d divisor_override",
                     [](const V& v) {
                       return avg_pool2d(v[0], {3, 2}, {.divisor_override = 5});
                     },
                     {x});
  check_agreement<T>("adaptive_avg_pool2d (4, 3) from 9x8",
                     [](const V& v) {
                       return adaptive_avg_pool2d(v[0], {4, 3});
                     },
                     {x});
  check_agreement<T>("adaptive_max_pool2d (5, 3) from 9x8",
                     [](const V& v) {
                       return adaptive_max_pool2d(v[0], {5, 3});
                     },
                     {x});
  check_agreement<T>("adaptive_avg_pool2d upsampling (11, 10)",
                     [](const V& v) {
                       return adaptive_avg_pool2d(v[0], {11, 10});
                     },
                     {x});

  // Indices are exact.
  const auto [vc, ic] =
      max_pool2d_with_indices(x, 3, {.stride = 2, .padding = 1, .ceil_mode = true});
  const auto [vg, ig] =
      max_pool2d_with_indices(x.to(kGpu), 3, {.stride = 2, .padding = 1, .ceil_mode = true});
  CHECK(ig.device() == kGpu);
  CHECK(ig.to(Device::cpu()).to_vector() == ic.to_vector());
  CHECK(vg.to(Device::cpu()).to_vector() == vc.to_vector());  // a max is exact
  const auto [ac, aic] = adaptive_max_pool2d_with_indices(x, {5, 3});
  const auto [ag, aig] = adaptive_max_pool2d_with_indices(x.to(kGpu), {5, 3});
  CHECK(aig.to(Device::cpu()).to_vector() == aic.to_vector());
}

template <class T>
void resize_suite() {
  using V = std::vector<Tensor<T>>;
  const auto x = randn<T>({2, 3, 5, 6}, 301);
  for (const bool align : {false, true})
    check_agreement<T>(
        align ? "bilinear size (9, 7), align_corners" : "bilinear size (9, 7)",
        [align](const V& v) {
          return interpolate(
              v[0], {.size = {9, 7}, .mode = InterpolateMode::Bilinear, .align_corners = align});
        },
        {x});
  check_agreement<T>("bilinear scale 1.7 of a transpose (downsampling dim too)",
                     [](const V& v) {
                       return interpolate(
                           v[0].transpose(2, 3),
                           {.scale_factor = {1.7, 0.6}, .mode = InterpolateMode::Bilinear});
                     },
                     {x});
  check_agreement<T>("nearest scale 2",
                     [](const V& v) { return interpolate(v[0], {.scale_factor = {2.0}}); }, {x});
  check_agreement<T>("nearest size (4, 11) (downsample and non-integer upsample)",
                     [](const V& v) {
                       return interpolate(v[0], {.size = {4, 11}});
                     },
                     {x});
  check_agreement<T>("pad reflect 2-D",
                     [](const V& v) {
                       return pad(v[0], {2, 1, 3, 4}, {.mode = PadMode::Reflect});
                     },
                     {x});
  check_agreement<T>("pad replicate 1-D of a transpose",
                     [](const V& v) {
                       return pad(v[0].transpose(1, 2), {3, 2}, {.mode = PadMode::Replicate});
                     },
                     {randn<T>({2, 4, 5}, 302)});
  check_agreement<T>("pad circular 3-D",
                     [](const V& v) {
                       return pad(v[0], {1, 2, 2, 0, 1, 1}, {.mode = PadMode::Circular});
                     },
                     {randn<T>({1, 2, 3, 4, 5}, 303)});
  check_agreement<T>("pad constant 1.5 with cropping",
                     [](const V& v) {
                       return pad(v[0], {2, -1, 0, 3}, {.mode = PadMode::Constant, .value = 1.5});
                     },
                     {x});
}

template <class T>
void batch_norm_suite() {
  using V = std::vector<Tensor<T>>;
  const auto x = randn<T>({4, 3, 5, 6}, 401), w = randn<T>({3}, 402), b = randn<T>({3}, 403);
  const auto mean0 = randn<T>({3}, 404), var0 = positive<T>({3}, 405);
  check_agreement<T>(
      "batch_norm train, affine",
      [](const V& v) { return batch_norm(v[0], Tensor<T>(), Tensor<T>(), v[1], v[2], true); },
      {x, w, b});
  check_agreement<T>(
      "batch_norm train [N, C] of a transpose, no affine",
      [](const V& v) { return batch_norm(v[0].t(), Tensor<T>(), Tensor<T>(), {}, {}, true); },
      {randn<T>({5, 7}, 406)});
  check_agreement<T>("batch_norm eval",
                     [mean0, var0](const V& v) {
                       const Device d = v[0].device();
                       return batch_norm(v[0], mean0.to(d), var0.to(d), v[1], v[2], false);
                     },
                     {x, w, b});

  // Running statistics updated in place, on the CPU and on the GPU.
  Tensor<T> rm_c = mean0.clone(), rv_c = var0.clone();
  Tensor<T> rm_g = mean0.to(kGpu), rv_g = var0.to(kGpu);
  const auto y_c = batch_norm(x, rm_c, rv_c, w, b, true, 0.3);
  const auto y_g = batch_norm(x.to(kGpu), rm_g, rv_g, w.to(kGpu), b.to(kGpu), true, 0.3);
  CHECK(rel_error(y_g, y_c) <= tolerance<T>());
  CHECK(rel_error(rm_g, rm_c) <= tolerance<T>());
  CHECK(rel_error(rv_g, rv_c) <= tolerance<T>());
  CHECK(rel_error(rm_c, mean0) > 1e-3);  // the stats did move

  // Norms composed of layer_norm, batch_norm and arithmetic.
  check_agreement<T>("group_norm 2 groups, affine",
                     [](const V& v) { return group_norm(v[0], 2, v[1], v[2]); },
                     {randn<T>({2, 4, 3, 5}, 407), randn<T>({4}, 408), randn<T>({4}, 409)});
  check_agreement<T>("instance_norm, affine",
                     [](const V& v) { return instance_norm(v[0], {}, {}, v[1], v[2]); }, {x, w, b});
  check_agreement<T>("instance_norm from running stats (batch_norm eval)",
                     [mean0, var0](const V& v) {
                       const Device d = v[0].device();
                       return instance_norm(v[0], mean0.to(d), var0.to(d), {}, {}, false);
                     },
                     {x});
  check_agreement<T>("normalize p=2 dim 1", [](const V& v) { return normalize(v[0]); }, {x});
}

}  // namespace

TEST_CASE("cuda: convolutions (im2col + cuBLAS) agree with the CPU") {
  REQUIRE_FALSE(cuda::tf32_allowed());
  conv_suite<float>();
  conv_suite<double>();
  conv_double_backward<double>();
}

TEST_CASE("cuda: pooling agrees with the CPU") {
  pool_suite<float>();
  pool_suite<double>();
}

TEST_CASE("cuda: pad and interpolate agree with the CPU") {
  resize_suite<float>();
  resize_suite<double>();
}

TEST_CASE("cuda: batch_norm and the norms agree with the CPU") {
  batch_norm_suite<float>();
  batch_norm_suite<double>();
}
