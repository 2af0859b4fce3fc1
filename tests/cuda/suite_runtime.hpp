// The CUDA runtime's ordering, overlap, layout and determinism contracts (the defects found by
// reading the backend before its first GPU run): each test failed on the code before the fix.
// Included by test_cuda_agreement.cpp after its helpers.
#pragma once

#include <cuda_runtime.h>

#include <cstring>
#include <vector>

#include <ember/ops/layer_norm.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/reduce.hpp>

namespace {

// The raw bytes of a tensor (copied to the host), for bitwise comparisons.
template <class T>
std::vector<unsigned char> bytes_of(const Tensor<T>& t) {
  const Tensor<T> c = t.detach().to(Device::cpu()).contiguous();
  std::vector<unsigned char> out(size_t(c.numel()) * sizeof(T));
  std::memcpy(out.data(), c.data_ptr(), out.size());
  return out;
}

}  // namespace

TEST_CASE("cuda runtime: set_stream orders the new stream after the old one") {
  // A few hundred milliseconds of GEMMs queued on ember's own stream, then a switch to a fresh
  // stream and an immediate read there: without the event between them the read (and the pool,
  // which may hand the chain's freed blocks to the new stream) races the queued work.
  Generator gen(31);
  const Tensor<float> a = Tensor<float>::randn({2048, 2048}, gen);
  Tensor<float> eye = Tensor<float>::zeros({2048, 2048});
  for (int64_t i = 0; i < 2048; ++i) eye.data_ptr()[i * 2048 + i] = 1.0f;
  const Tensor<float> identity = eye.to(kGpu);
  Tensor<float> y = a.to(kGpu);
  for (int i = 0; i < 200; ++i) y = matmul(y, identity);  // exact in strict fp32: y stays a
  cudaStream_t fresh;
  REQUIRE(cudaStreamCreateWithFlags(&fresh, cudaStreamNonBlocking) == cudaSuccess);
  cuda::set_stream(fresh, 0);
  const Tensor<float> copy = y.to(Device::cpu());  // queued on the fresh stream
  cuda::set_stream(nullptr, 0);                    // back to ember's stream, ordered again
  cuda::synchronize(0);
  CHECK(bytes_of(copy) == bytes_of(a));
  REQUIRE(cudaStreamDestroy(fresh) == cudaSuccess);
}

TEST_CASE("cuda runtime: a copy between two GPUs keeps its source alive until it is read") {
  if (cuda::device_count() < 2) {
    MESSAGE("one GPU: the peer-copy ordering test needs two and did not run");
    return;
  }
  Generator gen(32);
  const Tensor<float> a = Tensor<float>::randn({4096, 1024}, gen);
  for (int i = 0; i < 20; ++i) {
    // A strided view on GPU 0: to(cuda:1) copies it into a temporary contiguous tensor, which
    // is freed right after the peer copy is queued; the pool must not reuse it before.
    const Tensor<float> src = a.to(kGpu).t();
    const Tensor<float> moved = src.to(Device::cuda(1));
    Tensor<float> scribble = Tensor<float>::zeros({4096, 1024}, kGpu);  // may reuse the block
    scribble.fill_(float(i));
    CHECK(bytes_of(moved) == bytes_of(a.t()));
  }
}

TEST_CASE("cuda runtime: copy_ between overlapping views of one storage") {
  // The CPU's answer (tests/test_core.cpp checks it by hand): the source is read first.
  for (const Device d : {Device::cpu(), kGpu}) {
    auto x = Tensor<double>::arange(0.0, 12.0).reshape({3, 4}).to(d);
    x.narrow(0, 1, 2).narrow(1, 0, 3).copy_(x.narrow(0, 0, 2).narrow(1, 0, 3));
    CHECK(x.to(Device::cpu()).to_vector() ==
          std::vector<double>{0, 1, 2, 3, 0, 1, 2, 7, 4, 5, 6, 11});
    auto y = Tensor<float>::arange(0.0f, float(1 << 20)).to(d);
    y.narrow(0, 1, (1 << 20) - 1).copy_(y.narrow(0, 0, (1 << 20) - 1));  // one run: memmove
    const std::vector<float> v = y.to(Device::cpu()).to_vector();
    CHECK(v[0] == 0.0f);
    CHECK(v[1] == 0.0f);
    CHECK(v[(1 << 20) - 1] == float((1 << 20) - 2));
  }
}

TEST_CASE("cuda runtime: matmul with 1x1 operands whose strides are all 0") {
  // A 0-d tensor broadcast to [B, 1, 1]: both strides 0, which cuBLAS would reject as lda 0.
  Generator gen(33);
  const Tensor<float> s = Tensor<float>::scalar(1.5f);
  const Tensor<float> b = Tensor<float>::randn({4, 1, 5}, gen);
  const Tensor<float> want = matmul(s.expand({4, 1, 1}), b);
  const Tensor<float> got = matmul(s.to(kGpu).expand({4, 1, 1}), b.to(kGpu));
  CHECK(rel_error(got, want) <= tolerance<float>());
  const Tensor<float> one = matmul(s.expand({1, 1}), Tensor<float>::scalar(2.0f).expand({1, 1}));
  CHECK(matmul(s.to(kGpu).expand({1, 1}), Tensor<float>::scalar(2.0f).to(kGpu).expand({1, 1}))
            .to(Device::cpu())
            .item() == one.item());
}

TEST_CASE("cuda runtime: sums split over blocks and layer_norm's parameter gradients are "
          "bitwise reproducible and accumulate in double") {
  Generator gen(34);
  // One long row (split over many blocks) and a tall [rows, 768] column sum (split over
  // row chunks): the same bits twice, and within float32 rounding of the CPU's double sum.
  const Tensor<float> row = Tensor<float>::randn({1, 1 << 24}, gen);
  const Tensor<float> tall = Tensor<float>::randn({8192, 768}, gen);
  for (const auto& [x, dim] : {std::pair{row, int64_t(1)}, std::pair{tall, int64_t(0)}}) {
    const Tensor<float> xg = x.to(kGpu);
    const Tensor<float> first = sum(xg, {dim}), second = sum(xg, {dim});
    CHECK(bytes_of(first) == bytes_of(second));
    CHECK(rel_error(first, sum(x, {dim})) <= 1e-6);
  }
  // layer_norm over [4096, 768]: gw and gb sum 4096 rows each.
  const Tensor<float> x = Tensor<float>::randn({4096, 768}, gen);
  const Tensor<float> w = Tensor<float>::randn({768}, gen), b = Tensor<float>::randn({768}, gen);
  const Tensor<float> g = Tensor<float>::randn({4096, 768}, gen);
  std::vector<std::vector<unsigned char>> runs;
  for (int run = 0; run < 2; ++run) {
    Tensor<float> wg = w.to(kGpu).requires_grad_(), bg = b.to(kGpu).requires_grad_();
    layer_norm(x.to(kGpu), {768}, wg, bg).backward(g.to(kGpu));
    std::vector<unsigned char> both = bytes_of(wg.grad());
    const std::vector<unsigned char> gb = bytes_of(bg.grad());
    both.insert(both.end(), gb.begin(), gb.end());
    runs.push_back(both);
  }
  CHECK(runs[0] == runs[1]);
}
