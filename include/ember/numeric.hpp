// Small dense float64 linear algebra on the host: the Matrix type (to and from tensors),
// Householder QR, symmetric eigendecomposition (all pairs, or the top k by subspace
// iteration), Cholesky with solves and ridge regression, and PCA. Link -lopenblas.
#pragma once

#include <ember/numeric/cholesky.hpp>
#include <ember/numeric/eigh.hpp>
#include <ember/numeric/matrix.hpp>
#include <ember/numeric/pca.hpp>
#include <ember/numeric/qr.hpp>
