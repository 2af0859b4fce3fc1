// Agreement suites for the elementwise extras, comparisons, reductions, shape copies and losses
// on CUDA (issue 5). Included by test_cuda_agreement.cpp after its helpers (check_agreement,
// randn, positive, rel_error, tolerance, kGpu, Fn).
//
// Tolerances: the default (1e-5 float, 1e-10 double) everywhere, the fused cross entropy
// included (it accumulates in double for float, as softmax does). Bool and index outputs compare
// exactly. Float sums, logsumexp and var accumulate in double on both sides, so their order
// differences stay far below 1e-5.
#pragma once

#include <cmath>
#include <ember/nn/functional/loss.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/unary.hpp>
#include <string>
#include <vector>

namespace {

// Small integers in [-3, 3): inputs with many ties (max, amax, maximum, compare).
template <class T>
Tensor<T> ties(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  return Tensor<T>::randint(-3, 3, s, gen);
}

// Runs a function with a non-differentiable output (bool, int64) on CPU and CUDA inputs and
// compares exactly.
template <class T, class U>
void check_exact(const std::string& name,
                 const std::function<Tensor<U>(const std::vector<Tensor<T>>&)>& f,
                 const std::vector<Tensor<T>>& inputs) {
  CAPTURE(name);
  std::vector<Tensor<T>> cpu_in, gpu_in;
  for (const Tensor<T>& t : inputs) {
    cpu_in.push_back(t.detach().clone());
    gpu_in.push_back(t.detach().to(kGpu));
  }
  const Tensor<U> y_cpu = f(cpu_in), y_gpu = f(gpu_in);
  REQUIRE(y_gpu.device() == kGpu);
  CHECK(y_gpu.shape() == y_cpu.shape());
  CHECK(y_gpu.to_vector() == y_cpu.to_vector());
}

// Second derivatives: sum((d sum(f) / d x)^2) differentiated again (create_graph on both
// devices). Squared, not summed: for logsumexp, std and cross_entropy the plain sum of the
// gradient is constant in x, and comparing two round-off-sized second derivatives would fail.
template <class T>
void check_second_derivative(const std::string& name, const Fn<T>& f, const Tensor<T>& x0) {
  CAPTURE(name);
  auto run = [&](const Tensor<T>& x) {
    const Tensor<T> y = sum(f({x}));
    const Tensor<T> gx = grad<T>({y}, {x}, {}, {.create_graph = true})[0];
    return grad<T>({sum(mul(gx, gx))}, {x})[0];
  };
  const Tensor<T> cpu = run(x0.detach().clone().requires_grad_());
  const Tensor<T> gpu = run(x0.detach().to(kGpu).requires_grad_());
  CHECK(gpu.device() == kGpu);
  CHECK(rel_error(gpu, cpu) <= tolerance<T>());
}

template <class T>
void unary_suite() {
  const auto a = randn<T>({4, 3, 5}, 41), pos = positive<T>({4, 3, 5}, 42);
  const auto big = randn<T>({1 << 14}, 43);
  using V = std::vector<Tensor<T>>;
  check_agreement<T>("sqrt", [](const V& x) { return sqrt(x[0]); }, {pos});
  check_agreement<T>("rsqrt of a transpose", [](const V& x) { return rsqrt(x[0].transpose(0, 2)); },
                     {pos});
  check_agreement<T>("square", [](const V& x) { return square(x[0]); }, {a});
  check_agreement<T>("abs", [](const V& x) { return ember::abs(x[0]); }, {a});
  check_agreement<T>("tanh (large, vectorised)", [](const V& x) { return tanh(x[0]); }, {big});
  check_agreement<T>("sin of a slice", [](const V& x) { return sin(x[0].slice(1, 0, 3, 2)); }, {a});
  check_agreement<T>("cos", [](const V& x) { return cos(x[0]); }, {a});
  check_agreement<T>("erf", [](const V& x) { return erf(x[0]); }, {a});
  check_agreement<T>("reciprocal", [](const V& x) { return reciprocal(x[0]); }, {pos});
  check_agreement<T>("clamp", [](const V& x) { return clamp(x[0], T(-0.5), T(0.7)); }, {a});
  check_agreement<T>("clamp min > max", [](const V& x) { return clamp(x[0], T(1), T(-1)); }, {a});
  check_agreement<T>("clamp_min of a transpose",
                     [](const V& x) { return clamp_min(x[0].transpose(0, 1), T(0.2)); }, {a});
  check_agreement<T>("clamp_max", [](const V& x) { return clamp_max(x[0], T(-0.1)); }, {a});
  check_agreement<T>("pow scalar", [](const V& x) { return pow(x[0], T(2.5)); }, {pos});
  check_agreement<T>("pow square", [](const V& x) { return pow(x[0], T(2)); }, {a});
  check_agreement<T>("pow tensor broadcast", [](const V& x) { return pow(x[0], x[1]); },
                     {pos, randn<T>({3, 5}, 44)});
  check_agreement<T>("conj is the identity", [](const V& x) { return conj(x[0]); }, {a});
}

template <class T>
void activation_suite() {
  const auto a = mul(randn<T>({4, 3, 5}, 51), T(3));
  using V = std::vector<Tensor<T>>;
  check_agreement<T>("sigmoid", [](const V& x) { return sigmoid(x[0]); }, {a});
  check_agreement<T>("silu of a transpose", [](const V& x) { return silu(x[0].transpose(0, 2)); },
                     {a});
  check_agreement<T>("softplus", [](const V& x) { return softplus(x[0]); }, {a});
  check_agreement<T>("softplus beta 2 threshold 1 (both branches)",
                     [](const V& x) { return softplus(x[0], {.beta = 2.0, .threshold = 1.0}); },
                     {a});
  check_agreement<T>("elu", [](const V& x) { return elu(x[0], 0.7); }, {a});
  check_agreement<T>("leaky_relu", [](const V& x) { return leaky_relu(x[0], 0.1); }, {a});
  // Second derivatives (create_graph) through the differentiable rules on the GPU.
  check_second_derivative<T>(
      "gelu d2", [](const V& x) { return gelu(x[0]); }, a);
  check_second_derivative<T>(
      "gelu tanh d2", [](const V& x) { return gelu(x[0], GeluApproximate::Tanh); }, a);
  check_second_derivative<T>(
      "sigmoid d2", [](const V& x) { return sigmoid(x[0]); }, a);
  check_second_derivative<T>(
      "silu d2", [](const V& x) { return silu(x[0]); }, a);
  check_second_derivative<T>(
      "softplus d2", [](const V& x) { return softplus(x[0]); }, a);
  check_second_derivative<T>(
      "elu d2", [](const V& x) { return elu(x[0]); }, a);
  check_second_derivative<T>(
      "tanh d2", [](const V& x) { return tanh(x[0]); }, a);
  check_second_derivative<T>(
      "sin d2", [](const V& x) { return sin(x[0]); }, a);
  check_second_derivative<T>(
      "erf d2", [](const V& x) { return erf(x[0]); }, a);
  check_second_derivative<T>(
      "sqrt d2", [](const V& x) { return sqrt(x[0]); }, positive<T>({4, 5}, 52));
}

template <class T>
void compare_suite() {
  const auto a = ties<T>({4, 3, 5}, 61), b = ties<T>({4, 3, 5}, 62), row = ties<T>({3, 5}, 63);
  using V = std::vector<Tensor<T>>;
  using B = std::function<Tensor<bool>(const V&)>;
  check_exact<T, bool>("eq", B([](const V& x) { return eq(x[0], x[1]); }), {a, b});
  check_exact<T, bool>("ne broadcast", B([](const V& x) { return ne(x[0], x[1]); }), {a, row});
  check_exact<T, bool>("lt of a transpose",
                       B([](const V& x) { return lt(x[0].transpose(0, 2), x[1].transpose(0, 2)); }),
                       {a, b});
  check_exact<T, bool>("le", B([](const V& x) { return le(x[0], x[1]); }), {a, b});
  check_exact<T, bool>("gt scalar", B([](const V& x) { return gt(x[0], T(0)); }), {a});
  check_exact<T, bool>("ge scalar", B([](const V& x) { return ge(x[0], T(1)); }), {a});
  check_exact<T, bool>("eq scalar", B([](const V& x) { return eq(x[0], T(-1)); }), {a});
  check_exact<T, bool>("logical_and of floats",
                       B([](const V& x) { return logical_and(x[0], x[1]); }), {a, row});
  check_exact<T, bool>("logical_or / not of bools", B([](const V& x) {
                         return logical_not(logical_or(gt(x[0], T(0)), lt(x[1], T(-1))));
                       }),
                       {a, b});
  check_exact<T, bool>("logical_not of floats", B([](const V& x) { return logical_not(x[0]); }),
                       {a});
  // NaN and infinities: log of values <= 0 and division by zero, computed on each device.
  const Fn<T> special = [](const V& x) { return div(log(x[0]), x[1]); };
  check_exact<T, bool>("isnan", B([special](const V& x) { return isnan(special(x)); }), {a, b});
  check_exact<T, bool>("isinf", B([special](const V& x) { return isinf(special(x)); }), {a, b});
  check_exact<T, bool>("isfinite", B([special](const V& x) { return isfinite(special(x)); }),
                       {a, b});

  const auto c = randn<T>({4, 3, 5}, 64), d = randn<T>({3, 5}, 65), e = randn<T>({4, 1, 5}, 66);
  check_agreement<T>("where broadcast",
                     [](const V& x) { return where(gt(x[0], x[1]), x[0], x[2]); }, {c, d, e});
  check_agreement<T>("where non-contiguous cond",
                     [](const V& x) {
                       return where(gt(x[0].transpose(0, 2), T(0)), x[0].transpose(0, 2),
                                    x[1].transpose(0, 2));
                     },
                     {c, randn<T>({4, 3, 5}, 67)});
  check_agreement<T>("where scalar b", [](const V& x) { return where(gt(x[0], T(0)), x[0], T(2)); },
                     {c});
  check_agreement<T>("where scalar a",
                     [](const V& x) { return where(lt(x[0], T(0)), T(-1), x[0]); }, {c});
  check_agreement<T>("maximum with ties", [](const V& x) { return maximum(x[0], x[1]); }, {a, b});
  check_agreement<T>("minimum broadcast with ties", [](const V& x) { return minimum(x[0], x[1]); },
                     {a, row});
}

template <class T>
void reduce_more_suite() {
  const auto a = randn<T>({6, 5, 7}, 71), t = ties<T>({6, 5, 7}, 72);
  const auto long_row = randn<T>({3, 5000}, 73);
  using V = std::vector<Tensor<T>>;
  using I = std::function<Tensor<int64_t>(const V&)>;
  check_agreement<T>("mean all", [](const V& x) { return mean(x[0]); }, {a});
  check_agreement<T>("mean dims 0, 2 keepdim",
                     [](const V& x) {
                       return mean(x[0], {0, 2}, true);
                     },
                     {a});
  check_agreement<T>("amax dim 1 with ties", [](const V& x) { return amax(x[0], {1}); }, {t});
  check_agreement<T>("amin dims 0, 2 with ties",
                     [](const V& x) {
                       return amin(x[0], {0, 2});
                     },
                     {t});
  check_agreement<T>("max all with ties", [](const V& x) { return max(x[0]); }, {t});
  check_agreement<T>("min all long rows", [](const V& x) { return min(x[0]); }, {long_row});
  check_agreement<T>("max(dim) values with ties",
                     [](const V& x) { return max_with_indices(x[0], 1).values; }, {t});
  check_agreement<T>("min(dim) last keepdim of a transpose",
                     [](const V& x) { return min(x[0].transpose(0, 2), -1, true); }, {a});
  check_agreement<T>("max(dim) long rows", [](const V& x) { return max(x[0], 1); }, {long_row});
  check_exact<T, int64_t>("max(dim) indices with ties",
                          I([](const V& x) { return max_with_indices(x[0], 1).indices; }), {t});
  check_exact<T, int64_t>("argmax dim 2 with ties", I([](const V& x) { return argmax(x[0], 2); }),
                          {t});
  check_exact<T, int64_t>("argmin dim 0 keepdim",
                          I([](const V& x) { return argmin(x[0], 0, true); }), {t});
  check_exact<T, int64_t>("argmax all with ties", I([](const V& x) { return argmax(x[0]); }), {t});
  check_exact<T, int64_t>("argmin all long", I([](const V& x) { return argmin(x[0]); }),
                          {long_row});
  check_agreement<T>("logsumexp dim 1", [](const V& x) { return logsumexp(x[0], {1}); }, {a});
  check_agreement<T>("logsumexp dims 0, 2 keepdim",
                     [](const V& x) {
                       return logsumexp(x[0], {0, 2}, true);
                     },
                     {a});
  check_agreement<T>("logsumexp long rows", [](const V& x) { return logsumexp(x[0], {1}); },
                     {long_row});
  check_agreement<T>("var all", [](const V& x) { return var(x[0]); }, {a});
  check_agreement<T>("var dim 1 population",
                     [](const V& x) { return var(x[0], {1}, {.correction = 0}); }, {a});
  check_agreement<T>("std dims 0, 2 keepdim",
                     [](const V& x) {
                       return ember::std(x[0], {0, 2}, {.keepdim = true});
                     },
                     {a});
  check_agreement<T>("std long rows", [](const V& x) { return ember::std(x[0], {1}); }, {long_row});
  // Few long columns: reduced through a transposed copy, one block per column.
  const auto tall = randn<T>({3000, 8}, 74), tall_ties = ties<T>({3000, 3}, 75);
  check_agreement<T>("var dim 0 of a tall matrix", [](const V& x) { return var(x[0], {0}); },
                     {tall});
  check_agreement<T>("logsumexp dim 0 of a tall matrix",
                     [](const V& x) { return logsumexp(x[0], {0}); }, {tall});
  check_agreement<T>("max(dim 0) of a tall matrix with ties",
                     [](const V& x) { return max(x[0], 0); }, {tall_ties});
  check_exact<T, int64_t>("argmin dim 0 of a tall matrix with ties",
                          I([](const V& x) { return argmin(x[0], 0); }), {tall_ties});
  check_second_derivative<T>(
      "logsumexp d2", [](const V& x) { return logsumexp(x[0], {1}); }, a);
  check_second_derivative<T>(
      "std d2", [](const V& x) { return ember::std(x[0], {1}); }, a);
}

template <class T>
void shape_suite() {
  const auto a = randn<T>({4, 3, 5}, 81), b = randn<T>({4, 2, 5}, 82), c = randn<T>({5, 3, 4}, 83);
  using V = std::vector<Tensor<T>>;
  check_agreement<T>("cat dim 1", [](const V& x) { return cat(V{x[0], x[1]}, 1); }, {a, b});
  check_agreement<T>("cat non-contiguous",
                     [](const V& x) {
                       return cat(V{x[0], x[1].transpose(0, 2)}, 1);
                     },
                     {a, c});
  check_agreement<T>("stack",
                     [](const V& x) {
                       return stack(V{x[0], x[1]}, 2);
                     },
                     {a, randn<T>({4, 3, 5}, 84)});
  check_agreement<T>("flip dims 0, 2", [](const V& x) { return flip(x[0], {0, 2}); }, {a});
  check_agreement<T>("flip all (merged)", [](const V& x) { return flip(x[0], {0, 1, 2}); }, {a});
  check_agreement<T>("flip last of a transpose",
                     [](const V& x) { return flip(x[0].transpose(0, 1), {-1}); }, {a});
  check_agreement<T>("repeat", [](const V& x) { return repeat(x[0], {2, 1, 3, 1}); }, {a});
}

template <class T>
void loss_suite() {
  namespace F = ember::nn::functional;
  const auto logits = randn<T>({8, 5}, 91), logits3 = randn<T>({4, 5, 3}, 92);
  const auto w = positive<T>({5}, 93);
  Generator gen(94);
  const auto target = Tensor<int64_t>::randint(0, 5, {8}, gen);
  auto target_ign = Tensor<int64_t>::randint(0, 5, {8}, gen);
  target_ign.data_ptr()[2] = -100;
  const auto target3 = Tensor<int64_t>::randint(0, 5, {4, 3}, gen);
  using V = std::vector<Tensor<T>>;
  check_agreement<T>(
      "cross_entropy",
      [target](const V& x) { return F::cross_entropy(x[0], target.to(x[0].device())); }, {logits});
  check_agreement<T>("cross_entropy weight, ignore (fused kernel)",
                     [target_ign, w](const V& x) {
                       const Device dev = x[0].device();
                       F::CrossEntropyOptions<T> o{.weight = w.to(dev)};
                       return F::cross_entropy(x[0], target_ign.to(dev), o);
                     },
                     {logits});
  check_agreement<T>("cross_entropy wide rows none (fused kernel)",
                     [target](const V& x) {
                       return F::cross_entropy(x[0], target.to(x[0].device()),
                                               {.reduction = F::Reduction::None});
                     },
                     {randn<T>({8, 3000}, 99)});
  check_second_derivative<T>(
      "cross_entropy d2 (fused kernel, create_graph rule)",
      [target](const V& x) { return F::cross_entropy(x[0], target.to(x[0].device())); }, logits);
  check_agreement<T>("cross_entropy weight, ignore, smoothing",
                     [target_ign](const V& x) {
                       F::CrossEntropyOptions<T> o{.weight = x[1], .label_smoothing = 0.1};
                       return F::cross_entropy(x[0], target_ign.to(x[0].device()), o);
                     },
                     {logits, w});
  check_agreement<T>("cross_entropy [N, C, d] sum",
                     [target3](const V& x) {
                       return F::cross_entropy(x[0], target3.to(x[0].device()),
                                               {.reduction = F::Reduction::Sum});
                     },
                     {logits3});
  check_agreement<T>("cross_entropy probabilities",
                     [](const V& x) { return F::cross_entropy(x[0], softmax(x[1], 1)); },
                     {logits, randn<T>({8, 5}, 95)});
  check_agreement<T>("nll_loss none",
                     [target](const V& x) {
                       return F::nll_loss(log_softmax(x[0], 1), target.to(x[0].device()),
                                          {.reduction = F::Reduction::None});
                     },
                     {logits});
  const auto p = randn<T>({6, 4}, 96), q = randn<T>({6, 4}, 97);
  check_agreement<T>("mse_loss", [](const V& x) { return F::mse_loss(x[0], x[1]); }, {p, q});
  check_agreement<T>("l1_loss", [](const V& x) { return F::l1_loss(x[0], x[1]); }, {p, q});
  check_agreement<T>("smooth_l1_loss", [](const V& x) { return F::smooth_l1_loss(x[0], x[1]); },
                     {p, q});
  check_agreement<T>("bce with logits, pos_weight",
                     [](const V& x) {
                       F::BCEWithLogitsOptions<T> o{.pos_weight = x[2]};
                       return F::binary_cross_entropy_with_logits(x[0], sigmoid(x[1]), o);
                     },
                     {mul(p, T(4)), q, positive<T>({4}, 98)});
  check_agreement<T>("kl_div batchmean",
                     [](const V& x) {
                       return F::kl_div(log_softmax(x[0], 1), softmax(x[1], 1),
                                        {.reduction = F::Reduction::BatchMean});
                     },
                     {p, q});
  check_agreement<T>("cosine_similarity",
                     [](const V& x) { return F::cosine_similarity(x[0], x[1]); }, {p, q});
}

}  // namespace

TEST_CASE("cuda: unary math ops agree with the CPU") {
  unary_suite<float>();
  unary_suite<double>();
}

TEST_CASE("cuda: activations (and their second derivatives) agree with the CPU") {
  activation_suite<float>();
  activation_suite<double>();
}

TEST_CASE("cuda: comparisons, where, maximum and minimum agree with the CPU") {
  compare_suite<float>();
  compare_suite<double>();
}

TEST_CASE("cuda: mean, max / min, arg reductions, logsumexp, var, std agree with the CPU") {
  reduce_more_suite<float>();
  reduce_more_suite<double>();
}

TEST_CASE("cuda: cat, stack, flip and repeat agree with the CPU") {
  shape_suite<float>();
  shape_suite<double>();
}

TEST_CASE("cuda: losses agree with the CPU") {
  loss_suite<float>();
  loss_suite<double>();
}

TEST_CASE("cuda: pointwise ops reject dtypes without kernels") {
  CHECK_THROWS_AS(square(Tensor<int64_t>::ones({2}, kGpu)), ember::Error);
  CHECK_THROWS_AS(lt(Tensor<int64_t>::ones({2}, kGpu), int64_t(1)), ember::Error);
}
