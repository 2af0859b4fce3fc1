// Agreement suites of the indexing family (index_select, index_add, gather, scatter_add,
// masked_fill, embedding, scatter_sum / scatter_mean, segment_sum), dropout and the fused
// optimizer steps, plus the determinism switch. Included by test_cuda_agreement.cpp after its
// helpers (check_agreement, randn, rel_error, tolerance, kGpu, Fn).
//
// Tolerances: the default (1e-5 float32, 1e-10 float64) everywhere, except the scatter_add
// test with thousands of collisions per target on the atomic path, where the float sums round
// in the order the atomics land (1e-3 in float32: a 5000-term float sum differs by ~1e-4
// relative between two summation orders). Optimizer steps agree to 1e-6 in float32 (the kernels
// avoid FMA contraction, so they should match the CPU bit for bit).
#pragma once

#include <cstdint>
#include <ember/core/determinism.hpp>
#include <ember/nn/embedding.hpp>
#include <ember/ops/dropout.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/clip.hpp>
#include <ember/optim/sgd.hpp>
#include <vector>

namespace {

// Uniform int64 indices in [0, high) of the given shape (on the CPU).
Tensor<int64_t> random_index(const Shape& s, int64_t high, uint64_t seed) {
  Generator gen(seed);
  Tensor<int64_t> t = Tensor<int64_t>::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr()[i] = gen.randint(0, high);
  return t;
}

// Restores the determinism switch on scope exit (a failed CHECK must not leak it).
struct DeterministicGuard {
  bool saved = ember::deterministic();
  explicit DeterministicGuard(bool on) { ember::set_deterministic(on); }
  ~DeterministicGuard() { ember::set_deterministic(saved); }
};

template <class T>
void indexing_suite() {
  using V = std::vector<Tensor<T>>;
  const auto x = randn<T>({6, 5, 7}, 41);
  const auto rows = Tensor<int64_t>::from_vector({4, 0, 4, 5, 1, 4}, {6});  // repeats: index_add
  const auto rows32 = Tensor<int32_t>::from_vector({2, 2, 0, 3}, {4});
  check_agreement<T>("index_select dim 0 (repeated indices)",
                     [&](const V& v) { return index_select(v[0], 0, rows.to(v[0].device())); },
                     {x});
  check_agreement<T>(
      "index_select dim 1 of a transpose, int32 index",
      [&](const V& v) { return index_select(v[0].transpose(0, 2), 1, rows32.to(v[0].device())); },
      {x});
  check_agreement<T>("index_add dim 2",
                     [&](const V& v) { return index_add(v[0], 2, rows.to(v[0].device()), v[1]); },
                     {x, randn<T>({6, 5, 6}, 42)});
  check_agreement<T>(
      "index_add into a transposed input",
      [&](const V& v) { return index_add(v[0].transpose(0, 1), 1, rows.to(v[0].device()), v[1]); },
      {x, randn<T>({5, 6, 7}, 43)});

  const auto gidx = random_index({6, 9, 7}, 5, 44);  // gather along dim 1 of size 5, repeats
  check_agreement<T>("gather dim 1",
                     [&](const V& v) { return gather(v[0], 1, gidx.to(v[0].device())); }, {x});
  const auto gidx_small = random_index({4, 3, 2}, 7, 45);
  check_agreement<T>("gather dim 2 of a permuted input, index smaller than input",
                     [&](const V& v) {
                       return gather(v[0].permute({1, 0, 2}), 2, gidx_small.to(v[0].device()));
                     },
                     {x});
  const auto sidx = random_index({4, 5, 3}, 6, 46);  // into dim 0 of size 6, src larger
  check_agreement<T>("scatter_add dim 0, src larger than index",
                     [&](const V& v) { return scatter_add(v[0], 0, sidx.to(v[0].device()), v[1]); },
                     {x, randn<T>({5, 5, 4}, 47)});
  check_agreement<T>("scatter_add dim -1 of a transpose",
                     [&](const V& v) {
                       return scatter_add(v[0].transpose(0, 2), -1,
                                          random_index({7, 5, 9}, 6, 48).to(v[0].device()), v[1]);
                     },
                     {x, randn<T>({7, 5, 9}, 49)});

  const auto mask = random_index({5, 1}, 2, 50).template to<bool>();
  check_agreement<T>("masked_fill broadcast mask",
                     [&](const V& v) { return masked_fill(v[0], mask.to(v[0].device()), T(-2)); },
                     {x});
  check_agreement<T>("masked_fill of a transpose",
                     [&](const V& v) {
                       return masked_fill(
                           v[0].transpose(0, 1),
                           random_index({5, 6, 7}, 2, 51).template to<bool>().to(v[0].device()),
                           T(3));
                     },
                     {x});

  const auto tokens = random_index({4, 9}, 11, 52);
  check_agreement<T>(
      "embedding with padding_idx",
      [&](const V& v) { return nn::functional::embedding(tokens.to(v[0].device()), v[0], 3); },
      {randn<T>({11, 16}, 53)});

  const auto edges = random_index({40}, 9, 54);
  check_agreement<T>("scatter_sum",
                     [&](const V& v) { return scatter_sum(v[0], edges.to(v[0].device()), 10); },
                     {randn<T>({40, 3, 4}, 55)});
  check_agreement<T>(
      "scatter_sum of a transpose, dim_size inferred",
      [&](const V& v) { return scatter_sum(v[0].transpose(0, 1), edges.to(v[0].device())); },
      {randn<T>({6, 40}, 56)});
  check_agreement<T>("scatter_mean",
                     [&](const V& v) { return scatter_mean(v[0], edges.to(v[0].device()), 10); },
                     {randn<T>({40, 5}, 57)});
  // scatter_max: 12 target rows for 9 used indices, so some rows are empty (0, argmax E).
  check_agreement<T>(
      "scatter_max values (empty rows too)",
      [&](const V& v) { return scatter_max(v[0], edges.to(v[0].device()), 12).first; },
      {randn<T>({40, 3, 2}, 59)});
  {
    const auto src = randn<T>({40, 5}, 60);
    const auto want = scatter_max(src, edges, 12).second;
    const auto got = scatter_max(src.to(kGpu), edges.to(kGpu), 12).second;
    CHECK(got.device() == kGpu);
    CHECK(got.to(Device::cpu()).to_vector() == want.to_vector());  // argmax: exact
  }
  const auto row_ptr = Tensor<int64_t>::from_vector({0, 3, 3, 10, 25, 40}, {6});
  check_agreement<T>("segment_sum (with an empty segment)",
                     [&](const V& v) { return segment_sum(v[0], row_ptr.to(v[0].device())); },
                     {randn<T>({40, 3, 2}, 58)});
}

template <class T>
void indexing_errors() {
  const auto x = randn<T>({4, 3}, 61).to(kGpu);
  CHECK_THROWS_AS(index_select(x, 0, Tensor<int64_t>{0, 4}.to(kGpu)), ember::Error);
  CHECK_THROWS_AS(gather(x, 1, Tensor<int64_t>::full({4, 3}, -1).to(kGpu)), ember::Error);
  CHECK_THROWS_AS(scatter_sum(x, Tensor<int64_t>{0, 1, 2, 3}.to(kGpu), 3), ember::Error);
  CHECK_THROWS_AS(index_select(x, 0, Tensor<int64_t>{0, 1}), ember::Error);  // index on the CPU
  CHECK_THROWS_AS(scatter_max(x, Tensor<int64_t>{0, 1, 2, 4}.to(kGpu), 4), ember::Error);
}

// Heavy collisions: 5000 rows of src into 4 target rows. With the switch on, two CUDA runs are
// bitwise equal and agree with the CPU; without it, they agree within the atomics' rounding.
template <class T>
void determinism_suite() {
  const auto x = randn<T>({4, 16}, 71), src = randn<T>({5000, 16}, 72);
  const auto idx = random_index({5000, 16}, 4, 73);
  const Tensor<T> want = scatter_add(x, 0, idx, src);
  const auto xg = x.to(kGpu), srcg = src.to(kGpu);
  const auto idxg = idx.to(kGpu);
  {
    DeterministicGuard on(true);
    const std::vector<T> a = scatter_add(xg, 0, idxg, srcg).to_vector();
    const std::vector<T> b = scatter_add(xg, 0, idxg, srcg).to_vector();
    CHECK(a == b);
    CHECK(rel_error(scatter_add(xg, 0, idxg, srcg), want) <= 1e-5);

    // index_add and the embedding backward (index_add) under the switch.
    const auto rows = random_index({3000}, 5, 74);
    const auto w = randn<T>({5, 8}, 75);
    auto wc = w.detach().clone().requires_grad_();
    auto wg = w.to(kGpu).requires_grad_();
    const auto gy = randn<T>({3000, 8}, 76);
    nn::functional::embedding(rows, wc).backward(gy);
    nn::functional::embedding(rows.to(kGpu), wg).backward(gy.to(kGpu));
    const std::vector<T> g1 = wg.grad().to_vector();
    wg.zero_grad();
    nn::functional::embedding(rows.to(kGpu), wg).backward(gy.to(kGpu));
    CHECK(g1 == wg.grad().to_vector());
    CHECK(rel_error(wg.grad(), wc.grad()) <= 1e-5);
  }
  {
    DeterministicGuard off(false);
    const double tol = std::is_same_v<T, float> ? 1e-3 : 1e-10;
    CHECK(rel_error(scatter_add(xg, 0, idxg, srcg), want) <= tol);
  }
}

template <class T>
void dropout_suite() {
  const double p = 0.3;
  const int64_t n = 1 << 16;
  const T scale = T(1.0 / (1.0 - p));
  auto x = Tensor<T>::ones({n}).to(kGpu).requires_grad_();
  Generator g1(1234), g2(1234), g3(99);
  const Tensor<T> y = dropout(x, p, true, g1);
  REQUIRE(y.device() == kGpu);
  const std::vector<T> a = y.to_vector();
  CHECK(a == dropout(x.detach(), p, true, g2).to_vector());  // same seed, same mask
  CHECK(a != dropout(x.detach(), p, true, g3).to_vector());  // another seed, another mask
  int64_t kept = 0;
  bool values_ok = true;
  for (T v : a) {
    if (v != T(0)) ++kept;
    values_ok = values_ok && (v == T(0) || v == scale);
  }
  CHECK(values_ok);  // kept values are x / (1 - p), exactly
  const double frac = double(kept) / double(n);
  CHECK(frac > 0.69);  // 1 - p = 0.7; the standard deviation of frac is 0.0018
  CHECK(frac < 0.71);
  // Backward: g * mask, the forward's own mask (x = 1, so the mask is y itself).
  y.backward(Tensor<T>::full({n}, T(2)).to(kGpu));
  const std::vector<T> gx = x.grad().to_vector();
  bool grad_ok = true;
  for (size_t i = 0; i < a.size(); ++i) grad_ok = grad_ok && gx[i] == T(2) * a[i];
  CHECK(grad_ok);
  // Not training, or p = 0: the identity.
  CHECK(dropout(x, p, false).to_vector() == x.to_vector());
}

// Steps the same parameters on the CPU and on CUDA with the same gradients and compares.
// 30 parameters (more than one multi-tensor chunk), one large (grid-stride loop), one empty.
template <class T, class Opt, class Options>
void optimizer_agreement(const char* name, Options options) {
  CAPTURE(name);
  std::vector<Shape> shapes;
  for (int i = 0; i < 28; ++i) shapes.push_back({int64_t(1 + i % 5), int64_t(3 + i)});
  shapes.push_back({100003});
  shapes.push_back({0, 4});
  std::vector<AnyTensor> cpu_params, gpu_params;
  std::vector<Tensor<T>> cpu_t, gpu_t;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const auto v = randn<T>(shapes[i], 100 + i);
    cpu_t.push_back(v.detach().clone().requires_grad_());
    gpu_t.push_back(v.to(kGpu).requires_grad_());
    cpu_params.push_back(cpu_t.back());
    gpu_params.push_back(gpu_t.back());
  }
  Opt cpu_opt(cpu_params, options), gpu_opt(gpu_params, options);
  for (int step = 0; step < 4; ++step) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (step == 2 && i % 7 == 3) {  // some parameters get no gradient on a step
        cpu_t[i].zero_grad();
        gpu_t[i].zero_grad();
        continue;
      }
      const auto g = randn<T>(shapes[i], 1000 * uint64_t(step) + i);
      cpu_t[i].set_grad(g);
      gpu_t[i].set_grad(g.to(kGpu));
    }
    cpu_opt.step();
    gpu_opt.step();
  }
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  for (size_t i = 0; i < shapes.size(); ++i) {
    CAPTURE(i);
    CHECK(gpu_t[i].device() == kGpu);
    CHECK(rel_error(gpu_t[i].detach(), cpu_t[i].detach()) <= tol);
  }
}

template <class T>
void optimizer_suite() {
  optimizer_agreement<T, optim::SGD>("SGD", optim::SGDOptions{.lr = 0.1});
  optimizer_agreement<T, optim::SGD>(
      "SGD nesterov + weight decay",
      optim::SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  optimizer_agreement<T, optim::SGD>(
      "SGD dampening + maximize",
      optim::SGDOptions{.lr = 0.05, .momentum = 0.8, .dampening = 0.3, .maximize = true});
  optimizer_agreement<T, optim::Adam>("Adam", optim::AdamOptions{.lr = 1e-2});
  optimizer_agreement<T, optim::Adam>(
      "Adam amsgrad + L2", optim::AdamOptions{.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true});
  optimizer_agreement<T, optim::AdamW>("AdamW", optim::AdamWOptions{.lr = 1e-2});
  optimizer_agreement<T, optim::AdamW>(
      "AdamW amsgrad + maximize",
      optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.05, .amsgrad = true, .maximize = true});
}

}  // namespace

TEST_CASE("cuda: indexing and scatter ops agree with the CPU") {
  indexing_suite<float>();
  indexing_suite<double>();
  indexing_errors<float>();
}

TEST_CASE("cuda: deterministic scatter_add / index_add (set_deterministic)") {
  determinism_suite<float>();
  determinism_suite<double>();
}

TEST_CASE("cuda: dropout (Philox mask)") {
  dropout_suite<float>();
  dropout_suite<double>();
}

TEST_CASE("cuda: fused optimizer steps agree with the CPU") {
  optimizer_suite<float>();
  optimizer_suite<double>();
}

// Gradient clipping on CUDA gradients (ops on the GPU) against the same gradients on the CPU:
// the returned total norm (every norm type) and the clipped gradients.
template <class T>
void clip_suite() {
  for (double norm_type : {2.0, 1.0, 3.0, double(INFINITY)}) {
    CAPTURE(norm_type);
    std::vector<Tensor<T>> cpu, gpu;
    for (int i = 0; i < 3; ++i) {
      const auto g = mul(randn<T>({5 + i, 4}, uint64_t(300 + i)), T(3));
      cpu.push_back(randn<T>({5 + i, 4}, uint64_t(310 + i)).requires_grad_());
      gpu.push_back(cpu.back().detach().to(kGpu).requires_grad_());
      sum(mul(cpu.back(), g)).backward();
      sum(mul(gpu.back(), g.to(kGpu))).backward();
    }
    std::vector<AnyTensor> pc(cpu.begin(), cpu.end()), pg(gpu.begin(), gpu.end());
    const double want = optim::clip_grad_norm_(pc, 1.0, norm_type);
    const double got = optim::clip_grad_norm_(pg, 1.0, norm_type);
    CHECK(std::abs(got - want) <= tolerance<T>() * want);
    for (size_t i = 0; i < cpu.size(); ++i) {
      CHECK(gpu[i].grad().device() == kGpu);
      CHECK(rel_error(gpu[i].grad(), cpu[i].grad()) <= tolerance<T>());
    }
    optim::clip_grad_value_(pc, 0.05);
    optim::clip_grad_value_(pg, 0.05);
    for (size_t i = 0; i < cpu.size(); ++i)
      CHECK(rel_error(gpu[i].grad(), cpu[i].grad()) <= tolerance<T>());
  }
}

TEST_CASE("cuda: one_hot of CUDA labels") {
  const auto labels = Tensor<int64_t>::from_vector({2, 0, 3, 3, 1, 0}, {2, 3});
  const auto got = one_hot(labels.to(kGpu), 5);
  CHECK(got.device() == kGpu);
  CHECK(got.to(Device::cpu()).to_vector() == one_hot(labels, 5).to_vector());
  CHECK(one_hot(labels.to(kGpu)).shape() == Shape{2, 3, 4});
  CHECK_THROWS_AS(one_hot(labels.to(kGpu), 3), ember::Error);  // label 3 out of range
}

TEST_CASE("cuda: clip_grad_norm_ / clip_grad_value_ on CUDA gradients") {
  clip_suite<float>();
  clip_suite<double>();
}
