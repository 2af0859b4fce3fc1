// Small dense float64 linear algebra on the host: the Matrix type (to and from tensors),
// Householder QR, symmetric eigendecomposition (all pairs, or the top k by subspace
// iteration), Cholesky with solves, ridge regression (and its k-fold choice of lambda), and
// PCA. Link -lopenblas.
#pragma once

#include <ember/numeric/cholesky.hpp>
#include <ember/numeric/eigh.hpp>
#include <ember/numeric/matrix.hpp>
#include <ember/numeric/pca.hpp>
#include <ember/numeric/qr.hpp>
#include <ember/numeric/ridge_cv.hpp>
