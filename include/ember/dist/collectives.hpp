// Collectives on tensors of the default process group (dist::init()), PyTorch's names and
// semantics: all_reduce and broadcast work in place; all_gather concatenates every rank's
// tensor along dim 0; reduce_scatter reduces and hands rank r the r-th slice along dim 0.
// CPU tensors go through MPI, CUDA tensors through NCCL (dist/nccl.hpp). Every call waits with
// the group's watchdog (dist/process_group.hpp), so a failed rank is named, never waited on.
//
// all_reduce_async starts the reduction and returns a Work to wait on later: DDP overlaps it
// with the rest of backward (dist/ddp.hpp).
#pragma once

#include <cstdint>
#include <ember/core/tensor.hpp>
#include <ember/dist/nccl.hpp>
#include <ember/dist/process_group.hpp>
#include <functional>
#include <limits>
#include <utility>

namespace ember::dist {

enum class ReduceOp { Sum, Avg, Max };

namespace detail {

#ifdef EMBER_WITH_MPI
inline MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::Max ? MPI_MAX : MPI_SUM; }

inline int mpi_count(int64_t n, const char* op) {
  EMBER_CHECK(n <= std::numeric_limits<int>::max(), "ember::dist::", op, ": ", n,
              " elements is more than one MPI call takes (2^31 - 1); split the tensor");
  return int(n);
}
#endif

template <class T>
void check_tensor(const Tensor<T>& t, const char* op) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "ember::dist collectives take float or double tensors");
  EMBER_CHECK(t.defined(), "ember::dist::", op, ": the tensor is undefined");
}

// t itself when contiguous, else a contiguous copy whose result finish() copies back.
template <class T>
Tensor<T> staged(const Tensor<T>& t) {
  return t.is_contiguous() ? t.detach() : t.detach().contiguous();
}

}  // namespace detail

// A collective in flight. wait() finishes it (and is a no-op afterwards).
class Work {
 public:
  Work() = default;
#ifdef EMBER_WITH_MPI
  Work(MPI_Request request, const char* op, std::function<void()> finish)
      : request_(request), op_(op), finish_(std::move(finish)), pending_(true) {}
#endif
  explicit Work(std::function<void()> finish) : finish_(std::move(finish)), pending_(true) {}

  // True once the data has arrived (polls MPI; for NCCL, true at once: see dist/nccl.hpp).
  bool poll() {
#ifdef EMBER_WITH_MPI
    if (pending_ && request_ != MPI_REQUEST_NULL) return group().test(request_, op_);
#endif
    return true;
  }
  void wait() {
    if (!pending_) return;
#ifdef EMBER_WITH_MPI
    if (request_ != MPI_REQUEST_NULL) group().wait(request_, op_);
#endif
    pending_ = false;
    if (finish_) finish_();
  }
  bool pending() const { return pending_; }

 private:
#ifdef EMBER_WITH_MPI
  MPI_Request request_ = MPI_REQUEST_NULL;
#endif
  const char* op_ = "";
  std::function<void()> finish_;
  bool pending_ = false;
};

// Starts t <- op over all ranks of t (in place); the result is there after wait().
template <class T>
Work all_reduce_async(const Tensor<T>& t, ReduceOp op = ReduceOp::Sum) {
  detail::check_tensor(t, "all_reduce");
  ProcessGroup& g = group();
  if (t.device().is_cuda()) {
    nccl::all_reduce(t, int(op), g);
    return Work([] {});
  }
#ifdef EMBER_WITH_MPI
  Tensor<T> buf = detail::staged(t);
  MPI_Request req;
  check_mpi(
      MPI_Iallreduce(MPI_IN_PLACE, buf.data_ptr(), detail::mpi_count(buf.numel(), "all_reduce"),
                     mpi_type<T>(), detail::mpi_op(op), g.comm(), &req),
      "all_reduce", "MPI_Iallreduce");
  return Work(req, "all_reduce", [t, buf, op, world = g.world_size()] {
    if (op == ReduceOp::Avg) {
      T* p = buf.data_ptr();
      for (int64_t i = 0, n = buf.numel(); i < n; ++i) p[i] /= T(world);
    }
    if (!buf.shares_storage_with(t)) {
      NoGradGuard no_grad;
      t.detach().copy_(buf);
    }
  });
#else
  no_mpi("all_reduce");
#endif
}

template <class T>
void all_reduce(const Tensor<T>& t, ReduceOp op = ReduceOp::Sum) {
  all_reduce_async(t, op).wait();
}

// t <- rank `root`'s t, on every rank (in place).
template <class T>
void broadcast(const Tensor<T>& t, int root = 0) {
  detail::check_tensor(t, "broadcast");
  ProcessGroup& g = group();
  EMBER_CHECK(root >= 0 && root < g.world_size(), "ember::dist::broadcast: root ", root,
              " is not a rank of a world of ", g.world_size());
  if (t.device().is_cuda()) return nccl::broadcast(t, root, g);
#ifdef EMBER_WITH_MPI
  Tensor<T> buf = detail::staged(t);
  MPI_Request req;
  check_mpi(MPI_Ibcast(buf.data_ptr(), detail::mpi_count(buf.numel(), "broadcast"), mpi_type<T>(),
                       root, g.comm(), &req),
            "broadcast", "MPI_Ibcast");
  g.wait(req, "broadcast");
  if (!buf.shares_storage_with(t)) {
    NoGradGuard no_grad;
    t.detach().copy_(buf);
  }
#else
  no_mpi("broadcast");
#endif
}

// Every rank's t (all of one shape [n, ...]) stacked along dim 0: [world * n, ...], rank order.
template <class T>
Tensor<T> all_gather(const Tensor<T>& t) {
  detail::check_tensor(t, "all_gather");
  EMBER_CHECK(t.dim() >= 1,
              "ember::dist::all_gather: expected a tensor of at least 1 dimension, "
              "got a scalar");
  ProcessGroup& g = group();
  Shape shape = t.shape();
  shape[0] *= g.world_size();
  Tensor<T> out = Tensor<T>::empty(shape, t.device());
  const Tensor<T> in = t.detach().contiguous();
  if (t.device().is_cuda()) {
    nccl::all_gather(in, out, g);
    return out;
  }
#ifdef EMBER_WITH_MPI
  MPI_Request req;
  const int n = detail::mpi_count(in.numel(), "all_gather");
  detail::mpi_count(out.numel(), "all_gather");
  check_mpi(MPI_Iallgather(in.data_ptr(), n, mpi_type<T>(), out.data_ptr(), n, mpi_type<T>(),
                           g.comm(), &req),
            "all_gather", "MPI_Iallgather");
  g.wait(req, "all_gather");
  return out;
#else
  no_mpi("all_gather");
#endif
}

// t has shape [world * n, ...] on every rank; rank r gets slice r ([n, ...]) of the reduction.
template <class T>
Tensor<T> reduce_scatter(const Tensor<T>& t, ReduceOp op = ReduceOp::Sum) {
  detail::check_tensor(t, "reduce_scatter");
  ProcessGroup& g = group();
  EMBER_CHECK(t.dim() >= 1 && t.size(0) % g.world_size() == 0,
              "ember::dist::reduce_scatter: "
              "expected dim 0 divisible by the world size ",
              g.world_size(), ", got shape ", shape_str(t.shape()));
  Shape shape = t.shape();
  shape[0] /= g.world_size();
  Tensor<T> out = Tensor<T>::empty(shape, t.device());
  const Tensor<T> in = t.detach().contiguous();
  if (t.device().is_cuda()) {
    nccl::reduce_scatter(in, out, int(op), g);
    return out;
  }
#ifdef EMBER_WITH_MPI
  MPI_Request req;
  check_mpi(MPI_Ireduce_scatter_block(in.data_ptr(), out.data_ptr(),
                                      detail::mpi_count(out.numel(), "reduce_scatter"),
                                      mpi_type<T>(), detail::mpi_op(op), g.comm(), &req),
            "reduce_scatter", "MPI_Ireduce_scatter_block");
  g.wait(req, "reduce_scatter");
  if (op == ReduceOp::Avg) {
    T* p = out.data_ptr();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] /= T(g.world_size());
  }
  return out;
#else
  no_mpi("reduce_scatter");
#endif
}

// Returns when every rank has called it (or throws naming the ranks that did not).
inline void barrier() {
  ProcessGroup& g = group();
#ifdef EMBER_WITH_MPI
  MPI_Request req;
  check_mpi(MPI_Ibarrier(g.comm(), &req), "barrier", "MPI_Ibarrier");
  g.wait(req, "barrier");
#else
  (void)g;
  no_mpi("barrier");
#endif
}

}  // namespace ember::dist
