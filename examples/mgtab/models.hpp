// The arms of the MGTAB comparison. Every graph model has the official scripts' shape
// (MGTAB-GNN.py): input Linear + LeakyReLU, two graph layers, output Linear; here with a
// LeakyReLU after each graph layer and dropout before each, and each layer with its own
// weights (the official RGCN applies one layer twice; see the note's quirks).
//   - logistic regression: one Linear on the features;
//   - MLP: Linear + LeakyReLU + dropout + Linear (the note's 2-layer MLP);
//   - GCN / GAT / GraphSAGE on the union of the selected relations (GAT: 8 heads × hidden/8
//     then one head, as the official script). The merged graph is fixed, so its propagation
//     matrix is built once: GCNConv's `cached`; GATConv and SAGEConv have no such option, so
//     Net builds their matrices once (as the layers do) and applies the layers' own parameters
//     with the layers' formulas, checked against the layers' forward on the first call. Without
//     this, rebuilding the CSR of ~370k edges in every forward made GAT and SAGE 2-4x slower.
//   - RGCN on the selected relations, one weight per relation, mean aggregation, a root weight
//     (RGCNConv with `cached`: the per-relation matrices are built once).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/graph.hpp>
#include <ember/nn/gnn.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/dropout.hpp>
#include <memory>
#include <string>
#include <vector>

namespace mgtab {

using namespace ember;

enum class Arch { LogReg, Mlp, Gcn, Gat, Sage, Rgcn };

// One arm: a model and the relations it sees.
struct Arm {
  std::string key;    // metrics.json prefix: "rgcn7"
  std::string label;  // tables and figures: "RGCN (7 rel.)"
  Arch arch;
  std::vector<int64_t> relations;  // indices into relation_specs(); empty for feature-only
  bool feature_only() const { return arch == Arch::LogReg || arch == Arch::Mlp; }
  bool relation_aware() const { return arch == Arch::Rgcn; }
};

inline std::vector<Arm> default_arms() {
  const std::vector<int64_t> two{0, 1}, all{0, 1, 2, 3, 4, 5, 6};
  return {{"logreg", "LogReg", Arch::LogReg, {}},      {"mlp", "MLP", Arch::Mlp, {}},
          {"gcn2", "GCN (fo+fr)", Arch::Gcn, two},     {"gat2", "GAT (fo+fr)", Arch::Gat, two},
          {"sage2", "SAGE (fo+fr)", Arch::Sage, two},  {"gcn7", "GCN (7 merged)", Arch::Gcn, all},
          {"rgcn2", "RGCN (2 rel.)", Arch::Rgcn, two}, {"rgcn7", "RGCN (7 rel.)", Arch::Rgcn, all}};
}

// The graph input of an arm, built once per arm on the host and moved to the device.
struct GraphInput {
  Tensor<int64_t> edge_index;  // [2, E], both directions
  Tensor<int64_t> edge_type;   // [E] (RGCN only)
};

inline GraphInput graph_input(const Arm& arm, const std::vector<data::Graph>& relations,
                              const Device& device) {
  GraphInput g;
  if (arm.feature_only()) return g;
  if (arm.arch == Arch::Rgcn) {
    const data::RelationalEdges e = data::relational_edges(relations, arm.relations);
    g.edge_index = e.edge_index.to(device);
    g.edge_type = e.edge_type.to(device);
  } else {
    g.edge_index = data::to_edge_index(data::merge_relations(relations, arm.relations)).to(device);
  }
  return g;
}

class Net : public nn::Module {
 public:
  Net(const Arm& arm, int64_t in, int64_t hidden, int64_t classes, double dropout, uint64_t seed)
      : arch_(arm.arch), dropout_(dropout), dropout_gen_(seed ^ 0x5eedULL) {
    Generator gen(seed);
    const int64_t relations = int64_t(arm.relations.size());
    switch (arch_) {
      case Arch::LogReg:
        out_ = register_module("out", std::make_shared<nn::Linear>(in, classes, gen));
        return;
      case Arch::Mlp:
        in_ = register_module("in", std::make_shared<nn::Linear>(in, hidden, gen));
        out_ = register_module("out", std::make_shared<nn::Linear>(hidden, classes, gen));
        return;
      case Arch::Gcn:
        for (int l = 0; l < 2; ++l)
          gcn_[l] = register_module("conv" + std::to_string(l + 1),
                                    std::make_shared<nn::GCNConv<float>>(
                                        hidden, hidden, nn::GCNConvOptions{.cached = true}, gen));
        break;
      case Arch::Gat:
        EMBER_CHECK(hidden % 8 == 0,
                    "mgtab: GAT needs a hidden size divisible by its 8 heads, got ", hidden);
        gat_[0] = register_module("conv1", std::make_shared<nn::GATConv<float>>(
                                               hidden, hidden / 8, 8, nn::GATConvOptions{}, gen));
        gat_[1] = register_module("conv2", std::make_shared<nn::GATConv<float>>(
                                               hidden, hidden, 1, nn::GATConvOptions{}, gen));
        break;
      case Arch::Sage:
        for (int l = 0; l < 2; ++l)
          sage_[l] = register_module(
              "conv" + std::to_string(l + 1),
              std::make_shared<nn::SAGEConv<float>>(hidden, hidden, nn::SAGEConvOptions{}, gen));
        break;
      case Arch::Rgcn:
        for (int l = 0; l < 2; ++l)
          rgcn_[l] = register_module(
              "conv" + std::to_string(l + 1),
              std::make_shared<nn::RGCNConv<float>>(hidden, hidden, relations,
                                                    nn::RGCNConvOptions{.cached = true}, gen));
        break;
    }
    // Graph models: input and output layers around the two graph layers.
    in_ = register_module("in", std::make_shared<nn::Linear>(in, hidden, gen));
    out_ = register_module("out", std::make_shared<nn::Linear>(hidden, classes, gen));
  }

  // Logits [N, classes] of every node.
  Tensor<float> forward(const Tensor<float>& x, const GraphInput& g) {
    if (arch_ == Arch::LogReg) return out_->forward(x);
    Tensor<float> h = leaky_relu(in_->forward(x));
    if (arch_ == Arch::Mlp) return out_->forward(drop(h));
    if (!cache_built_) build_cache(h, g);
    for (int l = 0; l < 2; ++l) h = leaky_relu(conv(l, drop(h), g));
    return out_->forward(h);
  }

  std::string name() const override { return "MgtabNet"; }

 private:
  Tensor<float> drop(const Tensor<float>& h) {
    return ember::dropout(h, dropout_, is_training(), dropout_gen_);
  }
  // SAGEConv's forward with the row-normalised matrix built once.
  Tensor<float> sage_cached(int l, const Tensor<float>& h) const {
    const nn::SAGEConv<float>& c = *sage_[l];
    return add(linear(spmm(sage_m_, h), c.lin_l_weight, c.lin_l_bias), linear(h, c.lin_r_weight));
  }
  // GATConv's forward (no attention dropout, concat) with the self-looped matrix built once.
  Tensor<float> gat_cached(int l, const Tensor<float>& x) const {
    const nn::GATConv<float>& c = *gat_[l];
    const int64_t n = x.size(0), H = c.att_src.size(1), C = c.att_src.size(2);
    const Tensor<float> h = matmul(x, c.weight.t()).view({n, H, C});
    const Tensor<float> a_src = sum(mul(h, c.att_src), {-1}), a_dst = sum(mul(h, c.att_dst), {-1});
    Tensor<float> score =
        add(index_select(a_src, 0, gat_m_.col_idx()), index_select(a_dst, 0, gat_m_.row_indices()));
    score = leaky_relu(score, 0.2);
    if (gat_dup_) score = add(score, log(gat_m_.values()).view({gat_m_.nnz(), 1}));
    const Tensor<float> alpha = edge_softmax(gat_m_, score);
    return add(spmm(gat_m_.with_values(alpha), h).reshape({n, H * C}), c.bias);
  }
  // The matrices of the fixed graph, built as the layers build them, and a check that the
  // cached forward equals the layer's own on this input (so a change to the layers that this
  // copy misses fails loudly instead of training a different model).
  void build_cache(const Tensor<float>& h, const GraphInput& g) {
    cache_built_ = true;
    if (arch_ != Arch::Sage && arch_ != Arch::Gat) return;
    const int64_t n = h.size(0);
    auto [src, dst] = nn::gnn_detail::split_edges(g.edge_index, n, "mgtab::Net");
    Tensor<float> mine, theirs;
    NoGradGuard no_grad;
    if (arch_ == Arch::Sage) {
      sage_m_ =
          nn::gnn_detail::aggregation_matrix<float>({src, dst, Tensor<float>()}, n).row_normalize();
      mine = sage_cached(0, h);
      theirs = sage_[0]->forward(h, g.edge_index);
    } else {
      const auto edges = nn::gnn_detail::handle_self_loops(src, dst, Tensor<float>(), n,
                                                           nn::gnn_detail::Loops::Add);
      gat_m_ = nn::gnn_detail::aggregation_matrix(edges, n);
      const std::vector<float> mult = gat_m_.values().to(Device::cpu()).to_vector();
      gat_dup_ = std::any_of(mult.begin(), mult.end(), [](float v) { return v != 1.0f; });
      mine = gat_cached(0, h);
      theirs = gat_[0]->forward(h, g.edge_index);
    }
    const std::vector<float> a = mine.to(Device::cpu()).to_vector(),
                             b = theirs.to(Device::cpu()).to_vector();
    float worst = 0, scale = 1;
    for (size_t i = 0; i < a.size(); ++i) {
      worst = std::max(worst, std::abs(a[i] - b[i]));
      scale = std::max(scale, std::abs(b[i]));
    }
    EMBER_CHECK(a.size() == b.size() && worst <= 1e-4f * scale, "mgtab::Net: the cached ",
                arch_ == Arch::Sage ? "SAGEConv" : "GATConv",
                " forward differs from the layer's by ", worst, " (scale ", scale, ")");
  }

  Tensor<float> conv(int l, const Tensor<float>& h, const GraphInput& g) {
    switch (arch_) {
      case Arch::Gcn:
        return gcn_[l]->forward(h, g.edge_index);
      case Arch::Gat:
        return gat_cached(l, h);
      case Arch::Sage:
        return sage_cached(l, h);
      case Arch::Rgcn:
        return rgcn_[l]->forward(h, g.edge_index, g.edge_type);
      default:
        return h;
    }
  }

  Arch arch_;
  double dropout_;
  Generator dropout_gen_;
  std::shared_ptr<nn::Linear> in_, out_;
  std::shared_ptr<nn::GCNConv<float>> gcn_[2];
  std::shared_ptr<nn::GATConv<float>> gat_[2];
  std::shared_ptr<nn::SAGEConv<float>> sage_[2];
  std::shared_ptr<nn::RGCNConv<float>> rgcn_[2];
  bool cache_built_ = false, gat_dup_ = false;
  sparse::CsrMatrix<float> sage_m_, gat_m_;
};

}  // namespace mgtab
