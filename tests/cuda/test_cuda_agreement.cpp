// Backend agreement (DESIGN.md, testing layer 2): every CUDA op against the CPU on the same
// random inputs, forward and backward, including non-contiguous and broadcast operands.
// Relative error ||cuda - cpu|| / ||cpu|| at most 1e-5 in float32 (1e-10 in float64).
//
// Built only with EMBER_CUDA=ON (tests/cuda/CMakeLists.txt), as its own executable: without a
// visible GPU it prints that it did not run and exits 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <ember/backend/cuda/api.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/softmax.hpp>

using namespace ember;

namespace {

const Device kGpu = Device::cuda(0);

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-10;
}

// ||got - want|| / ||want|| (absolute when want is all zeros); got may be on the GPU.
template <class T>
double rel_error(const Tensor<T>& got, const Tensor<T>& want) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<T> a = got.to(Device::cpu()).to_vector(), b = want.to_vector();
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - double(b[i]);
    num += d * d;
    den += double(b[i]) * double(b[i]);
  }
  if (std::isnan(num)) return INFINITY;
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

template <class T>
using Fn = std::function<Tensor<T>(const std::vector<Tensor<T>>&)>;

// Runs f on CPU leaves and on CUDA leaves holding the same values; compares the outputs,
// then backpropagates the same random output gradient and compares every input's gradient.
template <class T>
void check_agreement(const std::string& name, const Fn<T>& f,
                     const std::vector<Tensor<T>>& inputs) {
  CAPTURE(name);
  std::vector<Tensor<T>> cpu_in, gpu_in;
  for (const Tensor<T>& t : inputs) {
    cpu_in.push_back(t.detach().clone().requires_grad_());
    Tensor<T> g = t.detach().to(kGpu);
    REQUIRE(g.device() == kGpu);
    gpu_in.push_back(g.requires_grad_());
  }
  const Tensor<T> y_cpu = f(cpu_in), y_gpu = f(gpu_in);
  REQUIRE(y_gpu.device() == kGpu);
  CHECK(rel_error(y_gpu, y_cpu) <= tolerance<T>());

  Generator gen(7);
  const Tensor<T> gy = Tensor<T>::randn(y_cpu.shape(), gen);
  y_cpu.backward(gy);
  y_gpu.backward(gy.to(kGpu));
  for (size_t i = 0; i < inputs.size(); ++i) {
    CAPTURE(i);
    REQUIRE(cpu_in[i].grad().defined());
    REQUIRE(gpu_in[i].grad().defined());
    CHECK(gpu_in[i].grad().device() == kGpu);
    CHECK(rel_error(gpu_in[i].grad(), cpu_in[i].grad()) <= tolerance<T>());
  }
}

template <class T>
Tensor<T> randn(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  return Tensor<T>::randn(s, gen);
}

// Positive values in [0.5, 2): inputs for log and div.
template <class T>
Tensor<T> positive(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  return Tensor<T>::rand(s, gen, 0.5, 2.0);
}

template <class T>
void elementwise_suite() {
  const auto a = randn<T>({4, 3, 5}, 1), b = randn<T>({4, 3, 5}, 2);
  const auto row = randn<T>({3, 5}, 3), col = randn<T>({4, 1, 5}, 4);
  const auto big = randn<T>({1 << 16}, 5), big2 = randn<T>({1 << 16}, 6);
  const auto pos = positive<T>({4, 3, 5}, 8);
  using V = std::vector<Tensor<T>>;
  check_agreement<T>("add", [](const V& x) { return add(x[0], x[1]); }, {a, b});
  check_agreement<T>("add vectorised (large, odd tail)",
                     [](const V& x) { return add(x[0].slice(0, 1, -2), x[1].slice(0, 1, -2)); },
                     {big, big2});
  check_agreement<T>("add broadcast", [](const V& x) { return add(x[0], x[1]); }, {a, row});
  check_agreement<T>("sub broadcast both", [](const V& x) { return sub(x[0], x[1]); }, {col, row});
  check_agreement<T>("mul non-contiguous",
                     [](const V& x) { return mul(x[0].transpose(0, 2), x[1].transpose(0, 2)); },
                     {a, b});
  check_agreement<T>("div broadcast", [](const V& x) { return div(x[0], x[1]); }, {a, pos});
  check_agreement<T>("neg of a slice", [](const V& x) { return neg(x[0].slice(1, 0, 3, 2)); }, {a});
  check_agreement<T>(
      "scalar ops",
      [](const V& x) { return rdiv(rsub(mul(add(x[0], T(0.5)), T(3)), T(10)), T(2)); }, {pos});
  check_agreement<T>("exp", [](const V& x) { return exp(x[0].transpose(0, 1)); }, {a});
  check_agreement<T>("log", [](const V& x) { return log(x[0]); }, {pos});
  check_agreement<T>("relu", [](const V& x) { return relu(x[0].transpose(1, 2)); }, {a});
  check_agreement<T>("gelu", [](const V& x) { return gelu(x[0]); }, {a});
  check_agreement<T>("gelu tanh", [](const V& x) { return gelu(x[0], GeluApproximate::Tanh); },
                     {a});
}

template <class T>
void reduction_suite() {
  const auto a = randn<T>({6, 5, 7}, 11);
  const auto long_row = randn<T>({3, 100000}, 12);
  using V = std::vector<Tensor<T>>;
  check_agreement<T>("sum all", [](const V& x) { return sum(x[0]); }, {a});
  check_agreement<T>("sum dim 0", [](const V& x) { return sum(x[0], {0}); }, {a});
  check_agreement<T>("sum last keepdim", [](const V& x) { return sum(x[0], {-1}, true); }, {a});
  check_agreement<T>("sum dims 0, 2", [](const V& x) { return sum(x[0], {0, 2}); }, {a});
  check_agreement<T>("sum of a transpose",
                     [](const V& x) { return sum(x[0].transpose(0, 2), {1}); }, {a});
  check_agreement<T>("sum long rows (split over blocks)", [](const V& x) { return sum(x[0], {1}); },
                     {long_row});
  check_agreement<T>("sum all long", [](const V& x) { return sum(x[0]); }, {long_row});
}

template <class T>
void nn_suite() {
  const auto a = randn<T>({4, 6, 33}, 21), wide = randn<T>({5, 3000}, 22);
  const auto w = randn<T>({33}, 23), b = randn<T>({33}, 24);
  using V = std::vector<Tensor<T>>;
  check_agreement<T>("softmax last", [](const V& x) { return softmax(x[0], -1); }, {a});
  check_agreement<T>("softmax middle", [](const V& x) { return softmax(x[0], 1); }, {a});
  check_agreement<T>("softmax wide rows", [](const V& x) { return softmax(x[0], 1); }, {wide});
  check_agreement<T>("log_softmax last", [](const V& x) { return log_softmax(x[0], -1); }, {a});
  check_agreement<T>("log_softmax first of a transpose",
                     [](const V& x) { return log_softmax(x[0].transpose(0, 2), 0); }, {a});
  check_agreement<T>("layer_norm", [](const V& x) { return layer_norm(x[0], {33}, x[1], x[2]); },
                     {a, w, b});
  check_agreement<T>("layer_norm no affine", [](const V& x) { return layer_norm(x[0], {33}); },
                     {a});
  check_agreement<T>("layer_norm wide", [](const V& x) { return layer_norm(x[0], {3000}); },
                     {wide});
  check_agreement<T>("layer_norm 2 dims of a transpose",
                     [](const V& x) {
                       return layer_norm(x[0].transpose(0, 1), {4, 33});
                     },
                     {a});
}

template <class T>
void matmul_suite() {
  const auto a = randn<T>({7, 5}, 31), b = randn<T>({5, 9}, 32), bt = randn<T>({9, 5}, 33);
  const auto batch_a = randn<T>({3, 7, 5}, 34), batch_b = randn<T>({2, 1, 5, 4}, 35);
  const auto v = randn<T>({5}, 36), bias = randn<T>({9}, 37);
  using V = std::vector<Tensor<T>>;
  check_agreement<T>("mm", [](const V& x) { return mm(x[0], x[1]); }, {a, b});
  check_agreement<T>("matmul transposed operand", [](const V& x) { return matmul(x[0], x[1].t()); },
                     {a, bt});
  check_agreement<T>("matmul both transposed",
                     [](const V& x) { return matmul(x[1].t(), x[0].t()); }, {a, bt});
  check_agreement<T>("matmul batch x matrix", [](const V& x) { return matmul(x[0], x[1]); },
                     {batch_a, b});
  check_agreement<T>("matmul broadcast batches", [](const V& x) { return matmul(x[0], x[1]); },
                     {batch_a, batch_b});
  check_agreement<T>("matmul vector", [](const V& x) { return matmul(x[0], x[1]); }, {a, v});
  check_agreement<T>("bmm of slices",
                     [](const V& x) { return bmm(x[0].slice(2, 0, 4), x[1].slice(1, 0, 4)); },
                     {batch_a, randn<T>({3, 5, 6}, 38)});
  check_agreement<T>("linear", [](const V& x) { return linear(x[0], x[1], x[2]); },
                     {batch_a, bt, bias});
}

}  // namespace

#include "suite_indexing.hpp"
#include "suite_pointwise.hpp"
#include "suite_sort.hpp"
#include "suite_spatial.hpp"
#include "suite_spectral.hpp"
#include "suite_module.hpp"
#include "suite_runtime.hpp"

TEST_CASE("cuda: copies, creation and errors") {
  const auto x = randn<float>({5, 7}, 1);
  const auto g = x.to(kGpu);
  CHECK(g.device() == kGpu);
  CHECK(g.to(Device::cpu()).to_vector() == x.to_vector());                  // bit-exact round trip
  CHECK(x.t().to(kGpu).to_vector() == x.t().contiguous().to_vector());      // non-contiguous source
  CHECK(g.t().contiguous().to_vector() == x.t().contiguous().to_vector());  // strided copy kernel
  CHECK(Tensor<double>::full({3, 2}, 2.5, kGpu).to_vector() == std::vector<double>(6, 2.5));
  CHECK(Tensor<int64_t>::zeros({4}, kGpu).to_vector() == std::vector<int64_t>(4, 0));
  auto z = Tensor<float>::zeros({2, 3}, kGpu);
  z.slice(1, 1, 3).copy_(Tensor<float>{1, 2});  // CPU source, broadcast into a CUDA view
  CHECK(z.to_vector() == std::vector<float>{0, 1, 2, 0, 1, 2});
  CHECK_THROWS_AS(add(x, g), ember::Error);  // operands on different devices
  CHECK_THROWS_AS(g.item(), ember::Error);
  CHECK_THROWS_AS(exp(Tensor<std::complex<float>>::zeros({2}, kGpu)), ember::Error);

  // The gradient of to() goes back to the source device.
  auto leaf = x.detach().clone().requires_grad_();
  sum(mul(leaf.to(kGpu), leaf.to(kGpu))).backward();
  REQUIRE(leaf.grad().defined());
  CHECK(leaf.grad().device() == Device::cpu());
  CHECK(rel_error(leaf.grad(), mul(x, 2.0f)) <= 1e-6);
}

TEST_CASE("cuda: second derivatives through CUDA ops") {
  auto x = randn<double>({4, 3}, 5).to(kGpu).requires_grad_();
  const auto y = sum(mul(mul(x, x), x));  // d/dx = 3x^2, d2/dx2 = 6x
  const auto gx = grad<double>({y}, {x}, {}, {.create_graph = true})[0];
  const auto g2 = grad<double>({sum(gx)}, {x})[0];
  CHECK(rel_error(g2, mul(x.detach(), 6.0).to(Device::cpu())) <= 1e-12);
}

TEST_CASE("cuda: elementwise ops agree with the CPU") {
  elementwise_suite<float>();
  elementwise_suite<double>();
}

TEST_CASE("cuda: reductions agree with the CPU") {
  reduction_suite<float>();
  reduction_suite<double>();
}

TEST_CASE("cuda: softmax and layer_norm agree with the CPU") {
  nn_suite<float>();
  nn_suite<double>();
}

TEST_CASE("cuda: matmul (cuBLAS, strict fp32) agrees with the CPU") {
  REQUIRE_FALSE(cuda::tf32_allowed());
  matmul_suite<float>();
  matmul_suite<double>();
}

int main(int argc, char** argv) {
  if (!cuda::is_available()) {
    std::printf("no CUDA device: agreement suite NOT run\n");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
