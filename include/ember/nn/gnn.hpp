// Graph neural network layers with PyTorch Geometric's conventions and formulas: GCNConv,
// GATConv, SAGEConv, RGCNConv.
//
// Graphs are given as edge_index [2, E] (int64): row 0 holds the source j, row 1 the target i
// of each edge, and messages flow source -> target (PyG's flow="source_to_target"). Each
// layer turns the edge list into a CSR aggregation matrix M with rows = targets and
// cols = sources (M[i, j] = weight of the edges j -> i, duplicates summed), so aggregating
// messages is one spmm(M, features) (ops/sparse.hpp), whose backward uses Mᵀ cached in M.
//
// Duplicate edges: PyG sends one message per edge. Sums (GCN) are linear, so summing duplicate
// weights into one entry is exact; means (SAGE, RGCN) divide by the edge count, which the
// summed counts reproduce; GAT's softmax over m copies of an edge equals the softmax of its
// score + log(m), which is what GATConv adds (exact without dropout; with dropout PyG drops
// each copy on its own, here the merged entry is dropped as one).
//
// Layers are templated on the element type (float for training, double for exact checks);
// parameters are initialised as PyG does (glorot for GCN/GAT/RGCN weights, kaiming-uniform
// torch.nn.Linear init for SAGE's linear layers, zero biases), from the given Generator.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/dropout.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/sparse.hpp>
#include <ember/ops/unary.hpp>
#include <ember/sparse/csr.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ember::nn {

namespace gnn_detail {

// Checks edge_index [2, E] against num_nodes; returns (source, target) as contiguous [E].
inline std::pair<Tensor<int64_t>, Tensor<int64_t>> split_edges(const Tensor<int64_t>& edge_index,
                                                               int64_t num_nodes, const char* op) {
  EMBER_CHECK(edge_index.defined() && edge_index.dim() == 2 && edge_index.size(0) == 2, op,
              ": expected edge_index of shape [2, E], got ",
              edge_index.defined() ? shape_str(edge_index.shape()) : std::string("undefined"));
  ember::detail::check_index_bounds(edge_index, num_nodes, op, 1, {num_nodes});
  return {edge_index.select(0, 0).contiguous(), edge_index.select(0, 1).contiguous()};
}

// PyG's glorot: U(-a, a) with a = sqrt(6 / (size(-2) + size(-1))).
template <class T>
void glorot_(Tensor<T> t, Generator& gen) {
  const double a = std::sqrt(6.0 / double(t.size(-2) + t.size(-1)));
  init::uniform_(t, -a, a, gen);
}

// Edges (src, dst, weight) with PyG's self-loop handling:
//   remove: every self loop is dropped;
//   add_remaining (GCN): self loops are dropped and one per node added back, weighted by the
//     node's last existing self loop or by fill (1);
//   add (GAT): self loops are dropped and one per node added with weight fill.
// Weights stay differentiable (gathered and concatenated).
enum class Loops { Keep, Remove, AddRemaining, Add };

template <class T>
struct EdgeList {
  Tensor<int64_t> src, dst;
  Tensor<T> weight;  // undefined: all ones
};

template <class T>
EdgeList<T> handle_self_loops(const Tensor<int64_t>& src, const Tensor<int64_t>& dst,
                              const Tensor<T>& weight, int64_t n, Loops mode) {
  if (mode == Loops::Keep) return {src, dst, weight};
  const int64_t e = src.numel();
  const int64_t* s = src.data_ptr();
  const int64_t* d = dst.data_ptr();
  std::vector<int64_t> keep, last_loop(size_t(n), -1);
  for (int64_t k = 0; k < e; ++k) {
    if (s[k] != d[k])
      keep.push_back(k);
    else
      last_loop[size_t(s[k])] = k;
  }
  const Tensor<int64_t> kept = Tensor<int64_t>::from_vector(keep, {int64_t(keep.size())});
  Tensor<int64_t> ns = index_select(src, 0, kept), nd = index_select(dst, 0, kept);
  Tensor<T> nw = weight.defined() ? index_select(weight, 0, kept) : Tensor<T>();
  if (mode == Loops::Remove) return {ns, nd, nw};
  const Tensor<int64_t> nodes = Tensor<int64_t>::arange(0, n);
  ns = cat(std::vector<Tensor<int64_t>>{ns, nodes});
  nd = cat(std::vector<Tensor<int64_t>>{nd, nodes});
  if (weight.defined()) {
    Tensor<T> loop_w = Tensor<T>::ones({n});
    if (mode == Loops::AddRemaining) {
      std::vector<int64_t> which, at;
      for (int64_t i = 0; i < n; ++i)
        if (last_loop[size_t(i)] >= 0) {
          which.push_back(i);
          at.push_back(last_loop[size_t(i)]);
          loop_w.data_ptr()[i] = T(0);
        }
      if (!which.empty())
        loop_w = index_add(
            loop_w, 0, Tensor<int64_t>::from_vector(which, {int64_t(which.size())}),
            index_select(weight, 0, Tensor<int64_t>::from_vector(at, {int64_t(at.size())})));
    }
    nw = cat(std::vector<Tensor<T>>{nw, loop_w});
  }
  return {ns, nd, nw};
}

// The aggregation matrix M[target, source] (duplicates summed; ones when weight is undefined).
template <class T>
sparse::CsrMatrix<T> aggregation_matrix(const EdgeList<T>& e, int64_t n) {
  return sparse::CsrMatrix<T>::from_coo(n, n, e.dst, e.src, e.weight);
}

// D^-1/2 M D^-1/2 with D = row sums of M (in-degree of each target); rows with zero degree
// get 0 (PyG: deg^-1/2 = inf is replaced by 0).
template <class T>
sparse::CsrMatrix<T> sym_normalize(const sparse::CsrMatrix<T>& m) {
  const Tensor<T> deg = segment_sum(m.values(), m.pattern()->row_ptr64());
  Tensor<T> fix = Tensor<T>::zeros({m.rows()}), keep = Tensor<T>::ones({m.rows()});
  for (int64_t i = 0; i < m.rows(); ++i)
    if (deg.data_ptr()[i] == T(0)) {
      fix.data_ptr()[i] = T(1);
      keep.data_ptr()[i] = T(0);
    }
  const Tensor<T> dinv = mul(rsqrt(add(deg, fix)), keep);
  const Tensor<int64_t> cols = m.col_idx().template to<int64_t>();
  return m.with_values(
      mul(mul(index_select(dinv, 0, cols), m.values()), index_select(dinv, 0, m.row_indices())));
}

// A child module holding a PyG Linear's tensors, so state_dict keys read as PyG's
// ("lin.weight", "lin_l.bias", ...) and checkpoints map one to one.
template <class T>
class LinearParams : public Module {
 public:
  Tensor<T> weight;  // [out, in]
  Tensor<T> bias;    // [out]; undefined without bias

  LinearParams(int64_t in, int64_t out, bool with_bias) {
    weight = register_parameter("weight", Tensor<T>::empty({out, in}));
    if (with_bias) bias = register_parameter("bias", Tensor<T>::zeros({out}));
  }
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override {
    return std::to_string(weight.size(1)) + ", " + std::to_string(weight.size(0)) +
           ", bias=" + (bias.defined() ? "true" : "false");
  }
};

}  // namespace gnn_detail

// ---------------------------------------------------------------------- GCNConv

struct GCNConvOptions {
  bool bias = true;
  bool normalize = true;       // D^-1/2 (A [+ I]) D^-1/2; false: plain weighted sum
  bool add_self_loops = true;  // PyG's add_remaining_self_loops (only with normalize)
  bool cached = false;         // keep the normalised matrix of the first call
};

// Kipf & Welling: out_i = sum_{j -> i, and i itself} w_ji / sqrt(d_i d_j) (x_j Wᵀ) + b with
// d_i = sum of the weights into i (self loop included). PyG's GCNConv.
template <class T = float>
class GCNConv : public Module {
 public:
  Tensor<T> weight;  // [out, in] (state_dict "lin.weight", as PyG)
  Tensor<T> bias;    // [out]; undefined without bias

  GCNConv(int64_t in_channels, int64_t out_channels, GCNConvOptions options = {},
          Generator& gen = default_generator())
      : in_(in_channels), out_(out_channels), options_(options) {
    EMBER_CHECK(in_channels > 0 && out_channels > 0, "GCNConv: expected positive sizes, got ",
                in_channels, ", ", out_channels);
    if (options.bias) bias = register_parameter("bias", Tensor<T>::zeros({out_channels}));
    weight = register_module("lin", std::make_shared<gnn_detail::LinearParams<T>>(
                                        in_channels, out_channels, false))
                 ->weight;
    gnn_detail::glorot_(weight, gen);
  }

  // The propagation matrix (rows = targets) for this layer's options.
  sparse::CsrMatrix<T> propagation_matrix(int64_t num_nodes, const Tensor<int64_t>& edge_index,
                                          const Tensor<T>& edge_weight = Tensor<T>()) const {
    auto [src, dst] = gnn_detail::split_edges(edge_index, num_nodes, "GCNConv");
    if (edge_weight.defined())
      EMBER_CHECK(edge_weight.dim() == 1 && edge_weight.numel() == src.numel(),
                  "GCNConv: expected edge_weight of shape [", src.numel(), "], got ",
                  shape_str(edge_weight.shape()));
    const auto mode = options_.normalize && options_.add_self_loops
                          ? gnn_detail::Loops::AddRemaining
                          : gnn_detail::Loops::Keep;
    Tensor<T> w = edge_weight;
    if (!w.defined() && mode == gnn_detail::Loops::AddRemaining) w = Tensor<T>::ones({src.numel()});
    const auto edges = gnn_detail::handle_self_loops(src, dst, w, num_nodes, mode);
    auto m = gnn_detail::aggregation_matrix(edges, num_nodes);
    return options_.normalize ? gnn_detail::sym_normalize(m) : m;
  }

  // x [N, in] -> [N, out].
  Tensor<T> forward(const Tensor<T>& x, const Tensor<int64_t>& edge_index,
                    const Tensor<T>& edge_weight = Tensor<T>()) {
    EMBER_CHECK(x.dim() == 2 && x.size(1) == in_, "GCNConv(", in_, ", ", out_,
                "): expected x of shape [N, ", in_, "], got ", shape_str(x.shape()));
    sparse::CsrMatrix<T> a;
    if (options_.cached && cache_.defined() && cache_.rows() == x.size(0)) {
      a = cache_;
    } else {
      a = propagation_matrix(x.size(0), edge_index, edge_weight);
      if (options_.cached) cache_ = a;
    }
    Tensor<T> out = spmm(a, matmul(x, weight.t()));
    return bias.defined() ? add(out, bias) : out;
  }

  std::string name() const override { return "GCNConv"; }
  std::string extra_repr() const override {
    return std::to_string(in_) + ", " + std::to_string(out_);
  }

 private:
  int64_t in_, out_;
  GCNConvOptions options_;
  sparse::CsrMatrix<T> cache_;
};

// ---------------------------------------------------------------------- GATConv

struct GATConvOptions {
  bool concat = true;           // [N, H*C]; false: mean over heads, [N, C]
  double negative_slope = 0.2;  // of the LeakyReLU on attention scores
  double dropout = 0.0;         // on the attention coefficients, in training mode
  bool add_self_loops = true;   // remove existing self loops, then add one per node
  bool bias = true;
};

// `gen` draws the initial parameters and, in training mode with dropout > 0, the attention
// dropout masks: it must outlive the layer (the default generator does).
//
// Veličković et al.: per head h, e_ij = LeakyReLU(a_srcᵀ W x_j + a_dstᵀ W x_i),
// alpha_ij = softmax over the incoming edges j of i, out_i = sum_j alpha_ij W x_j. PyG's
// GATConv (heads concatenated or averaged, bias after).
template <class T = float>
class GATConv : public Module {
 public:
  Tensor<T> weight;   // [H*C, in] (state_dict "lin.weight", as PyG >= 2.4)
  Tensor<T> att_src;  // [1, H, C]
  Tensor<T> att_dst;  // [1, H, C]
  Tensor<T> bias;     // [H*C] with concat, else [C]

  GATConv(int64_t in_channels, int64_t out_channels, int64_t heads = 1, GATConvOptions options = {},
          Generator& gen = default_generator())
      : in_(in_channels), out_(out_channels), heads_(heads), options_(options), gen_(&gen) {
    EMBER_CHECK(in_channels > 0 && out_channels > 0 && heads > 0,
                "GATConv: expected positive sizes, got in=", in_channels, ", out=", out_channels,
                ", heads=", heads);
    EMBER_CHECK(options.dropout >= 0 && options.dropout <= 1,
                "GATConv: dropout must be in [0, 1], got ", options.dropout);
    weight = register_module("lin", std::make_shared<gnn_detail::LinearParams<T>>(
                                        in_channels, heads * out_channels, false))
                 ->weight;
    gnn_detail::glorot_(weight, gen);
    att_src = register_parameter("att_src", Tensor<T>::empty({1, heads, out_channels}));
    gnn_detail::glorot_(att_src, gen);
    att_dst = register_parameter("att_dst", Tensor<T>::empty({1, heads, out_channels}));
    gnn_detail::glorot_(att_dst, gen);
    if (options.bias)
      bias = register_parameter(
          "bias", Tensor<T>::zeros({options.concat ? heads * out_channels : out_channels}));
  }

  // x [N, in] -> [N, H*C] (concat) or [N, C].
  Tensor<T> forward(const Tensor<T>& x, const Tensor<int64_t>& edge_index) {
    EMBER_CHECK(x.dim() == 2 && x.size(1) == in_, "GATConv(", in_, ", ", out_, ", heads=", heads_,
                "): expected x of shape [N, ", in_, "], got ", shape_str(x.shape()));
    const int64_t n = x.size(0), H = heads_, C = out_;
    auto [src, dst] = gnn_detail::split_edges(edge_index, n, "GATConv");
    const auto edges = gnn_detail::handle_self_loops(
        src, dst, Tensor<T>(), n,
        options_.add_self_loops ? gnn_detail::Loops::Add : gnn_detail::Loops::Keep);
    const auto m = gnn_detail::aggregation_matrix(edges, n);  // values: edge multiplicities
    const Tensor<T> h = matmul(x, weight.t()).view({n, H, C});
    const Tensor<T> a_src = sum(mul(h, att_src), {-1});  // [N, H]
    const Tensor<T> a_dst = sum(mul(h, att_dst), {-1});
    const Tensor<int64_t> cols = m.col_idx();
    Tensor<T> score = add(index_select(a_src, 0, cols), index_select(a_dst, 0, m.row_indices()));
    score = leaky_relu(score, options_.negative_slope);
    const T* mult = m.values().data_ptr();
    bool dup = false;
    for (int64_t k = 0; k < m.nnz() && !dup; ++k) dup = mult[k] != T(1);
    if (dup) score = add(score, log(m.values()).view({m.nnz(), 1}));
    Tensor<T> alpha = edge_softmax(m, score);  // [nnz, H]
    alpha = dropout(alpha, options_.dropout, is_training(), *gen_);
    Tensor<T> out = spmm(m.with_values(alpha), h);  // [N, H, C]
    out = options_.concat ? out.reshape({n, H * C}) : mean(out, {1});
    return bias.defined() ? add(out, bias) : out;
  }

  std::string name() const override { return "GATConv"; }
  std::string extra_repr() const override {
    return std::to_string(in_) + ", " + std::to_string(out_) + ", heads=" + std::to_string(heads_);
  }

 private:
  int64_t in_, out_, heads_;
  GATConvOptions options_;
  Generator* gen_;
};

// ---------------------------------------------------------------------- SAGEConv

struct SAGEConvOptions {
  bool bias = true;         // of lin_l
  bool root_weight = true;  // add lin_r(x_i)
};

// Hamilton et al. with mean aggregation: out_i = W_l mean_{j -> i} x_j + b + W_r x_i. PyG's
// SAGEConv (lin_l has the bias, lin_r none).
template <class T = float>
class SAGEConv : public Module {
 public:
  // state_dict "lin_l.weight", "lin_l.bias", "lin_r.weight", as PyG.
  Tensor<T> lin_l_weight;  // [out, in]
  Tensor<T> lin_l_bias;    // [out]; undefined without bias
  Tensor<T> lin_r_weight;  // [out, in]; undefined without root_weight

  SAGEConv(int64_t in_channels, int64_t out_channels, SAGEConvOptions options = {},
           Generator& gen = default_generator())
      : in_(in_channels), out_(out_channels) {
    EMBER_CHECK(in_channels > 0 && out_channels > 0, "SAGEConv: expected positive sizes, got ",
                in_channels, ", ", out_channels);
    const double bound = 1.0 / std::sqrt(double(in_channels));  // torch.nn.Linear's init
    auto lin_l = register_module("lin_l", std::make_shared<gnn_detail::LinearParams<T>>(
                                              in_channels, out_channels, options.bias));
    lin_l_weight = lin_l->weight;
    init::uniform_(lin_l_weight, -bound, bound, gen);
    if (options.bias) {
      lin_l_bias = lin_l->bias;
      init::uniform_(lin_l_bias, -bound, bound, gen);
    }
    if (options.root_weight) {
      lin_r_weight = register_module("lin_r", std::make_shared<gnn_detail::LinearParams<T>>(
                                                  in_channels, out_channels, false))
                         ->weight;
      init::uniform_(lin_r_weight, -bound, bound, gen);
    }
  }

  Tensor<T> forward(const Tensor<T>& x, const Tensor<int64_t>& edge_index) {
    EMBER_CHECK(x.dim() == 2 && x.size(1) == in_, "SAGEConv(", in_, ", ", out_,
                "): expected x of shape [N, ", in_, "], got ", shape_str(x.shape()));
    const int64_t n = x.size(0);
    auto [src, dst] = gnn_detail::split_edges(edge_index, n, "SAGEConv");
    const auto m = gnn_detail::aggregation_matrix<T>({src, dst, Tensor<T>()}, n).row_normalize();
    Tensor<T> out = linear(spmm(m, x), lin_l_weight, lin_l_bias);
    return lin_r_weight.defined() ? add(out, linear(x, lin_r_weight)) : out;
  }

  std::string name() const override { return "SAGEConv"; }
  std::string extra_repr() const override {
    return std::to_string(in_) + ", " + std::to_string(out_) + ", aggr=mean";
  }

 private:
  int64_t in_, out_;
};

// ---------------------------------------------------------------------- RGCNConv

struct RGCNConvOptions {
  std::optional<int64_t> num_bases = std::nullopt;  // basis decomposition of the weights
  bool root_weight = true;
  bool bias = true;
  // Keep the per-relation mean-aggregation matrices of the first call and reuse them while the
  // node count matches, as GCNConv's `cached`: later calls do not read edge_index or
  // edge_type. For a fixed graph (full-batch training) this removes the per-forward host work
  // of sorting the edges by relation and building R CSR matrices.
  bool cached = false;
};

// Schlichtkrull et al.: out_i = x_i Θ_root + sum_r mean_{j ->_r i} x_j Θ_r + b, with
// Θ_r = sum_b comp[r, b] V_b under basis decomposition. PyG's RGCNConv (aggr="mean").
template <class T = float>
class RGCNConv : public Module {
 public:
  Tensor<T> weight;  // [R, in, out], or the bases [B, in, out]
  Tensor<T> comp;    // [R, B]; defined only with num_bases
  Tensor<T> root;    // [in, out]; undefined without root_weight
  Tensor<T> bias;    // [out]

  RGCNConv(int64_t in_channels, int64_t out_channels, int64_t num_relations,
           RGCNConvOptions options = {}, Generator& gen = default_generator())
      : in_(in_channels), out_(out_channels), relations_(num_relations), cached_(options.cached) {
    EMBER_CHECK(in_channels > 0 && out_channels > 0 && num_relations > 0,
                "RGCNConv: expected positive sizes, got in=", in_channels, ", out=", out_channels,
                ", num_relations=", num_relations);
    if (options.num_bases) {
      EMBER_CHECK(*options.num_bases > 0, "RGCNConv: num_bases must be positive, got ",
                  *options.num_bases);
      weight = register_parameter(
          "weight", Tensor<T>::empty({*options.num_bases, in_channels, out_channels}));
      comp = register_parameter("comp", Tensor<T>::empty({num_relations, *options.num_bases}));
    } else {
      weight = register_parameter("weight",
                                  Tensor<T>::empty({num_relations, in_channels, out_channels}));
    }
    gnn_detail::glorot_(weight, gen);
    if (comp.defined()) gnn_detail::glorot_(comp, gen);
    if (options.root_weight) {
      root = register_parameter("root", Tensor<T>::empty({in_channels, out_channels}));
      gnn_detail::glorot_(root, gen);
    }
    if (options.bias) bias = register_parameter("bias", Tensor<T>::zeros({out_channels}));
  }

  // The row-normalised aggregation matrix M_r[target, source] of every relation (M_r[i, j] =
  // number of j ->_r i edges / number of edges into i of relation r); a relation without edges
  // gets an undefined matrix. The edges are bucketed by relation in one counting-sort pass.
  std::vector<sparse::CsrMatrix<T>> relation_matrices(int64_t num_nodes,
                                                      const Tensor<int64_t>& edge_index,
                                                      const Tensor<int64_t>& edge_type) const {
    auto [src, dst] = gnn_detail::split_edges(edge_index, num_nodes, "RGCNConv");
    EMBER_CHECK(edge_type.defined() && edge_type.dim() == 1 && edge_type.numel() == src.numel(),
                "RGCNConv: expected edge_type of shape [", src.numel(), "], got ",
                edge_type.defined() ? shape_str(edge_type.shape()) : std::string("undefined"));
    ember::detail::check_index_bounds(edge_type, relations_, "RGCNConv (edge_type)", 0,
                                      {relations_});
    const Tensor<int64_t> types = edge_type.to(Device::cpu()).contiguous();
    const int64_t* t = types.data_ptr();
    const int64_t e = types.numel();
    std::vector<int64_t> start(size_t(relations_ + 1), 0), order(static_cast<size_t>(e));
    for (int64_t k = 0; k < e; ++k) ++start[size_t(t[k] + 1)];
    for (int64_t r = 0; r < relations_; ++r) start[size_t(r + 1)] += start[size_t(r)];
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t k = 0; k < e; ++k) order[size_t(next[size_t(t[k])]++)] = k;  // stable
    std::vector<sparse::CsrMatrix<T>> out(static_cast<size_t>(relations_));
    for (int64_t r = 0; r < relations_; ++r) {
      const int64_t begin = start[size_t(r)], count = start[size_t(r + 1)] - begin;
      if (count == 0) continue;
      const Tensor<int64_t> idx = Tensor<int64_t>::from_vector(
          std::vector<int64_t>(order.begin() + begin, order.begin() + begin + count), {count});
      out[size_t(r)] =
          gnn_detail::aggregation_matrix<T>(
              {index_select(src, 0, idx), index_select(dst, 0, idx), Tensor<T>()}, num_nodes)
              .row_normalize();
    }
    return out;
  }

  // x [N, in], edge_type [E] in [0, num_relations) -> [N, out].
  Tensor<T> forward(const Tensor<T>& x, const Tensor<int64_t>& edge_index,
                    const Tensor<int64_t>& edge_type) {
    EMBER_CHECK(x.dim() == 2 && x.size(1) == in_, "RGCNConv(", in_, ", ", out_,
                "): expected x of shape [N, ", in_, "], got ", shape_str(x.shape()));
    const int64_t n = x.size(0);
    std::vector<sparse::CsrMatrix<T>> built;
    if (!(cached_ && cache_nodes_ == n)) {
      built = relation_matrices(n, edge_index, edge_type);
      if (cached_) {
        cache_ = built;
        cache_nodes_ = n;
      }
    }
    const std::vector<sparse::CsrMatrix<T>>& mats = cached_ ? cache_ : built;
    Tensor<T> w = weight;
    if (comp.defined())
      w = matmul(comp, weight.reshape({weight.size(0), in_ * out_})).view({relations_, in_, out_});
    Tensor<T> out = root.defined() ? matmul(x, root) : Tensor<T>::zeros({n, out_});
    if (bias.defined()) out = add(out, bias);
    for (int64_t r = 0; r < relations_; ++r)
      if (mats[size_t(r)].defined())
        out = add(out, matmul(spmm(mats[size_t(r)], x), w.select(0, r)));
    return out;
  }

  std::string name() const override { return "RGCNConv"; }
  std::string extra_repr() const override {
    return std::to_string(in_) + ", " + std::to_string(out_) +
           ", num_relations=" + std::to_string(relations_);
  }

 private:
  int64_t in_, out_, relations_;
  bool cached_;
  int64_t cache_nodes_ = -1;  // node count the cache was built for; -1: none yet
  std::vector<sparse::CsrMatrix<T>> cache_;
};

}  // namespace ember::nn
