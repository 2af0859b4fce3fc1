// The translation unit of the spectral, complex, sparse and attention families: the cuFFT
// transforms, the complex elementwise ops, attention's causal mask and the CSR kernels
// (spmm / sddmm / segment softmax), each with its launchers and instances in its .cuh.
#include <ember/cuda/attention.cuh>
#include <ember/cuda/complex.cuh>
#include <ember/cuda/fft.cuh>
#include <ember/cuda/sparse.cuh>
