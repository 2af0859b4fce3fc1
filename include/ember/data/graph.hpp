// A plain host-side graph (an edge list over nodes 0..N-1) and the bookkeeping the graph
// examples need around it: edge_index tensors for the GNN layers (one relation, or several
// with an edge_type), the union of relations, edge homophily against node labels, connected
// components and the largest connected component re-indexed.
//
// Graph stores each edge once as (src[e], dst[e]). An undirected graph (directed = false)
// means the pair {src, dst}; to_edge_index turns it into both directions, which is what
// nn/gnn.hpp's layers expect for an undirected graph (messages flow src -> dst).
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace ember::data {

struct Graph {
  int64_t num_nodes = 0;
  std::vector<int64_t> src, dst;  // one entry per edge
  bool directed = false;

  int64_t num_edges() const { return int64_t(src.size()); }
  // Mean number of edge endpoints per node: 2E/N undirected, E/N (out-degree) directed.
  double mean_degree() const {
    if (num_nodes == 0) return 0.0;
    return double(directed ? num_edges() : 2 * num_edges()) / double(num_nodes);
  }
};

namespace graph_detail {

inline void check_graph(const Graph& g, const char* op) {
  EMBER_CHECK(g.num_nodes >= 0, op, ": num_nodes must be >= 0, got ", g.num_nodes);
  EMBER_CHECK(g.src.size() == g.dst.size(), op, ": src has ", g.src.size(), " entries but dst has ",
              g.dst.size());
  for (size_t e = 0; e < g.src.size(); ++e)
    EMBER_CHECK(g.src[e] >= 0 && g.src[e] < g.num_nodes && g.dst[e] >= 0 && g.dst[e] < g.num_nodes,
                op, ": edge ", e, " = (", g.src[e], ", ", g.dst[e],
                ") has an endpoint outside [0, ", g.num_nodes, ")");
}

}  // namespace graph_detail

// edge_index [2, E'] int64 on the host. An undirected graph gives both directions of every
// non-loop edge (E' = 2E minus the self loops, which appear once) when both_directions is true;
// a directed graph always gives its edges as stored.
inline Tensor<int64_t> to_edge_index(const Graph& g, bool both_directions = true) {
  graph_detail::check_graph(g, "to_edge_index");
  const bool twice = both_directions && !g.directed;
  std::vector<int64_t> s, d;
  s.reserve(g.src.size() * (twice ? 2 : 1));
  d.reserve(s.capacity());
  for (size_t e = 0; e < g.src.size(); ++e) {
    s.push_back(g.src[e]);
    d.push_back(g.dst[e]);
  }
  if (twice)
    for (size_t e = 0; e < g.src.size(); ++e)
      if (g.src[e] != g.dst[e]) {
        s.push_back(g.dst[e]);
        d.push_back(g.src[e]);
      }
  const int64_t e = int64_t(s.size());
  s.insert(s.end(), d.begin(), d.end());
  return Tensor<int64_t>::from_vector(s, {2, e});
}

// Several relations over one node set as one edge_index [2, E] with edge_type [E] (the i-th
// relation of `which` becomes type i), the input of nn::RGCNConv.
struct RelationalEdges {
  Tensor<int64_t> edge_index;  // [2, E]
  Tensor<int64_t> edge_type;   // [E], in [0, which.size())
};

inline RelationalEdges relational_edges(const std::vector<Graph>& relations,
                                        const std::vector<int64_t>& which,
                                        bool both_directions = true) {
  EMBER_CHECK(!which.empty(), "relational_edges: no relation selected");
  std::vector<int64_t> s, d, type;
  int64_t n = -1;
  for (size_t t = 0; t < which.size(); ++t) {
    const int64_t r = which[t];
    EMBER_CHECK(r >= 0 && r < int64_t(relations.size()), "relational_edges: relation ", r,
                " selected but there are ", relations.size());
    const Graph& g = relations[size_t(r)];
    EMBER_CHECK(n < 0 || g.num_nodes == n, "relational_edges: relation ", r, " has ", g.num_nodes,
                " nodes, the others ", n);
    n = g.num_nodes;
    const Tensor<int64_t> ei = to_edge_index(g, both_directions);
    const int64_t e = ei.size(1);
    const int64_t* p = ei.data_ptr();
    s.insert(s.end(), p, p + e);
    d.insert(d.end(), p + e, p + 2 * e);
    type.insert(type.end(), size_t(e), int64_t(t));
  }
  const int64_t e = int64_t(s.size());
  s.insert(s.end(), d.begin(), d.end());
  return {Tensor<int64_t>::from_vector(s, {2, e}), Tensor<int64_t>::from_vector(type, {e})};
}

// The union of the selected relations as one simple graph: duplicate edges (within or across
// relations) merged, and for undirected inputs {u, v} and {v, u} counted as one edge. All
// relations must agree on num_nodes and directedness. Self loops are kept once.
inline Graph merge_relations(const std::vector<Graph>& relations,
                             const std::vector<int64_t>& which) {
  EMBER_CHECK(!which.empty(), "merge_relations: no relation selected");
  Graph out;
  out.num_nodes = -1;
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t r : which) {
    EMBER_CHECK(r >= 0 && r < int64_t(relations.size()), "merge_relations: relation ", r,
                " selected but there are ", relations.size());
    const Graph& g = relations[size_t(r)];
    graph_detail::check_graph(g, "merge_relations");
    EMBER_CHECK(out.num_nodes < 0 || (g.num_nodes == out.num_nodes && g.directed == out.directed),
                "merge_relations: relation ", r, " (", g.num_nodes, " nodes, ",
                g.directed ? "directed" : "undirected", ") does not match the others (",
                out.num_nodes, " nodes, ", out.directed ? "directed" : "undirected", ")");
    out.num_nodes = g.num_nodes;
    out.directed = g.directed;
    for (size_t e = 0; e < g.src.size(); ++e) {
      int64_t a = g.src[e], b = g.dst[e];
      if (!g.directed && a > b) std::swap(a, b);
      pairs.emplace_back(a, b);
    }
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  for (const auto& [a, b] : pairs) {
    out.src.push_back(a);
    out.dst.push_back(b);
  }
  return out;
}

// Fraction of edges whose endpoints share a label (Zhu et al.'s edge homophily). Self loops
// count as edges, as stored. Throws on a graph without edges (the ratio is undefined).
inline double edge_homophily(const Graph& g, const std::vector<int64_t>& labels) {
  graph_detail::check_graph(g, "edge_homophily");
  EMBER_CHECK(int64_t(labels.size()) == g.num_nodes, "edge_homophily: ", labels.size(),
              " labels for a graph of ", g.num_nodes, " nodes");
  EMBER_CHECK(g.num_edges() > 0, "edge_homophily: the graph has no edges");
  int64_t same = 0;
  for (size_t e = 0; e < g.src.size(); ++e)
    same += labels[size_t(g.src[e])] == labels[size_t(g.dst[e])];
  return double(same) / double(g.num_edges());
}

// The fraction of pairs of distinct nodes that share a label, sum_c n_c (n_c - 1) / (N (N-1)):
// the edge homophily a graph with uniformly random edges has in expectation.
inline double random_edge_homophily(const std::vector<int64_t>& labels) {
  const int64_t n = int64_t(labels.size());
  EMBER_CHECK(n >= 2, "random_edge_homophily: needs at least 2 nodes, got ", n);
  std::vector<int64_t> sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  double same = 0.0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    same += double(j - i) * double(j - i - 1);
    i = j;
  }
  return same / (double(n) * double(n - 1));
}

// Weakly connected components (edge direction ignored): component[v] in [0, count), numbered
// in order of each component's smallest node.
struct Components {
  std::vector<int64_t> component;
  int64_t count = 0;
};

inline Components connected_components(const Graph& g) {
  graph_detail::check_graph(g, "connected_components");
  // Union-find with path halving; union by smaller root keeps the numbering order-stable.
  std::vector<int64_t> parent(size_t(g.num_nodes));
  std::iota(parent.begin(), parent.end(), int64_t(0));
  auto find = [&](int64_t v) {
    while (parent[size_t(v)] != v) {
      parent[size_t(v)] = parent[size_t(parent[size_t(v)])];
      v = parent[size_t(v)];
    }
    return v;
  };
  for (size_t e = 0; e < g.src.size(); ++e) {
    const int64_t a = find(g.src[e]), b = find(g.dst[e]);
    if (a != b) parent[size_t(std::max(a, b))] = std::min(a, b);
  }
  Components c;
  c.component.assign(size_t(g.num_nodes), -1);
  std::vector<int64_t> id_of_root(size_t(g.num_nodes), -1);
  for (int64_t v = 0; v < g.num_nodes; ++v) {
    const int64_t r = find(v);
    if (id_of_root[size_t(r)] < 0) id_of_root[size_t(r)] = c.count++;
    c.component[size_t(v)] = id_of_root[size_t(r)];
  }
  return c;
}

// The subgraph induced by `nodes` (distinct, in [0, N)), re-indexed so nodes[i] becomes i.
// Edges with an endpoint outside the subset are dropped.
struct Subgraph {
  std::vector<int64_t> nodes;      // original id of each new node, ascending for the LCC
  std::vector<int64_t> new_index;  // [N]: new id of each original node, -1 if dropped
  Graph graph;
};

inline Subgraph induced_subgraph(const Graph& g, const std::vector<int64_t>& nodes) {
  graph_detail::check_graph(g, "induced_subgraph");
  Subgraph s;
  s.nodes = nodes;
  s.new_index.assign(size_t(g.num_nodes), -1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const int64_t v = nodes[i];
    EMBER_CHECK(v >= 0 && v < g.num_nodes, "induced_subgraph: node ", v, " outside [0, ",
                g.num_nodes, ")");
    EMBER_CHECK(s.new_index[size_t(v)] < 0, "induced_subgraph: node ", v, " listed twice");
    s.new_index[size_t(v)] = int64_t(i);
  }
  s.graph.num_nodes = int64_t(nodes.size());
  s.graph.directed = g.directed;
  for (size_t e = 0; e < g.src.size(); ++e) {
    const int64_t a = s.new_index[size_t(g.src[e])], b = s.new_index[size_t(g.dst[e])];
    if (a >= 0 && b >= 0) {
      s.graph.src.push_back(a);
      s.graph.dst.push_back(b);
    }
  }
  return s;
}

// The largest weakly connected component (the one with the smallest node wins a tie in size),
// its nodes ascending. An empty graph gives an empty subgraph.
inline Subgraph largest_connected_component(const Graph& g) {
  const Components c = connected_components(g);
  if (c.count == 0) return induced_subgraph(g, {});
  std::vector<int64_t> size(size_t(c.count), 0);
  for (int64_t id : c.component) ++size[size_t(id)];
  const int64_t best =
      int64_t(std::max_element(size.begin(), size.end()) - size.begin());  // first maximum
  std::vector<int64_t> nodes;
  for (int64_t v = 0; v < g.num_nodes; ++v)
    if (c.component[size_t(v)] == best) nodes.push_back(v);
  return induced_subgraph(g, nodes);
}

// Picks the entries of a per-node vector (labels, say) for the nodes of a subgraph.
template <class V>
std::vector<V> restrict_to(const std::vector<V>& per_node, const Subgraph& s) {
  EMBER_CHECK(per_node.size() == s.new_index.size(), "restrict_to: ", per_node.size(),
              " values for a graph of ", s.new_index.size(), " nodes");
  std::vector<V> out;
  out.reserve(s.nodes.size());
  for (int64_t v : s.nodes) out.push_back(per_node[size_t(v)]);
  return out;
}

}  // namespace ember::data
