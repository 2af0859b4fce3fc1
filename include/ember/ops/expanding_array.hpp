// ExpandingArray<N>: a per-spatial-dimension size (kernel, stride, padding, ...) that also
// accepts one number for every dimension, like PyTorch's `stride=2` vs `stride=(2, 1)`. It is
// what lets option structs be written `Conv2dOptions{.stride = 2, .padding = {1, 0}}`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include <ember/core/error.hpp>

namespace ember {

template <size_t N>
struct ExpandingArray {
  std::array<int64_t, N> values{};

  ExpandingArray() = default;
  // One value for every dimension (implicit on purpose: `.stride = 2`).
  ExpandingArray(int64_t v) { values.fill(v); }
  // One value per dimension: `.padding = {1, 0}`; a single value is repeated.
  ExpandingArray(std::initializer_list<int64_t> list) {
    EMBER_CHECK(list.size() == N || list.size() == 1, "ExpandingArray: expected 1 or ", N,
                " values, got ", list.size());
    if (list.size() == 1) {
      values.fill(*list.begin());
    } else {
      size_t i = 0;
      for (int64_t v : list) values[i++] = v;
    }
  }
  ExpandingArray(const std::array<int64_t, N>& a) : values(a) {}

  int64_t operator[](size_t i) const { return values[i]; }
  int64_t& operator[](size_t i) { return values[i]; }
  static constexpr size_t size() { return N; }
  const int64_t* begin() const { return values.data(); }
  const int64_t* end() const { return values.data() + N; }
  bool operator==(const ExpandingArray&) const = default;

  std::string str() const {
    std::string s = "(";
    for (size_t i = 0; i < N; ++i) s += (i ? ", " : "") + std::to_string(values[i]);
    return s + ")";
  }
};

}  // namespace ember
