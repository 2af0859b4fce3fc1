// TensorDataset: examples held as two tensors whose first dimension indexes the example, like
// torch.utils.data.TensorDataset with exactly one input and one target tensor.
//
// TensorDataset<> (float inputs, int64 class labels) serves classification;
// TensorDataset<float, float> serves regression. Class template argument deduction picks the
// types from the tensors: `data::TensorDataset ds(x, y);`.
//
// The dataset holds detached, contiguous handles to its tensors (data is copied only when a
// tensor is strided), so a DataLoader can gather rows with memcpy and no batch carries the
// graph of whatever produced the data.
#pragma once

#include <cstdint>
#include <cstring>
#include <ember/core/tensor.hpp>
#include <vector>

namespace ember::data {

template <class X = float, class Y = int64_t>
class TensorDataset {
 public:
  using input_type = X;
  using target_type = Y;

  TensorDataset() = default;
  TensorDataset(Tensor<X> inputs, Tensor<Y> targets) {
    EMBER_CHECK(inputs.defined() && targets.defined(),
                "TensorDataset: inputs and targets must be defined tensors");
    check_cpu(inputs.device(), "TensorDataset");
    check_cpu(targets.device(), "TensorDataset");
    EMBER_CHECK(inputs.dim() >= 1 && targets.dim() >= 1,
                "TensorDataset: inputs and targets need a first (example) dimension, got inputs ",
                shape_str(inputs.shape()), " and targets ", shape_str(targets.shape()));
    EMBER_CHECK(inputs.size(0) == targets.size(0),
                "TensorDataset: inputs and targets must hold the same number of examples "
                "(first dimension), got inputs ",
                shape_str(inputs.shape()), " and targets ", shape_str(targets.shape()));
    // Under NoGradGuard: contiguous() of a strided tensor must not record a graph.
    NoGradGuard no_grad;
    inputs_ = inputs.detach().contiguous();
    targets_ = targets.detach().contiguous();
  }

  // Number of examples.
  int64_t size() const { return inputs_.defined() ? inputs_.size(0) : 0; }
  const Tensor<X>& inputs() const { return inputs_; }
  const Tensor<Y>& targets() const { return targets_; }

 private:
  Tensor<X> inputs_;
  Tensor<Y> targets_;
};

namespace detail {

// Rows `indices` of the contiguous tensor `src` (first dimension), as a fresh contiguous tensor
// of shape [indices.size(), src.shape()[1:]...].
template <class T>
Tensor<T> gather_rows(const Tensor<T>& src, const int64_t* indices, int64_t count) {
  Shape shape = src.shape();
  const int64_t n = shape[0];
  shape[0] = count;
  Tensor<T> out = Tensor<T>::empty(shape);
  const int64_t row = n == 0 ? 0 : src.numel() / n;
  const T* from = src.data_ptr();
  T* to = out.data_ptr();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = indices[i];
    EMBER_CHECK(k >= 0 && k < n, "gather_rows: index ", k, " out of range for ", n,
                " examples (shape ", shape_str(src.shape()), ")");
    std::memcpy(to + i * row, from + k * row, size_t(row) * sizeof(T));
  }
  return out;
}

}  // namespace detail

}  // namespace ember::data
