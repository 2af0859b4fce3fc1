// CSR sparse matrices, SpMM / SDDMM / edge softmax, scatter and segment ops, and GNN layers
// (GCN, GAT, SAGE, RGCN).
// Includes <ember/ember.hpp> too.
#pragma once

#include <ember/ember.hpp>

#include <ember/nn/gnn.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/ops/sparse.hpp>
#include <ember/sparse/csr.hpp>
