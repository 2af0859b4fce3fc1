// CSR sparse matrices, SpMM / SDDMM / edge softmax, scatter and segment ops, and GNN layers
// (GCN, GAT, SAGE, RGCN).
// Includes <ember/ember.hpp> too.
#pragma once

#include <ember/ember.hpp>

#include <ember/nn/gnn.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/ops/sparse.hpp>
#include <ember/sparse/csr.hpp>

#ifdef EMBER_EXTERN_TEMPLATES  // the precompiled instances of ember_instances
#define EMBER_INSTANCE_LIST <ember/detail/instances/graph.inc>
#include <ember/detail/instances/declare.inc>
#endif
