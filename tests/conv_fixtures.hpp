// Reads the PyTorch golden values of tests/fixtures/conv/ (written by make_fixtures.py): a
// float64 blob and a JSON index of cases, each with options and named tensors.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <ember/core/tensor.hpp>
#include <ember/io/json.hpp>

#ifndef EMBER_SOURCE_DIR
#error "EMBER_SOURCE_DIR must name the source tree (the tests read tests/fixtures/)"
#endif

namespace conv_fixtures {

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EMBER_CHECK(f.good(), "conv fixtures: cannot open ", path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Store {
  ember::io::json::Value index;
  std::string blob;
  Store()
      : index(ember::io::json::parse(read_file(EMBER_SOURCE_DIR "/tests/fixtures/conv/index.json"))),
        blob(read_file(EMBER_SOURCE_DIR "/tests/fixtures/conv/fixtures.bin")) {}
};

inline const Store& store() {
  static const Store s;
  return s;
}

// One case: options (JSON) and tensors, converted to T.
struct Case {
  const ember::io::json::Value* entry;
  const ember::io::json::Value& options() const { return entry->at("options"); }
  std::vector<int64_t> ints(const char* key) const {
    std::vector<int64_t> v;
    for (const auto& e : options().at(key).as_array()) v.push_back(e.as_int64());
    return v;
  }
  bool has(const char* name) const { return entry->at("tensors").find(name) != nullptr; }
  template <class T>
  ember::Tensor<T> get(const char* name) const {
    const auto& t = entry->at("tensors").at(name);
    ember::Shape shape;
    for (const auto& e : t.at("shape").as_array()) shape.push_back(e.as_int64());
    const int64_t off = t.at("offset").as_int64();
    auto out = ember::Tensor<T>::empty(shape);
    const double* src = reinterpret_cast<const double*>(store().blob.data()) + off;
    for (int64_t i = 0; i < out.numel(); ++i) out.data_ptr()[i] = T(src[i]);
    return out;
  }
};

inline Case load(const char* name) { return Case{&store().index.at(name)}; }

// Largest |a - b| / (|b| + tiny) style check: every element within rtol * max|b| + atol.
template <class T>
std::string compare(const ember::Tensor<T>& got, const ember::Tensor<T>& want, double rtol) {
  if (!got.defined()) return "undefined result";
  if (got.shape() != want.shape())
    return "shape " + ember::shape_str(got.shape()) + " vs " + ember::shape_str(want.shape());
  const auto a = got.to_vector(), b = want.to_vector();
  double scale = 0;
  for (T v : b) scale = std::max(scale, std::abs(double(v)));
  for (size_t i = 0; i < a.size(); ++i) {
    const double tol = rtol * std::max(std::abs(double(b[i])), scale * 1e-2) + rtol * 1e-3;
    if (!(std::abs(double(a[i]) - double(b[i])) <= tol)) {
      std::ostringstream s;
      s << "element " << i << ": " << a[i] << " vs " << b[i];
      return s.str();
    }
  }
  return "";
}

}  // namespace conv_fixtures
