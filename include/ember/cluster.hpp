// Clustering (namespace ember::cluster): k-means with k-means++ starts and restarts on CPU or
// CUDA tensors (distances as one GEMM), and spectral clustering of a graph (the top
// eigenvectors of D^-1/2 A D^-1/2 by sparse subspace iteration, then k-means). Each is
// includable on its own:
//   cluster/kmeans.hpp    kmeans, kmeans_plusplus, kmeans_assign
//   cluster/spectral.hpp  spectral_embedding, spectral_clustering (graphs: data/graph.hpp)
// Link -lopenblas (the eigensolver's small dense steps).
#pragma once

#include <ember/cluster/kmeans.hpp>
#include <ember/cluster/spectral.hpp>
