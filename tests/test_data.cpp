// TensorDataset, DataLoader (batching, shuffling determinism) and the Fashion-MNIST loader,
// on synthetic data and on the real files installed by tools/setup.sh.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/tensor.hpp"
#include "ember/data/dataloader.hpp"
#include "ember/data/dataset.hpp"
#include "ember/data/fashion_mnist.hpp"
#include "ember/data/idx.hpp"

namespace fs = std::filesystem;
using ember::Tensor;
using namespace ember::data;

namespace {

// n examples: input row i is [3 * i, 3 * i + 1, 3 * i + 2], target i is i, so every batch
// tells which examples it holds and whether inputs and targets stayed paired.
TensorDataset<> numbered(int64_t n) {
  std::vector<float> x(size_t(n * 3));
  std::iota(x.begin(), x.end(), 0.0f);
  std::vector<int64_t> y(static_cast<size_t>(n));
  std::iota(y.begin(), y.end(), int64_t{0});
  return TensorDataset<>(Tensor<float>::from_vector(x, {n, 3}),
                         Tensor<int64_t>::from_vector(y, {n}));
}

// The example order of one pass over the loader (one epoch), checking each batch's pairing.
std::vector<int64_t> one_epoch(DataLoader<>& loader) {
  std::vector<int64_t> order;
  for (const auto& batch : loader) {
    REQUIRE(batch.inputs.dim() == 2);
    REQUIRE(batch.inputs.size(0) == batch.targets.size(0));
    REQUIRE(batch.inputs.is_contiguous());
    for (int64_t i = 0; i < batch.targets.size(0); ++i) {
      const int64_t k = batch.targets.at({i});
      CHECK(batch.inputs.at({i, 0}) == float(3 * k));
      CHECK(batch.inputs.at({i, 2}) == float(3 * k + 2));
      order.push_back(k);
    }
  }
  return order;
}

std::vector<int64_t> iota_vec(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t{0});
  return v;
}

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path() /
           ("ember_test_data_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

IdxArray u8_idx(std::vector<int64_t> dims, std::vector<uint8_t> bytes) {
  IdxArray a;
  a.type_code = kIdxUInt8;
  a.dims = std::move(dims);
  a.bytes = std::move(bytes);
  return a;
}

// A fake Fashion-MNIST directory: n_images train images, n_labels train labels with
// `bad_label` as the last label, and a valid 2-example test split.
void write_fake_fashion(const fs::path& dir, int64_t n_images, int64_t n_labels,
                        uint8_t bad_label = 0) {
  const auto img = [](int64_t n) {
    return u8_idx({n, 28, 28}, std::vector<uint8_t>(size_t(n * 28 * 28), 255));
  };
  std::vector<uint8_t> labels(size_t(n_labels), 3);
  if (n_labels > 0) labels.back() = bad_label;
  write_idx((dir / "train-images-idx3-ubyte.gz").string(), img(n_images), true);
  write_idx((dir / "train-labels-idx1-ubyte.gz").string(), u8_idx({n_labels}, labels), true);
  write_idx((dir / "t10k-images-idx3-ubyte.gz").string(), img(2), true);
  write_idx((dir / "t10k-labels-idx1-ubyte.gz").string(), u8_idx({2}, {1, 2}), true);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ember::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("TensorDataset: size, contiguity, mismatched sizes") {
  TensorDataset<> ds = numbered(7);
  CHECK(ds.size() == 7);
  CHECK(TensorDataset<>().size() == 0);

  // A transposed (strided) input is stored contiguously, with the same values.
  ember::Generator gen(3);
  Tensor<float> xt = Tensor<float>::randn({3, 5}, gen).t();
  REQUIRE_FALSE(xt.is_contiguous());
  TensorDataset<> strided(xt, Tensor<int64_t>::zeros({5}));
  CHECK(strided.inputs().is_contiguous());
  CHECK(strided.inputs().to_vector() == xt.to_vector());

  // Inputs that require grad are detached: batches never carry a graph.
  Tensor<float> w = Tensor<float>::ones({4, 2});
  w.requires_grad_();
  CHECK_FALSE(TensorDataset<>(w, Tensor<int64_t>::zeros({4})).inputs().requires_grad());

  CHECK_THROWS_AS(TensorDataset<>(Tensor<float>::zeros({5, 3}), Tensor<int64_t>::zeros({4})),
                  ember::Error);
  const std::string msg = error_of([] {
    TensorDataset<>(Tensor<float>::zeros({5, 3}), Tensor<int64_t>::zeros({4}));
  });
  CHECK(msg.find("TensorDataset") != std::string::npos);
  CHECK(msg.find("[5, 3]") != std::string::npos);
  CHECK(msg.find("[4]") != std::string::npos);
  CHECK_THROWS_AS(TensorDataset<>(Tensor<float>::scalar(1), Tensor<int64_t>::zeros({1})),
                  ember::Error);
  CHECK_THROWS_AS(TensorDataset<>(Tensor<float>(), Tensor<int64_t>::zeros({1})), ember::Error);
}

TEST_CASE("DataLoader: batch sizes, last partial batch, drop_last") {
  TensorDataset<> ds = numbered(10);

  DataLoader<> loader(ds, {.batch_size = 4});
  CHECK(loader.size() == 3);
  std::vector<int64_t> sizes;
  for (const auto& b : loader) {
    sizes.push_back(b.inputs.size(0));
    CHECK(b.inputs.shape() == ember::Shape{b.inputs.size(0), 3});
    CHECK(b.targets.shape() == ember::Shape{b.inputs.size(0)});
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
  CHECK(one_epoch(loader) == iota_vec(10));  // no shuffle: the dataset's order, every epoch

  DataLoader<> dropping(ds, {.batch_size = 4, .drop_last = true});
  CHECK(dropping.size() == 2);
  CHECK(one_epoch(dropping) == iota_vec(8));

  // Exact multiple: drop_last changes nothing. Batch larger than the dataset: one batch.
  CHECK(DataLoader<>(ds, {.batch_size = 5, .drop_last = true}).size() == 2);
  CHECK(DataLoader<>(ds, {.batch_size = 5}).size() == 2);
  DataLoader<> big(ds, {.batch_size = 64});
  CHECK(big.size() == 1);
  CHECK(one_epoch(big) == iota_vec(10));
  CHECK(DataLoader<>(ds, {.batch_size = 64, .drop_last = true}).size() == 0);

  // Empty dataset: no batches.
  DataLoader<> empty(numbered(0), {.batch_size = 3});
  CHECK(empty.size() == 0);
  CHECK(one_epoch(empty).empty());

  CHECK_THROWS_AS(DataLoader<>(ds, {.batch_size = 0}), ember::Error);
  CHECK_THROWS_AS(DataLoader<>(ds, {.batch_size = -2}), ember::Error);
  CHECK(error_of([&] { DataLoader<>(ds, {.batch_size = 0}); }).find("batch_size") !=
        std::string::npos);
}

TEST_CASE("DataLoader: batches are gathered copies; images and regression targets") {
  // [N, 1, 2, 2] images with float [N, 2] targets: CTAD picks DataLoader<float, float>.
  ember::Generator gen(11);
  Tensor<float> x = Tensor<float>::randn({5, 1, 2, 2}, gen);
  Tensor<float> y = Tensor<float>::randn({5, 2}, gen);
  TensorDataset ds(x, y);
  DataLoader loader(ds, {.batch_size = 2, .shuffle = true, .seed = 4});
  static_assert(std::is_same_v<decltype(loader), DataLoader<float, float>>);
  const std::vector<int64_t> order = loader.indices(0);
  int64_t seen = 0;
  for (auto& b : loader) {
    const int64_t n = b.inputs.size(0);
    CHECK(b.inputs.shape() == ember::Shape{n, 1, 2, 2});
    CHECK(b.targets.shape() == ember::Shape{n, 2});
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = order[size_t(seen + i)];
      CHECK(b.inputs.at({i, 0, 1, 0}) == x.at({k, 0, 1, 0}));
      CHECK(b.targets.at({i, 1}) == y.at({k, 1}));
    }
    seen += n;
    b.inputs.fill_(-100.0f);  // a copy: the dataset is untouched
  }
  CHECK(seen == 5);
  CHECK(ds.inputs().to_vector() == x.to_vector());
  const std::vector<float> xs = x.to_vector();
  CHECK(*std::min_element(xs.begin(), xs.end()) > -100.0f);
}

TEST_CASE("DataLoader: shuffling is deterministic, differs by epoch, visits each index once") {
  const int64_t n = 103;
  TensorDataset<> ds = numbered(n);
  const DataLoaderOptions opts{.batch_size = 10, .shuffle = true, .seed = 42};

  DataLoader<> a(ds, opts), b(ds, opts);
  std::vector<int64_t> a0 = one_epoch(a), a1 = one_epoch(a), a2 = one_epoch(a);
  CHECK(a.epoch() == 3);
  // Same seed: the same sequence of epochs.
  CHECK(one_epoch(b) == a0);
  CHECK(one_epoch(b) == a1);
  // Every index exactly once per epoch.
  for (const auto& order : {a0, a1, a2}) {
    REQUIRE(order.size() == size_t(n));
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == iota_vec(n));
    CHECK(order != iota_vec(n));  // actually shuffled
  }
  // Epochs differ from each other.
  CHECK(a0 != a1);
  CHECK(a1 != a2);
  CHECK(a0 != a2);
  // The order is a function of (seed, epoch): indices() and set_epoch() replay it.
  CHECK(a.indices(0) == a0);
  CHECK(a.indices(2) == a2);
  a.set_epoch(1);
  CHECK(one_epoch(a) == a1);
  CHECK_THROWS_AS(a.set_epoch(-1), ember::Error);
  // Another seed: another order.
  DataLoader<> c(ds, {.batch_size = 10, .shuffle = true, .seed = 43});
  CHECK(one_epoch(c) != a0);
  // Shuffle with drop_last: 10 full batches of distinct indices.
  DataLoader<> d(ds, {.batch_size = 10, .shuffle = true, .drop_last = true, .seed = 42});
  std::vector<int64_t> d0 = one_epoch(d);
  CHECK(d0.size() == 100);
  CHECK(std::vector<int64_t>(a0.begin(), a0.begin() + 100) == d0);
  std::sort(d0.begin(), d0.end());
  CHECK(std::adjacent_find(d0.begin(), d0.end()) == d0.end());
}

TEST_CASE("fashion_mnist_class_name") {
  CHECK(std::string(fashion_mnist_class_name(0)) == "T-shirt/top");
  CHECK(std::string(fashion_mnist_class_name(7)) == "Sneaker");
  CHECK(std::string(fashion_mnist_class_name(9)) == "Ankle boot");
  CHECK_THROWS_AS(fashion_mnist_class_name(10), ember::Error);
  CHECK_THROWS_AS(fashion_mnist_class_name(-1), ember::Error);
}

TEST_CASE("load_fashion_mnist: the installed data (tools/setup.sh)") {
  // No skip when the data is missing: the loader's error (naming the path and
  // tools/setup.sh) fails this test.
  const FashionMnist fm = load_fashion_mnist(kFashionMnistDefaultDir, 500, -1);
  CHECK(fm.train.size() == 500);
  CHECK(fm.test.size() == 10000);
  CHECK(fm.train.inputs().shape() == ember::Shape{500, 1, 28, 28});
  CHECK(fm.test.inputs().shape() == ember::Shape{10000, 1, 28, 28});
  CHECK(fm.train.targets().shape() == ember::Shape{500});

  for (const TensorDataset<>* ds : {&fm.train, &fm.test}) {
    const std::vector<float> x = ds->inputs().to_vector();
    const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
    CHECK(*lo == 0.0f);
    CHECK(*hi == 1.0f);  // some pixel is 255 in any few hundred images
    for (int64_t y : ds->targets().to_vector()) REQUIRE((y >= 0 && y <= 9));
  }
  // The test split is balanced: 1000 images of each class.
  std::vector<int64_t> counts(10, 0);
  for (int64_t y : fm.test.targets().to_vector()) ++counts[size_t(y)];
  CHECK(counts == std::vector<int64_t>(10, 1000));

  // Pixels are the IDX bytes / 255, in order (image 499 of the train split).
  const IdxArray raw =
      read_idx(std::string(kFashionMnistDefaultDir) + "/train-images-idx3-ubyte.gz");
  const IdxArray raw_labels =
      read_idx(std::string(kFashionMnistDefaultDir) + "/train-labels-idx1-ubyte.gz");
  REQUIRE(raw.dims == std::vector<int64_t>{60000, 28, 28});
  for (int64_t r : {0, 13, 27})
    for (int64_t c : {0, 9, 14, 27})
      CHECK(fm.train.inputs().at({499, 0, r, c}) ==
            float(raw.bytes[size_t(499 * 784 + r * 28 + c)]) / 255.0f);
  CHECK(fm.train.targets().at({499}) == int64_t(raw_labels.bytes[499]));
}

TEST_CASE("load_fashion_mnist: missing files and inconsistent data give clear errors") {
  TempDir tmp;
  const std::string missing = error_of([&] { load_fashion_mnist(tmp.path.string(), 1, 1); });
  CHECK(missing.find(tmp.path.string()) != std::string::npos);
  CHECK(missing.find("train-images-idx3-ubyte.gz") != std::string::npos);
  CHECK(missing.find("tools/setup.sh") != std::string::npos);
  CHECK(missing.find("dataset-fashion-mnist") != std::string::npos);

  CHECK_THROWS_AS(load_fashion_mnist(kFashionMnistDefaultDir, -2, 1), ember::Error);

  // A valid fake directory loads; a limit above the split size keeps everything.
  write_fake_fashion(tmp.path, 3, 3);
  const FashionMnist fm = load_fashion_mnist(tmp.path.string(), 100, -1);
  CHECK(fm.train.size() == 3);
  CHECK(fm.test.size() == 2);
  CHECK(fm.test.targets().to_vector() == std::vector<int64_t>{1, 2});
  CHECK(fm.train.inputs().at({2, 0, 27, 27}) == 1.0f);
  CHECK(load_fashion_mnist(tmp.path.string(), 0, 0).train.size() == 0);

  // 3 images but 2 labels.
  write_fake_fashion(tmp.path, 3, 2);
  const std::string count = error_of([&] { load_fashion_mnist(tmp.path.string()); });
  CHECK(count.find("3 images") != std::string::npos);
  CHECK(count.find("2 labels") != std::string::npos);

  // A label outside 0..9.
  write_fake_fashion(tmp.path, 3, 3, 10);
  const std::string label = error_of([&] { load_fashion_mnist(tmp.path.string()); });
  CHECK(label.find("label 10") != std::string::npos);

  // Images of the wrong size.
  write_idx((tmp.path / "train-images-idx3-ubyte.gz").string(),
            u8_idx({3, 28, 27}, std::vector<uint8_t>(3 * 28 * 27)), true);
  const std::string dims = error_of([&] { load_fashion_mnist(tmp.path.string()); });
  CHECK(dims.find("[3, 28, 27]") != std::string::npos);
  CHECK(dims.find("[N, 28, 28]") != std::string::npos);
}
