// Padding and interpolation kernels (ops/upsample.hpp) on the input's device: the CPU kernels
// of backend/cpu/upsample.hpp or the CUDA kernels of cuda/ember/cuda/upsample.cuh. Kernels
// only: the ops record the rules. Both read the index tables the op builds (pad_table,
// interp_table), so boundary rules and PyTorch's index arithmetic are the same on both.
//
// Determinism: the CUDA adjoints are gathers, not atomics: each input element sums the outputs
// that read it, through inverse lists built on the host (append_inverse), so every result is
// bitwise reproducible with or without ember::set_deterministic.
#pragma once

#include <cstdint>
#include <vector>

#include <ember/backend/cpu/upsample.hpp>
#include <ember/backend/cuda/api.hpp>  // kMaxDims
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// A map of [outer, small...] (the last k dims) to [outer, big...] that is separable over the
// k dims: pad and interpolate. `base[j]` is where dim j's part of a table starts.
struct SeparableShape {
  int k = 0;
  int64_t outer = 1;
  int64_t small[kMaxDims] = {}, big[kMaxDims] = {}, base[kMaxDims] = {};
};

// The launchers of cuda/ember/cuda/upsample.cuh, for T = float and double. All buffers
// contiguous device memory.
//
// pad forward: out [outer, big...] = src at the per-dim source indices tables[base[j] + o]
// (-1 anywhere: the fill).
template <class T>
void pad(const SeparableShape& g, const int64_t* tables, const T* src, double fill, T* out,
         int device);
// Separable 2-D interpolation of planes [P, H, W] -> [P, OH, OW]. idx and wts (device) hold
// the InterpTable source positions and weights, concatenated: h.i0 [OH], h.i1 [OH],
// w.i0 [OW], w.i1 [OW] (w0 / w1 likewise in wts).
template <class T>
void interpolate(const T* src, const int64_t* idx, const T* wts, T* out, int64_t P, int64_t H,
                 int64_t W, int64_t OH, int64_t OW, int device);
// The adjoint of a separable map, as a gather (no atomics: deterministic): out [outer,
// small...] (overwritten) sums src [outer, big...] over the big positions that read each small
// one. For dim j and small index s these are entries[offsets[base[j] + s] .. offsets[base[j] +
// s + 1]) (big indices), with weights[...] (null: 1); a big position's weight is the product.
template <class T>
void separable_adjoint(const SeparableShape& g, const int64_t* offsets, const int64_t* entries,
                       const T* weights, const T* src, T* out, int device);

}  // namespace cuda

namespace backend {

namespace detail {

// A host vector as a tensor on `dev` (the copy is enqueued; the vector may go right after).
template <class T>
Tensor<T> upload(const std::vector<T>& v, Device dev) {
  return Tensor<T>::from_vector(v, {int64_t(v.size())}).to(dev);
}

// Appends the inverse lists of one dim of a map (the adjoint kernels' gather lists): for each
// target s < n_small, the positions o that read it, in the order emit_all reports them (and
// their weights, when `weights` is given). emit_all(emit) calls emit(s, o, weight) for every
// pair. Returns where this dim's n_small + 1 offsets start.
template <class W, class F>
int64_t append_inverse(int64_t n_small, const F& emit_all, std::vector<int64_t>& offsets,
                       std::vector<int64_t>& entries, std::vector<W>* weights) {
  const int64_t base = int64_t(offsets.size()), first = int64_t(entries.size());
  std::vector<int64_t> next(size_t(n_small) + 1, 0);
  emit_all([&](int64_t s, int64_t, W) { ++next[size_t(s) + 1]; });
  for (int64_t s = 0; s < n_small; ++s) next[size_t(s) + 1] += next[size_t(s)];
  for (int64_t s = 0; s <= n_small; ++s) offsets.push_back(first + next[size_t(s)]);
  entries.resize(size_t(first + next[size_t(n_small)]));
  if (weights) weights->resize(entries.size());
  emit_all([&](int64_t s, int64_t o, W w) {
    const int64_t at = first + next[size_t(s)]++;
    entries[size_t(at)] = o;
    if (weights) (*weights)[size_t(at)] = w;
  });
  return base;
}

// pad on CUDA: the tables (forward) or their inverse lists (adjoint) uploaded, then one kernel.
template <class T>
void pad_cuda(const Tensor<T>& sc, const Shape& small, const Shape& big,
              const std::vector<std::vector<int64_t>>& tables, T fill, bool adjoint,
              Tensor<T>& out, const char* name) {
  const int64_t k = int64_t(tables.size()), nd = int64_t(small.size());
  EMBER_CHECK(k <= cuda::kMaxDims, name, ": the CUDA backend pads at most ", cuda::kMaxDims,
              " dims, got ", k, " for shape ", shape_str(small));
  if (out.numel() == 0) return;
  cuda::SeparableShape g;
  g.k = int(k);
  for (int64_t d = 0; d < nd - k; ++d) g.outer *= small[size_t(d)];
  std::vector<int64_t> flat, entries;
  for (int64_t j = 0; j < k; ++j) {
    g.small[j] = small[size_t(nd - k + j)];
    g.big[j] = big[size_t(nd - k + j)];
    const std::vector<int64_t>& t = tables[size_t(j)];
    if (!adjoint) {
      g.base[j] = int64_t(flat.size());
      flat.insert(flat.end(), t.begin(), t.end());
    } else {
      g.base[j] = append_inverse<T>(
          g.small[j],
          [&](const auto& emit) {
            for (int64_t o = 0; o < int64_t(t.size()); ++o)
              if (t[size_t(o)] >= 0) emit(t[size_t(o)], o, T(1));
          },
          flat, entries, nullptr);
    }
  }
  const Device dev = sc.device();
  const Tensor<int64_t> tb = flat.empty() ? Tensor<int64_t>() : upload(flat, dev);
  const int64_t* tp = tb.defined() ? tb.data_ptr() : nullptr;
  if (!adjoint) {
    cuda::pad(g, tp, sc.data_ptr(), double(fill), out.data_ptr(), dev.index);
  } else {
    const Tensor<int64_t> te = entries.empty() ? Tensor<int64_t>() : upload(entries, dev);
    cuda::separable_adjoint(g, tp, te.defined() ? te.data_ptr() : nullptr,
                            static_cast<const T*>(nullptr), sc.data_ptr(), out.data_ptr(),
                            dev.index);
  }
}

// interpolate on CUDA: the tables (forward) or their weighted inverse lists (adjoint).
template <class T>
void interpolate_cuda(const Tensor<T>& sc, int64_t P, int64_t H, int64_t W, int64_t OH,
                      int64_t OW, const cpu::InterpTable<T>& th, const cpu::InterpTable<T>& tw,
                      bool adjoint, Tensor<T>& out) {
  if (out.numel() == 0) return;
  const Device dev = sc.device();
  std::vector<int64_t> idx;
  std::vector<T> wts;
  if (!adjoint) {
    for (const auto* t : {&th, &tw}) {
      idx.insert(idx.end(), t->i0.begin(), t->i0.end());
      idx.insert(idx.end(), t->i1.begin(), t->i1.end());
      wts.insert(wts.end(), t->w0.begin(), t->w0.end());
      wts.insert(wts.end(), t->w1.begin(), t->w1.end());
    }
    const Tensor<int64_t> di = upload(idx, dev);
    const Tensor<T> dw = upload(wts, dev);
    cuda::interpolate(sc.data_ptr(), di.data_ptr(), dw.data_ptr(), out.data_ptr(), P, H, W, OH,
                      OW, dev.index);
    return;
  }
  cuda::SeparableShape g;
  g.k = 2;
  g.outer = P;
  g.small[0] = H, g.small[1] = W, g.big[0] = OH, g.big[1] = OW;
  std::vector<int64_t> offsets;
  int j = 0;
  for (const auto* t : {&th, &tw}) {
    g.base[j] = append_inverse<T>(
        g.small[j],
        [&](const auto& emit) {
          for (int64_t o = 0; o < g.big[j]; ++o) {
            emit(t->i0[size_t(o)], o, t->w0[size_t(o)]);
            emit(t->i1[size_t(o)], o, t->w1[size_t(o)]);
          }
        },
        offsets, idx, &wts);
    ++j;
  }
  const Tensor<int64_t> doff = upload(offsets, dev), dent = upload(idx, dev);
  const Tensor<T> dw = upload(wts, dev);
  cuda::separable_adjoint(g, doff.data_ptr(), dent.data_ptr(), dw.data_ptr(), sc.data_ptr(),
                          out.data_ptr(), dev.index);
}

}  // namespace detail

// The last tables.size() dims of src mapped small -> big through the tables (fill where an
// index is -1), or the adjoint (big -> small, summed); a fresh tensor of big (small) shape.
template <class T>
Tensor<T> pad(const Tensor<T>& src, const Shape& small, const Shape& big,
              const std::vector<std::vector<int64_t>>& tables, T fill, bool adjoint,
              const char* name) {
  const bool cuda = on_cuda(name, src);
  Tensor<T> out = Tensor<T>::empty(adjoint ? small : big, src.device());
  const Tensor<T> sc = src.detach().contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else detail::pad_cuda(sc, small, big, tables, fill, adjoint, out, name);
  } else {
    cpu::pad<T>(small, big, tables, sc.data_ptr(), fill, out.data_ptr(), adjoint);
  }
  return out;
}

// Planes [..., H, W] (small) -> [..., OH, OW] (big) through the row / column tables th / tw,
// or the adjoint (big -> small, summed); a fresh tensor.
template <class T>
Tensor<T> interpolate(const Tensor<T>& src, const Shape& small, const Shape& big,
                      const cpu::InterpTable<T>& th, const cpu::InterpTable<T>& tw, bool adjoint,
                      const char* name) {
  const bool cuda = on_cuda(name, src);
  Tensor<T> out = Tensor<T>::empty(adjoint ? small : big, src.device());
  const Tensor<T> sc = src.detach().contiguous();
  const int64_t nd = int64_t(small.size());
  const int64_t H = small[size_t(nd - 2)], W = small[size_t(nd - 1)];
  const int64_t OH = big[size_t(nd - 2)], OW = big[size_t(nd - 1)];
  int64_t P = 1;
  for (int64_t d = 0; d < nd - 2; ++d) P *= small[size_t(d)];
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else detail::interpolate_cuda(sc, P, H, W, OH, OW, th, tw, adjoint, out);
  } else {
    cpu::interpolate<T>(P, H, W, OH, OW, th, tw, sc.data_ptr(), out.data_ptr(), adjoint);
  }
  return out;
}

}  // namespace backend
}  // namespace ember
