// The CUDA side of the collectives: NCCL, one communicator per process group, one GPU per
// process (the tensor's device; launch one rank per GPU and pick it with the local rank).
// NCCL's unique id is made on rank 0 and broadcast over MPI. Built only with
// -DEMBER_CUDA=ON -DEMBER_NCCL=ON (EMBER_WITH_CUDA and EMBER_WITH_NCCL); elsewhere every
// function throws an error that says so. Calls are enqueued on the device's current stream
// (the one ember's kernels use) and wait for it, so the result is there on return, as MPI's is.
#pragma once

#include <ember/core/tensor.hpp>
#include <ember/dist/process_group.hpp>

#if defined(EMBER_WITH_CUDA) && defined(EMBER_WITH_NCCL) && defined(EMBER_WITH_MPI)
#include <cuda_runtime.h>
#include <nccl.h>

#include <ember/backend/cuda/api.hpp>
#define EMBER_DIST_NCCL 1
#endif

namespace ember::dist::nccl {

#ifdef EMBER_DIST_NCCL

inline void check(ncclResult_t rc, const char* op, const char* call) {
  if (rc != ncclSuccess)
    fail("ember::dist::", op, ": ", call, " failed: ", ncclGetErrorString(rc),
         " (NCCL_DEBUG=WARN "
         "says more)");
}

// The communicator of the group on `device`, made on first use (collectively: every rank
// must reach its first CUDA collective, as with any collective).
inline ncclComm_t comm(ProcessGroup& g, int device) {
  static ncclComm_t c = nullptr;
  static int on = -1;
  if (c) {
    EMBER_CHECK(on == device, "ember::dist: NCCL collectives on cuda:", device,
                " but this rank's "
                "communicator is on cuda:",
                on, "; use one GPU per process");
    return c;
  }
  ncclUniqueId id;
  if (g.rank() == 0) check(ncclGetUniqueId(&id), "nccl", "ncclGetUniqueId");
  MPI_Request req;
  check_mpi(MPI_Ibcast(&id, int(sizeof id), MPI_BYTE, 0, g.comm(), &req), "nccl", "MPI_Ibcast");
  g.wait(req, "nccl init");
  cudaSetDevice(device);
  check(ncclCommInitRank(&c, g.world_size(), id, g.rank()), "nccl", "ncclCommInitRank");
  on = device;
  return c;
}

template <class T>
ncclDataType_t type() {
  return std::is_same_v<T, float> ? ncclFloat32 : ncclFloat64;
}

inline ncclRedOp_t red(int op) { return op == 0 ? ncclSum : op == 1 ? ncclAvg : ncclMax; }

inline cudaStream_t stream(int device) {
  return static_cast<cudaStream_t>(cuda::current_stream(device));
}

inline void finish(int device, const char* op) {
  const cudaError_t e = cudaStreamSynchronize(stream(device));
  EMBER_CHECK(e == cudaSuccess, "ember::dist::", op, ": ", cudaGetErrorString(e));
}

template <class T>
void all_reduce(const Tensor<T>& t, int op, ProcessGroup& g) {
  const int dev = t.device().index;
  EMBER_CHECK(t.is_contiguous(), "ember::dist::all_reduce: a CUDA tensor must be contiguous");
  check(ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type<T>(), red(op),
                      comm(g, dev), stream(dev)),
        "all_reduce", "ncclAllReduce");
  finish(dev, "all_reduce");
}

template <class T>
void broadcast(const Tensor<T>& t, int root, ProcessGroup& g) {
  const int dev = t.device().index;
  EMBER_CHECK(t.is_contiguous(), "ember::dist::broadcast: a CUDA tensor must be contiguous");
  check(ncclBroadcast(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type<T>(), root, comm(g, dev),
                      stream(dev)),
        "broadcast", "ncclBroadcast");
  finish(dev, "broadcast");
}

template <class T>
void all_gather(const Tensor<T>& in, const Tensor<T>& out, ProcessGroup& g) {
  const int dev = in.device().index;
  check(ncclAllGather(in.data_ptr(), out.data_ptr(), size_t(in.numel()), type<T>(), comm(g, dev),
                      stream(dev)),
        "all_gather", "ncclAllGather");
  finish(dev, "all_gather");
}

template <class T>
void reduce_scatter(const Tensor<T>& in, const Tensor<T>& out, int op, ProcessGroup& g) {
  const int dev = in.device().index;
  check(ncclReduceScatter(in.data_ptr(), out.data_ptr(), size_t(out.numel()), type<T>(), red(op),
                          comm(g, dev), stream(dev)),
        "reduce_scatter", "ncclReduceScatter");
  finish(dev, "reduce_scatter");
}

// Any dtype, as bytes (module buffers: int64 step counters and the like).
inline void broadcast_bytes(void* data, size_t bytes, int device, int root, ProcessGroup& g) {
  check(ncclBroadcast(data, data, bytes, ncclChar, root, comm(g, device), stream(device)),
        "broadcast", "ncclBroadcast");
  finish(device, "broadcast");
}

#else

[[noreturn]] inline void unavailable(const char* op) {
  fail("ember::dist::", op,
       ": collectives on CUDA tensors need NCCL: configure with "
       "-DEMBER_CUDA=ON -DEMBER_NCCL=ON -DEMBER_MPI=ON (NCCL ships with the CUDA toolkit)");
}
template <class T>
void all_reduce(const Tensor<T>&, int, ProcessGroup&) {
  unavailable("all_reduce");
}
template <class T>
void broadcast(const Tensor<T>&, int, ProcessGroup&) {
  unavailable("broadcast");
}
template <class T>
void all_gather(const Tensor<T>&, const Tensor<T>&, ProcessGroup&) {
  unavailable("all_gather");
}
template <class T>
void reduce_scatter(const Tensor<T>&, const Tensor<T>&, int, ProcessGroup&) {
  unavailable("reduce_scatter");
}
inline void broadcast_bytes(void*, size_t, int, int, ProcessGroup&) { unavailable("broadcast"); }

#endif

}  // namespace ember::dist::nccl
