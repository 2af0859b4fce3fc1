// A simplex equiangular tight frame (ETF; Papyan, Han and Donoho's neural collapse, the fixed
// classifier of CeCo): K unit vectors in R^d whose pairwise cosines all equal -1/(K-1), the
// most separated configuration K points can take. With U [d, K] having orthonormal columns,
//   W = sqrt(K / (K - 1)) U (I - 11^T / K),   W^T W = K/(K-1) I - 1/(K-1) 11^T.
// U comes from the QR factorisation of a Gaussian matrix, so the frame is a random rotation of
// the canonical simplex (reproducible from the generator).
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/module.hpp>
#include <ember/numeric/matrix.hpp>
#include <ember/numeric/qr.hpp>
#include <ember/ops/linalg.hpp>
#include <string>

namespace ember::nn {

// The frame as a [dim, classes] matrix, one class vector per column.
template <class T = float>
Tensor<T> simplex_etf(int64_t dim, int64_t classes, Generator& gen = default_generator()) {
  EMBER_CHECK(
      classes >= 2 && dim >= classes, "simplex_etf: expected at least 2 classes and dim >= ",
      "classes (the frame spans K dimensions), got dim ", dim, " and ", classes, " classes");
  numeric::Matrix g(dim, classes);
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t j = 0; j < classes; ++j) g(i, j) = gen.normal();
  const numeric::Matrix u = numeric::qr(g).Q;  // [dim, classes], orthonormal columns
  const double k = double(classes), scale = std::sqrt(k / (k - 1.0));
  numeric::Matrix w(dim, classes);
  for (int64_t i = 0; i < dim; ++i) {
    double row_mean = 0;
    for (int64_t j = 0; j < classes; ++j) row_mean += u(i, j);
    row_mean /= k;
    // (U (I - 11^T/K))_ij = U_ij - mean_j U_ij
    for (int64_t j = 0; j < classes; ++j) w(i, j) = scale * (u(i, j) - row_mean);
  }
  return w.to_tensor<T>();
}

// A fixed (not learned) ETF classifier: logits = x W for features x [N, dim]. The frame is a
// buffer, saved with the model and moved with it, and never handed to an optimiser.
class EtfClassifier : public Module {
 public:
  Tensor<float> weight;  // [dim, classes]

  EtfClassifier(int64_t dim, int64_t classes, Generator& gen = default_generator())
      : dim_(dim), classes_(classes) {
    weight = register_buffer("weight", simplex_etf<float>(dim, classes, gen));
  }

  Tensor<float> forward(const Tensor<float>& x) {
    EMBER_CHECK(x.dim() == 2 && x.size(1) == dim_, "EtfClassifier(", dim_, ", ", classes_,
                "): expected features [N, ", dim_, "], got ", shape_str(x.shape()));
    return matmul(x, weight);
  }

  std::string name() const override { return "EtfClassifier"; }

 private:
  int64_t dim_, classes_;
};

}  // namespace ember::nn
