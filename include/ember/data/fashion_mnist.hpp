// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28x28 grayscale images of clothing in 10
// classes, 60000 for training and 10000 for testing, stored as four gzipped IDX files.
// tools/setup.sh installs them (Debian package dataset-fashion-mnist) under
// /usr/share/datasets/fashion-mnist.
//
// Images come as float [N, 1, 28, 28] scaled to [0, 1] (the NCHW layout a conv net wants; an
// MLP flattens them), labels as int64 [N] in 0..9.
//
// Needs zlib: link with -lz.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/core/tensor.hpp>
#include <ember/data/dataset.hpp>
#include <ember/data/idx.hpp>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

namespace ember::data {

inline constexpr int64_t kFashionMnistClasses = 10;
inline constexpr int64_t kFashionMnistSide = 28;
inline constexpr const char* kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";

struct FashionMnist {
  TensorDataset<> train, test;
};

// The name of class `label` (0 "T-shirt/top" ... 9 "Ankle boot").
inline const char* fashion_mnist_class_name(int64_t label) {
  static constexpr const char* kNames[kFashionMnistClasses] = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  EMBER_CHECK(label >= 0 && label < kFashionMnistClasses, "fashion_mnist_class_name: label ", label,
              " out of range; expected 0..", kFashionMnistClasses - 1);
  return kNames[label];
}

namespace detail {

// `dir`/`name`.gz, or the uncompressed `dir`/`name` when only that exists. A missing file
// is the one error a new user will surely meet, so it says how to install the data.
inline std::string fashion_mnist_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path gz = fs::path(dir) / (name + ".gz"), plain = fs::path(dir) / name;
  if (fs::is_regular_file(gz, ec)) return gz.string();
  if (fs::is_regular_file(plain, ec)) return plain.string();
  fail("load_fashion_mnist: cannot find '", gz.string(), "' (nor the uncompressed '",
       plain.string(), "'); Fashion-MNIST is not installed in '", dir,
       "': run tools/setup.sh (it installs the Debian package dataset-fashion-mnist into ",
       kFashionMnistDefaultDir, ") or pass the directory that holds the four IDX files");
}

// One split: images [N, 1, 28, 28] in [0, 1] and labels [N], the first `limit` (or all when
// limit < 0) examples.
inline TensorDataset<> load_fashion_mnist_split(const std::string& dir, const std::string& split,
                                                int64_t limit) {
  const std::string images_path = fashion_mnist_file(dir, split + "-images-idx3-ubyte");
  const std::string labels_path = fashion_mnist_file(dir, split + "-labels-idx1-ubyte");
  const IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);

  EMBER_CHECK(images.type_code == kIdxUInt8 && images.dims.size() == 3 &&
                  images.dims[1] == kFashionMnistSide && images.dims[2] == kFashionMnistSide,
              "load_fashion_mnist: '", images_path, "' holds ", idx_type_name(images.type_code),
              " with dims ", shape_str(images.dims), "; expected uint8 [N, 28, 28]");
  EMBER_CHECK(labels.type_code == kIdxUInt8 && labels.dims.size() == 1, "load_fashion_mnist: '",
              labels_path, "' holds ", idx_type_name(labels.type_code), " with dims ",
              shape_str(labels.dims), "; expected uint8 [N]");
  EMBER_CHECK(images.dims[0] == labels.dims[0], "load_fashion_mnist: ", split, " split has ",
              images.dims[0], " images ('", images_path, "') but ", labels.dims[0], " labels ('",
              labels_path, "'); expected the same number");

  const int64_t n = limit < 0 ? images.dims[0] : std::min(limit, images.dims[0]);
  constexpr int64_t pixels = kFashionMnistSide * kFashionMnistSide;
  Tensor<float> x = Tensor<float>::empty({n, 1, kFashionMnistSide, kFashionMnistSide});
  Tensor<int64_t> y = Tensor<int64_t>::empty({n});
  float* xp = x.data_ptr();
  int64_t* yp = y.data_ptr();
  for (int64_t i = 0; i < n * pixels; ++i) xp[i] = float(images.bytes[size_t(i)]) / 255.0f;
  for (int64_t i = 0; i < n; ++i) {
    yp[i] = labels.bytes[size_t(i)];
    EMBER_CHECK(yp[i] < kFashionMnistClasses, "load_fashion_mnist: label ", yp[i], " of example ",
                i, " in '", labels_path, "' is out of range; expected 0..",
                kFashionMnistClasses - 1);
  }
  return TensorDataset<>(std::move(x), std::move(y));
}

}  // namespace detail

// Loads both splits from `dir`. limit_train / limit_test keep only the first that many
// examples of each split (-1: all; a limit above the split's size keeps all).
inline FashionMnist load_fashion_mnist(const std::string& dir = kFashionMnistDefaultDir,
                                       int64_t limit_train = -1, int64_t limit_test = -1) {
  EMBER_CHECK(limit_train >= -1 && limit_test >= -1,
              "load_fashion_mnist: limits must be -1 "
              "(all) or non-negative, got limit_train ",
              limit_train, " and limit_test ", limit_test);
  return FashionMnist{detail::load_fashion_mnist_split(dir, "train", limit_train),
                      detail::load_fashion_mnist_split(dir, "t10k", limit_test)};
}

}  // namespace ember::data
