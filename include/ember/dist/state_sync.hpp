// Copies rank 0's parameters and buffers (any dtype) to every rank: how data-parallel training
// starts every replica from one model, and how it keeps BatchNorm's running statistics equal.
#pragma once

#include <ember/dist/collectives.hpp>
#include <ember/nn/module.hpp>

namespace ember::dist {

// t <- rank `root`'s t, whatever its dtype (the bytes are copied; t must be contiguous or is
// staged through a contiguous copy).
inline void broadcast_any(const AnyTensor& t, int root = 0) {
  ProcessGroup& g = group();
  TensorImpl& impl = *t.impl;
  EMBER_CHECK(impl.is_contiguous(),
              "ember::dist::broadcast_any: expected a contiguous tensor of "
              "shape ",
              shape_str(impl.shape), " (parameters and buffers are)");
  char* data =
      static_cast<char*>(impl.storage->data()) + impl.offset * int64_t(dtype_size(impl.dtype));
  const size_t bytes = size_t(impl.numel()) * dtype_size(impl.dtype);
  if (impl.storage->device().is_cuda())
    return nccl::broadcast_bytes(data, bytes, impl.storage->device().index, root, g);
#ifdef EMBER_WITH_MPI
  MPI_Request req;
  check_mpi(MPI_Ibcast(data, detail::mpi_count(int64_t(bytes), "broadcast"), MPI_BYTE, root,
                       g.comm(), &req),
            "broadcast", "MPI_Ibcast");
  g.wait(req, "broadcast");
#else
  (void)data;
  no_mpi("broadcast");
#endif
}

// Rank 0's parameters and buffers onto every rank (all ranks must hold the same architecture).
inline void broadcast_parameters(const nn::Module& module, bool buffers = true) {
  for (auto& [name, t] : module.named_parameters()) broadcast_any(t);
  if (buffers)
    for (auto& [name, t] : module.named_buffers()) broadcast_any(t);
}

inline void broadcast_buffers(const nn::Module& module) {
  for (auto& [name, t] : module.named_buffers()) broadcast_any(t);
}

}  // namespace ember::dist
