// The CUDA backend's host interface: plain C++ declarations (no CUDA headers), implemented in
// cuda/src/*.cu and compiled into the static library ember_cuda when ember is configured with
// -DEMBER_CUDA=ON (which defines EMBER_WITH_CUDA). In a CPU-only build this header declares
// only the plain data types below (no functions), and asking for a CUDA tensor throws the
// error of check_cpu (core/device.hpp).
//
// Conventions: pointers are device pointers on `device` unless named host; element counts are
// int64_t; every call is enqueued on the device's current stream (see set_stream) and returns
// without waiting, except copies to the host, which wait for the data. Errors from the CUDA
// runtime and libraries throw ember::Error naming the failed call, file and line.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include <ember/core/device.hpp>

namespace ember::cuda {

// ---------------------------------------------------------------- plain data (every build)

inline constexpr int kMaxDims = 8;

// The geometry of an elementwise op over up to three operands (0 = output, 1, 2 = inputs):
// shape and per-operand strides in elements (0 along broadcast dims). make_layout builds it
// and merges dims that are contiguous in every operand, so most calls have ndim 1.
struct StridedLayout {
  int ndim = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[3][kMaxDims] = {};
  // All operands contiguous with the same shape: the kernels use 16-byte vector accesses.
  bool contiguous = false;
};

enum class BinaryOp : int {
  Add,
  Sub,
  Mul,
  Div,
  Pow,           // a ** b
  Maximum,       // NaN propagating, as torch.maximum
  Minimum,
  MaxWeight,     // maximum's gradient weight of a: 1/2 on a tie, 0 where a loses, else 1
  MinWeight,
  EqMask,        // a == b ? 1 : 0
  DivOrZero      // b > 0 ? a / b : 0
};
// Ops giving a bool tensor: comparisons of a with b (or with a scalar when b is null),
// logical and / or of a and b (non-zero is true), and the one-operand Not, IsNan, IsInf,
// IsFinite.
enum class PredicateOp : int { Eq, Ne, Lt, Le, Gt, Ge, And, Or, Not, IsNan, IsInf, IsFinite };

// Reductions over the middle dim of a contiguous [outer, n, inner] tensor (reduce_more.cu).
// Max / Min propagate NaN; ArgMax / ArgMin give the first occurrence (NaN counts as the
// extreme) and its value; Var / Std divide by n - correction.
enum class ReduceOp : int { Max, Min, ArgMax, ArgMin, LogSumExp, Var, Std };

// Row-major batched GEMM through cuBLAS: for i < batch,
//   C_i[m, n] = alpha * op(A_i)[m, k] · op(B_i)[k, n] + beta * C_i,
// op = transpose when trans_*; lda/ldb/ldc are row-major leading dims; stride_* are the
// element strides between batch entries (0 broadcasts one matrix).
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  int64_t batch = 1;
  double alpha = 1, beta = 0;
};

// The layout of `nops` operands (1 to 3) of the given shape and strides. Size-1 dims are
// dropped and runs of dims contiguous in every operand merged; returns false when more than
// kMaxDims dims remain (the caller makes its operands contiguous and retries).
inline bool make_layout(StridedLayout& l, const std::vector<int64_t>& shape,
                        std::initializer_list<const std::vector<int64_t>*> strides) {
  const int nops = int(strides.size());
  std::vector<int64_t> sh;
  std::vector<std::vector<int64_t>> st(static_cast<size_t>(nops));
  l.numel = 1;
  for (int64_t s : shape) l.numel *= s;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !sh.empty();
    int op = 0;
    for (const std::vector<int64_t>* s : strides) {
      if (merge && st[size_t(op)].back() != (*s)[d] * shape[d]) merge = false;
      ++op;
    }
    op = 0;
    if (merge) {
      sh.back() *= shape[d];
      for (const std::vector<int64_t>* s : strides) st[size_t(op++)].back() = (*s)[d];
    } else {
      sh.push_back(shape[d]);
      for (const std::vector<int64_t>* s : strides) st[size_t(op++)].push_back((*s)[d]);
    }
  }
  if (sh.size() > size_t(kMaxDims)) return false;
  l.ndim = int(sh.size());
  l.contiguous = true;
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = sh[size_t(d)];
    for (int op = 0; op < nops; ++op) l.strides[op][d] = st[size_t(op)][size_t(d)];
  }
  for (int op = 0; op < nops; ++op)
    if (l.ndim > 1 || (l.ndim == 1 && l.strides[op][0] != 1)) l.contiguous = false;
  return true;
}

}  // namespace ember::cuda

#ifdef EMBER_WITH_CUDA

namespace ember::cuda {

// ---------------------------------------------------------------- runtime (runtime.cu)

// Number of visible CUDA devices; 0 (not an error) when there is no driver or no GPU.
int device_count();
bool is_available();
// Waits for all work queued on `device`'s current stream.
void synchronize(int device = 0);
// Uses `stream` (a cudaStream_t, or nullptr for ember's own stream) for `device` from now
// on. The caller keeps the stream alive while ember uses it.
void set_stream(void* stream, int device = 0);
// The cudaStream_t ember enqueues work on for `device` (created on first use).
void* current_stream(int device = 0);
// TF32 tensor cores for float32 GEMMs (off by default: strict fp32, as PyTorch's default).
void allow_tf32(bool on);
bool tf32_allowed();

// Stream-ordered allocation from the device's memory pool (cudaMallocAsync). The pool keeps
// freed memory (release threshold UINT64_MAX), so a training loop's allocations are reused.
void* allocate(size_t nbytes, int device);
void deallocate(void* p, size_t nbytes, int device);
// Copies nbytes between any two of host and CUDA devices. A copy to the host waits until the
// data is there; the others are queued on the stream of the CUDA side.
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);

// ---------------------------------------------------------------- elementwise (elementwise.cu)

void binary(BinaryOp op, float* out, const float* a, const float* b, const StridedLayout& l,
            int device);
void binary(BinaryOp op, double* out, const double* a, const double* b, const StridedLayout& l,
            int device);
// Typeless helpers (by element size: 1, 2, 4, 8 or 16 bytes), for every dtype.
// Fills n elements at dst with the bytes at host_value.
void fill(void* dst, const void* host_value, size_t elem_size, int64_t n, int device);
// out (strides[0]) = in (strides[1]), elementwise over l's shape.
void strided_copy(void* dst, const void* src, size_t elem_size, const StridedLayout& l, int device);

// ---------------------------------------------------------------- reductions (elementwise.cu)

// out[o * inner + i] = sum_r x[(o * n + r) * inner + i] for a contiguous x seen as
// [outer, n, inner]. float sums accumulate in double (as on the CPU), reduced by warp shuffles.
void sum_dim(float* out, const float* x, int64_t outer, int64_t n, int64_t inner, int device);
void sum_dim(double* out, const double* x, int64_t outer, int64_t n, int64_t inner, int device);

// ---------------------------------------------------------------- nn (nn.cu)

// Layer norm over the last n elements of each of `rows` contiguous rows. w, b may be null.
// mean and rstd ([rows]) are written for the backward pass.
void layer_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                        const float* b, int64_t rows, int64_t n, double eps, int device);
void layer_norm_forward(double* y, double* mean, double* rstd, const double* x, const double* w,
                        const double* b, int64_t rows, int64_t n, double eps, int device);
// gx, gw, gb may each be null (not wanted); gw and gb are overwritten, not accumulated.
void layer_norm_backward(float* gx, float* gw, float* gb, const float* g, const float* x,
                         const float* w, const float* mean, const float* rstd, int64_t rows,
                         int64_t n, int device);
void layer_norm_backward(double* gx, double* gw, double* gb, const double* g, const double* x,
                         const double* w, const double* mean, const double* rstd, int64_t rows,
                         int64_t n, int device);

// Row-major batched GEMM through cuBLAS (see GemmArgs).
void gemm(const GemmArgs& args, const float* a, const float* b, float* c, int device);
void gemm(const GemmArgs& args, const double* a, const double* b, double* c, int device);

// ---- indexing, scatter, dropout, optimizers (indexing.cu)

// The loop space of gather / scatter_add along `dim` (ops/indexing.hpp's index_along_dim):
// position p of `shape` (row-major, coordinates c) pairs the "k side" element at
// sum_d c[d] * kside_strides[d] with the target element at
// sum_{d != dim} c[d] * target_strides[d] + index[p] * target_strides[dim], where index[p] is
// the int64 at sum_d c[d] * index_strides[d]. Indices are already bounds-checked.
// target_extent: one past the largest target offset (sizes the deterministic path's sort).
struct IndexLayout {
  int ndim = 0;
  int dim = 0;
  int64_t numel = 0;
  int64_t target_extent = 0;
  int64_t shape[kMaxDims] = {};
  int64_t index_strides[kMaxDims] = {};
  int64_t kside_strides[kMaxDims] = {};
  int64_t target_strides[kMaxDims] = {};
};

// kside[p] = target[index-shifted p]: gather / index_select / embedding.
void index_gather(float* kside, const float* target, const int64_t* index, const IndexLayout& l,
                  int device);
void index_gather(double* kside, const double* target, const int64_t* index,
                  const IndexLayout& l, int device);
// target[index-shifted p] += kside[p]: scatter_add / index_add / scatter_sum. Atomics (order-
// dependent float rounding) unless `deterministic`: then the positions are radix-sorted by
// target and each target summed by one thread in increasing p, the CPU's order.
void index_scatter_add(float* target, const float* kside, const int64_t* index,
                       const IndexLayout& l, bool deterministic, int device);
void index_scatter_add(double* target, const double* kside, const int64_t* index,
                       const IndexLayout& l, bool deterministic, int device);

// out (operand 0) = mask (operand 2) ? value : x (operand 1), elementwise over l.
void masked_fill(float* out, const float* x, const bool* mask, double value, const StridedLayout& l,
                 int device);
void masked_fill(double* out, const double* x, const bool* mask, double value,
                 const StridedLayout& l, int device);

// scatter_max from a stable sort of the index by target (ptr [rows + 1], order [E]): out and
// arg [rows, f]; mask [E, f] (zero-filled, or null) gets 1 at every argmax.
void scatter_max(float* out, int64_t* arg, float* mask, const float* src, const int64_t* ptr,
                 const int64_t* order, int64_t rows, int64_t f, int64_t e_rows, int device);
void scatter_max(double* out, int64_t* arg, double* mask, const double* src, const int64_t* ptr,
                 const int64_t* order, int64_t rows, int64_t f, int64_t e_rows, int device);

// out[i, c] = sum over k in [row_ptr[i], row_ptr[i+1]) of src[k, c], rows of width f, for a
// contiguous src and a checked row_ptr [rows + 1]; one thread per output, in increasing k.
void segment_sum(float* out, const float* src, const int64_t* row_ptr, int64_t rows, int64_t f,
                 int device);
void segment_sum(double* out, const double* src, const int64_t* row_ptr, int64_t rows, int64_t f,
                 int device);

// mask[i] = (u(seed, offset, i) < 1 - p) ? 1 / (1 - p) : 0 for i < n, where u is uniform in
// [0, 1) from a counter-based Philox 4x32-10 keyed by seed at counter (i, offset): the mask
// depends only on (seed, offset, i), not on the launch shape. 0 <= p < 1.
void dropout_mask(float* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device);
void dropout_mask(double* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device);

// Fused optimizer steps over many parameters (multi-tensor: one launch per chunk of tensors),
// formula for formula and rounding for rounding as optim/sgd.hpp and optim/adam.hpp on the
// CPU. Pointers are device pointers to n reals (a complex parameter as pairs of reals).
template <class R>
struct SgdParam {
  R* param = nullptr;
  const R* grad = nullptr;
  R* momentum_buffer = nullptr;  // null without momentum
  int64_t n = 0;
  bool first = false;  // the buffer's first step (buf = g)
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
};
void sgd_step(const SgdParam<float>* params, size_t count, int device);
void sgd_step(const SgdParam<double>* params, size_t count, int device);

template <class R>
struct AdamParam {
  R* param = nullptr;
  const R* grad = nullptr;
  R* exp_avg = nullptr;
  R* exp_avg_sq = nullptr;
  R* max_exp_avg_sq = nullptr;  // null without amsgrad
  int64_t n = 0;
  int64_t step = 1;         // this parameter's step count t, after incrementing
  bool decoupled = false;   // AdamW's weight decay
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  bool maximize = false;
};
void adam_step(const AdamParam<float>* params, size_t count, int device);
void adam_step(const AdamParam<double>* params, size_t count, int device);

// ---- elementwise extras and reductions (elementwise.cu, reduce_more.cu)

// out = op(a, b) (or op(a, scalar) when b is null, or op(a)) as bool; layout operands are
// (out, a, b). Kernels for float, double and bool inputs.
void predicate(PredicateOp op, bool* out, const float* a, const float* b, double scalar,
               const StridedLayout& l, int device);
void predicate(PredicateOp op, bool* out, const double* a, const double* b, double scalar,
               const StridedLayout& l, int device);
void predicate(PredicateOp op, bool* out, const bool* a, const bool* b, double scalar,
               const StridedLayout& l, int device);

// out = cond ? a : b. l is the layout of (out, a, b) and lc of (out, cond), both over the same
// shape: their linear indices name the same element (make_layout keeps row-major order).
void where(float* out, const bool* cond, const float* a, const float* b, const StridedLayout& l,
           const StridedLayout& lc, int device);
void where(double* out, const bool* cond, const double* a, const double* b,
           const StridedLayout& l, const StridedLayout& lc, int device);

// op over the middle dim of a contiguous x [outer, n, inner] (n >= 1), writing
// values[o * inner + i] and, for ArgMax / ArgMin, indices[o * inner + i] (either may be null).
// correction is Var / Std's.
void reduce_dim(ReduceOp op, float* values, int64_t* indices, const float* x, int64_t outer,
                int64_t n, int64_t inner, int64_t correction, int device);
void reduce_dim(ReduceOp op, double* values, int64_t* indices, const double* x, int64_t outer,
                int64_t n, int64_t inner, int64_t correction, int device);

// Along the middle dim of [outer, n, inner] (src, out contiguous; idx [outer, inner]):
// pick:  out[o, i] = src[o, idx[o, i], i];
// place: out = zeros, then out[o, idx[o, i], i] = src[o, i] (the gradient of pick).
void pick_dim(float* out, const float* src, const int64_t* idx, int64_t outer, int64_t n,
              int64_t inner, int device);
void pick_dim(double* out, const double* src, const int64_t* idx, int64_t outer, int64_t n,
              int64_t inner, int device);
void place_dim(float* out, const float* src, const int64_t* idx, int64_t outer, int64_t n,
               int64_t inner, int device);
void place_dim(double* out, const double* src, const int64_t* idx, int64_t outer, int64_t n,
               int64_t inner, int device);

// Fused cross entropy of contiguous logits x [rows, n] against class indices target [rows]
// (validated by the caller), w [rows] the per-row weight (0 for ignored rows):
//   loss[r] = w[r] (lse[r] - x[r, target[r]]), lse[r] = logsumexp(x[r]) (kept for backward);
//   gx[r, c] = g[r] w[r] (exp(x[r, c] - lse[r]) - [c == target[r]]) (g contiguous [rows]).
void cross_entropy_forward(float* loss, float* lse, const float* x, const int64_t* target,
                           const float* weight, int64_t rows, int64_t n, int device);
void cross_entropy_forward(double* loss, double* lse, const double* x, const int64_t* target,
                           const double* weight, int64_t rows, int64_t n, int device);
void cross_entropy_backward(float* gx, const float* g, const float* lse, const float* x,
                            const int64_t* target, const float* weight, int64_t rows, int64_t n,
                            int device);
void cross_entropy_backward(double* gx, const double* g, const double* lse, const double* x,
                            const int64_t* target, const double* weight, int64_t rows, int64_t n,
                            int device);

// ---- spatial: conv, pooling, resize, batch norm (spatial.cu)
// All buffers contiguous. Outputs named "overwritten" need no initialisation.

// Geometry of a convolution x [N, C, in...] * w [O, C/G, k...] -> y [N, O, out...], the spatial
// dims padded to three (size 1, kernel 1, stride 1, no padding), as cpu::ConvGeom.
struct ConvShape {
  int64_t N = 1, C = 1, O = 1, G = 1;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
};

// y = conv(x, w) (+ bias [O] when not null): im2col per chunk of samples, then one cuBLAS
// GEMM batched over the groups.
void conv_forward(const ConvShape& g, const float* x, const float* w, const float* bias, float* y,
                  int device);
void conv_forward(const ConvShape& g, const double* x, const double* w, const double* bias,
                  double* y, int device);
// gx [N, C, in...] (overwritten) = the input gradient for gy [N, O, out...]: col2im(wᵀ·gy).
void conv_backward_input(const ConvShape& g, const float* gy, const float* w, float* gx,
                         int device);
void conv_backward_input(const ConvShape& g, const double* gy, const double* w, double* gx,
                         int device);
// gw [O, C/G, k...] (overwritten) = sum over samples of gy·colsᵀ.
void conv_backward_weight(const ConvShape& g, const float* x, const float* gy, float* gw,
                          int device);
void conv_backward_weight(const ConvShape& g, const double* x, const double* gy, double* gw,
                          int device);
// unfold: cols [N, C*K, L] = the blocks of x [N, C, in...]; fold: the adjoint (x overwritten).
void unfold(const ConvShape& g, const float* x, float* cols, int device);
void unfold(const ConvShape& g, const double* x, double* cols, int device);
void fold(const ConvShape& g, const float* cols, float* x, int device);
void fold(const ConvShape& g, const double* cols, double* x, int device);

// Pooling of planes [P, H, W] -> [P, OH, OW]. The windows are pool.hpp's Windows tables
// (device): `windows` holds h_lo [OH], h_hi [OH], w_lo [OW], w_hi [OW], concatenated; the
// window of (oh, ow) is rows [h_lo, h_hi) stepping step[0] by columns [w_lo, w_hi) stepping
// step[1].
struct PoolShape {
  int64_t P = 1, H = 1, W = 1, OH = 1, OW = 1;
  int64_t step[2] = {1, 1};
};
// Max of each window (NaN wins, first maximum on ties) and its flat index h*W + w.
void max_pool_forward(const PoolShape& g, const int64_t* windows, const float* x, float* y,
                      int64_t* idx, int device);
void max_pool_forward(const PoolShape& g, const int64_t* windows, const double* x, double* y,
                      int64_t* idx, int device);
// y[p, o] = x[p, idx[p, o]] for P planes of n_in inputs and n_out outputs.
void plane_gather(const float* x, const int64_t* idx, float* y, int64_t P, int64_t n_in,
                  int64_t n_out, int device);
void plane_gather(const double* x, const int64_t* idx, double* y, int64_t P, int64_t n_in,
                  int64_t n_out, int device);
// Window sums scaled by inv_div [OH*OW] (device): src [P, H, W] -> out [P, OH, OW].
void window_mean(const PoolShape& g, const int64_t* windows, const float* src, const float* inv_div,
                 float* out, int device);
void window_mean(const PoolShape& g, const int64_t* windows, const double* src,
                 const double* inv_div, double* out, int device);
// The adjoints of the two, as gathers (no atomics: deterministic, each input summed over its
// windows in output order): out [P, H, W] (overwritten) from src [P, OH, OW]. The covering
// windows of each row h are entries[offsets[h] .. offsets[h + 1]) (output rows oh), of each
// column w entries[offsets[H + 1 + w] .. offsets[H + 2 + w]) (output columns ow). With idx
// (max pooling) an output adds where idx[p, oh*OW + ow] == h*W + w; else (average pooling)
// each adds src * inv_div[oh*OW + ow].
void pool_adjoint(const PoolShape& g, const int64_t* offsets, const int64_t* entries,
                  const int64_t* idx, const float* inv_div, const float* src, float* out,
                  int device);
void pool_adjoint(const PoolShape& g, const int64_t* offsets, const int64_t* entries,
                  const int64_t* idx, const double* inv_div, const double* src, double* out,
                  int device);

// A map of [outer, small...] (the last k dims) to [outer, big...] that is separable over the
// k dims: pad and interpolate. `base[j]` is where dim j's part of a table starts.
struct SeparableShape {
  int k = 0;
  int64_t outer = 1;
  int64_t small[kMaxDims] = {}, big[kMaxDims] = {}, base[kMaxDims] = {};
};
// pad forward: out [outer, big...] = src at the per-dim source indices tables[base[j] + o]
// (-1 anywhere: the fill).
void pad(const SeparableShape& g, const int64_t* tables, const float* src, double fill, float* out,
         int device);
void pad(const SeparableShape& g, const int64_t* tables, const double* src, double fill,
         double* out, int device);
// Separable 2-D interpolation of planes [P, H, W] -> [P, OH, OW]. idx and wts (device) hold
// upsample.hpp's InterpTable source positions and weights, concatenated: h.i0 [OH], h.i1 [OH],
// w.i0 [OW], w.i1 [OW] (w0 / w1 likewise in wts).
void interpolate(const float* src, const int64_t* idx, const float* wts, float* out, int64_t P,
                 int64_t H, int64_t W, int64_t OH, int64_t OW, int device);
void interpolate(const double* src, const int64_t* idx, const double* wts, double* out, int64_t P,
                 int64_t H, int64_t W, int64_t OH, int64_t OW, int device);
// The adjoint of a separable map, as a gather (no atomics: deterministic): out [outer,
// small...] (overwritten) sums src [outer, big...] over the big positions that read each small
// one. For dim j and small index s these are entries[offsets[base[j] + s] .. offsets[base[j] +
// s + 1]) (big indices), with weights[...] (null: 1); a big position's weight is the product.
void separable_adjoint(const SeparableShape& g, const int64_t* offsets, const int64_t* entries,
                       const float* weights, const float* src, float* out, int device);
void separable_adjoint(const SeparableShape& g, const int64_t* offsets, const int64_t* entries,
                       const double* weights, const double* src, double* out, int device);

// Batch norm of x [N, C, S] per channel. Training: writes the batch mean and biased var [C];
// eval: reads them (the running stats). Writes rstd [C] and y. w, b may be null.
void batch_norm_forward(const float* x, const float* w, const float* b, float* y, float* mean,
                        float* var, float* rstd, int64_t N, int64_t C, int64_t S, bool training,
                        double eps, int device);
void batch_norm_forward(const double* x, const double* w, const double* b, double* y, double* mean,
                        double* var, double* rstd, int64_t N, int64_t C, int64_t S, bool training,
                        double eps, int device);
// gx, gw, gb may each be null (not wanted); all overwritten.
void batch_norm_backward(const float* g, const float* x, const float* w, const float* mean,
                         const float* rstd, float* gx, float* gw, float* gb, int64_t N, int64_t C,
                         int64_t S, bool training, int device);
void batch_norm_backward(const double* g, const double* x, const double* w, const double* mean,
                         const double* rstd, double* gx, double* gw, double* gb, int64_t N,
                         int64_t C, int64_t S, bool training, int device);

// ---- spectral, sparse, complex, attention (spectral.cu)

// cuFFT over contiguous signals in cuFFT's basic layout: `batch` signals of sizes n[0..rank)
// (rank 1 to 3) back to back, unnormalised, then multiplied by `scale` (1: no extra pass).
// C2C: out and in may not alias. R2C: n are the real sizes; each output signal has
// n[rank-1] / 2 + 1 bins in its last dim. C2R: n are the real output sizes; `in` is copied
// first (cuFFT's C2R overwrites its input), so it is left intact; for rank 1 the copy's DC
// and Nyquist bins have their imaginary parts zeroed (ignored, as by the CPU's c2r).
void fft_c2c(std::complex<float>* out, const std::complex<float>* in, int rank, const int64_t* n,
             int64_t batch, bool forward, double scale, int device);
void fft_c2c(std::complex<double>* out, const std::complex<double>* in, int rank,
             const int64_t* n, int64_t batch, bool forward, double scale, int device);
void fft_r2c(std::complex<float>* out, const float* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device);
void fft_r2c(std::complex<double>* out, const double* in, int rank, const int64_t* n,
             int64_t batch, double scale, int device);
void fft_c2r(float* out, const std::complex<float>* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device);
void fft_c2r(double* out, const std::complex<double>* in, int rank, const int64_t* n,
             int64_t batch, double scale, int device);

// Complex elementwise ops over a StridedLayout (operand 0 the output). BinaryOp: Add, Sub, Mul,
// Div only. complex_unary's op is ComplexUnaryOp's value (backend/cuda/dispatch_spectral.hpp:
// 0 neg, 1 conj, 2 x + s, 3 x * s).
void complex_binary(BinaryOp op, std::complex<float>* out, const std::complex<float>* a,
                    const std::complex<float>* b, const StridedLayout& l, int device);
void complex_binary(BinaryOp op, std::complex<double>* out, const std::complex<double>* a,
                    const std::complex<double>* b, const StridedLayout& l, int device);
void complex_unary(int op, std::complex<float>* out, const std::complex<float>* x,
                   std::complex<double> s, const StridedLayout& l, int device);
void complex_unary(int op, std::complex<double>* out, const std::complex<double>* x,
                   std::complex<double> s, const StridedLayout& l, int device);
// out (operand 0) = re (operand 1) + i im (operand 2).
void complex_from_parts(std::complex<float>* out, const float* re, const float* im,
                        const StridedLayout& l, int device);
void complex_from_parts(std::complex<double>* out, const double* re, const double* im,
                        const StridedLayout& l, int device);
// Row-major batched complex GEMM (cuBLAS cgemm / zgemm), GemmArgs as for gemm (trans_* is a
// plain transpose, not conjugate; alpha and beta real).
void gemm(const GemmArgs& args, const std::complex<float>* a, const std::complex<float>* b,
          std::complex<float>* c, int device);
void gemm(const GemmArgs& args, const std::complex<double>* a, const std::complex<double>* b,
          std::complex<double>* c, int device);

// Attention's causal mask, in place on a contiguous [B, L, S]: x = value where j > i + diagonal.
void fill_above_diagonal(float* x, int64_t B, int64_t L, int64_t S, int64_t diagonal, float value,
                         int device);
void fill_above_diagonal(double* x, int64_t B, int64_t L, int64_t S, int64_t diagonal,
                         double value, int device);

// CSR products (row_ptr / col_idx on the device; int32 or int64 indices). values [nnz, H];
// spmm: out [rows, H * C] = A [rows, cols] · x [cols, H * C] (cusparseSpMM for H = 1 and
// C >= 32, else a hand-written kernel); sddmm: out [nnz, H] from p [rows, H * C] and
// q [cols, H * C]. Deterministic (no atomics).
#define EMBER_CUDA_SPARSE_DECL(T, I)                                                         \
  void spmm_csr(T* out, const I* row_ptr, const I* col_idx, const T* values, const T* x,     \
                int64_t rows, int64_t cols, int64_t nnz, int64_t H, int64_t C, int device);  \
  void sddmm_csr(T* out, const I* row_ptr, const I* col_idx, const T* p, const T* q,         \
                 int64_t rows, int64_t H, int64_t C, int device);
EMBER_CUDA_SPARSE_DECL(float, int32_t)
EMBER_CUDA_SPARSE_DECL(float, int64_t)
EMBER_CUDA_SPARSE_DECL(double, int32_t)
EMBER_CUDA_SPARSE_DECL(double, int64_t)
#undef EMBER_CUDA_SPARSE_DECL
// Softmax of src [E, H] over segments row_ptr[s] .. row_ptr[s+1] (row_ptr int64 on the device)
// and its backward from the output y.
void segment_softmax_forward(float* out, const float* src, const int64_t* row_ptr, int64_t nseg,
                             int64_t H, int device);
void segment_softmax_forward(double* out, const double* src, const int64_t* row_ptr,
                             int64_t nseg, int64_t H, int device);
void segment_softmax_backward(float* gx, const float* g, const float* y, const int64_t* row_ptr,
                              int64_t nseg, int64_t H, int device);
void segment_softmax_backward(double* gx, const double* g, const double* y,
                              const int64_t* row_ptr, int64_t nseg, int64_t H, int device);
// out[k, :] = v[perm[k], :] for k < n, rows of W elements (perm int64 on the device).
void gather_rows(float* out, const float* v, const int64_t* perm, int64_t n, int64_t W, int device);
void gather_rows(double* out, const double* v, const int64_t* perm, int64_t n, int64_t W,
                 int device);

}  // namespace ember::cuda

#endif  // EMBER_WITH_CUDA
