// Embedding: a lookup table of num_embeddings rows of embedding_dim values.
//
// Forward selects rows (index_select of the flattened indices). Gradient contract: the
// weight's gradient is built by index_add of the output-gradient rows into zeros, one add per
// looked-up row (repeated indices accumulate), so its cost follows the number of lookups, not
// the table size beyond one zero fill; rows at padding_idx get no gradient (their output-
// gradient rows are zeroed first), as in PyTorch. The rule is written with differentiable
// ops (index_add, masked_fill), so create_graph works.
//
// Initialised as torch.nn.Embedding: N(0, 1), with the padding_idx row set to zero.
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/indexing.hpp>
#include <optional>
#include <string>

namespace ember::nn {

namespace functional {

// weight[indices] with shape indices.shape + [embedding_dim]; rows at padding_idx (if given,
// negative counts from the end) receive no gradient. Like torch.nn.functional.embedding.
template <class T>
Tensor<T> embedding(const Tensor<int64_t>& indices, const Tensor<T>& weight,
                    std::optional<int64_t> padding_idx = std::nullopt) {
  static_assert(std::is_floating_point_v<T>, "embedding: needs a float or double weight");
  // index_select / index_add below run on the weight's device, with the indices there too.
  EMBER_CHECK(indices.device() == weight.device(), "embedding: operands are on different devices (",
              indices.device().str(), " and ", weight.device().str(), ")");
  EMBER_CHECK(weight.dim() == 2,
              "embedding: weight must be 2-D [num_embeddings, embedding_dim], "
              "got shape ",
              shape_str(weight.shape()));
  const int64_t num = weight.size(0), D = weight.size(1);
  if (padding_idx) {
    EMBER_CHECK(*padding_idx >= -num && *padding_idx < num, "embedding: padding_idx ", *padding_idx,
                " out of range for ", num, " embeddings");
    if (*padding_idx < 0) *padding_idx += num;
  }
  const Tensor<int64_t> flat = indices.reshape({indices.numel()});
  Tensor<T> rows;
  {
    NoGradGuard no_grad;  // the lookup's gradient is the rule below, not index_select's
    rows = index_select(weight.detach(), 0, flat);
  }
  Shape out_shape = indices.shape();
  out_shape.push_back(D);
  Tensor<T> out = rows.view(out_shape);
  if (any_requires_grad(weight))
    record(out, "embedding", {weight}, [flat, num, D, padding_idx](const Tensor<T>& g) -> Grads {
      Tensor<T> g2 = g.reshape({flat.numel(), D});
      if (padding_idx) {
        // The padding mask is built on the host (eq has no int64 CUDA kernel).
        const Tensor<bool> pad = eq(flat.to(Device::cpu()), *padding_idx).to(flat.device());
        g2 = masked_fill(g2, pad.unsqueeze(1), T(0));
      }
      return {index_add(Tensor<T>::zeros({num, D}, g.device()), 0, flat, g2)};
    });
  return out;
}

}  // namespace functional

struct EmbeddingOptions {
  std::optional<int64_t> padding_idx = std::nullopt;
};

class Embedding : public Module {
 public:
  Tensor<float> weight;  // [num_embeddings, embedding_dim]

  Embedding(int64_t num_embeddings, int64_t embedding_dim, EmbeddingOptions options = {},
            Generator& gen = default_generator())
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
    EMBER_CHECK(num_embeddings > 0 && embedding_dim > 0,
                "Embedding: expected positive sizes, got num_embeddings=", num_embeddings,
                ", embedding_dim=", embedding_dim);
    if (options.padding_idx) {
      int64_t p = *options.padding_idx;
      EMBER_CHECK(p >= -num_embeddings && p < num_embeddings, "Embedding: padding_idx ", p,
                  " out of range for ", num_embeddings, " embeddings");
      padding_idx_ = p < 0 ? p + num_embeddings : p;
    }
    weight = register_parameter("weight", Tensor<float>::empty({num_embeddings, embedding_dim}));
    init::normal_(weight, 0.0, 1.0, gen);
    if (padding_idx_) {
      NoGradGuard no_grad;
      weight.select(0, *padding_idx_).zero_();
    }
  }
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen)
      : Embedding(num_embeddings, embedding_dim, EmbeddingOptions{}, gen) {}

  // indices of any shape -> indices.shape + [embedding_dim].
  Tensor<float> forward(const Tensor<int64_t>& indices) {
    return functional::embedding(indices, weight, padding_idx_);
  }
  Tensor<float> operator()(const Tensor<int64_t>& indices) { return forward(indices); }

  int64_t num_embeddings() const { return num_embeddings_; }
  int64_t embedding_dim() const { return embedding_dim_; }
  std::optional<int64_t> padding_idx() const { return padding_idx_; }
  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override {
    return std::to_string(num_embeddings_) + ", " + std::to_string(embedding_dim_) +
           (padding_idx_ ? ", padding_idx=" + std::to_string(*padding_idx_) : std::string());
  }

 private:
  int64_t num_embeddings_, embedding_dim_;
  std::optional<int64_t> padding_idx_;
};

}  // namespace ember::nn
