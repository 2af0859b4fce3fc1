// The process group: every process of an `mpirun` (or Slurm) launch, with its rank, the world
// size and its rank among the processes of its own machine (the GPU it takes). Created once by
// dist::init() from the MPI environment; dist::group() returns it.
//
// Failure behaviour. Collectives are nonblocking MPI calls finished by ProcessGroup::wait,
// which polls them against a deadline (the timeout) and meanwhile serves a control channel
// (its own communicator): a rank that fails calls abort(why) (init() installs it as the
// std::terminate handler, so an uncaught exception does it too), which tells every other rank
// "rank r failed: why" before MPI_Abort; a waiting rank throws that as an ember::Error. A rank
// that is killed or hangs sends nothing: when the deadline passes, the waiting ranks ping each
// other, and the error names the ranks that did not answer. (Under mpirun a killed rank also
// makes mpirun end the job at once, naming it: "process rank 1 ... exited on signal 9".)
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ember/dist/mpi.hpp>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ember::dist {

struct InitOptions {
  // Seconds a collective waits for the other ranks before it throws, naming the missing ones.
  // 0: the environment variable EMBER_DIST_TIMEOUT if set, else 300.
  double timeout_s = 0;
};

class ProcessGroup {
 public:
  int rank() const { return rank_; }
  int world_size() const { return world_; }
  int local_rank() const { return local_rank_; }  // rank among the processes of this machine
  int local_world_size() const { return local_world_; }
  bool is_main() const { return rank_ == 0; }
  double timeout_s() const { return timeout_s_; }
  void set_timeout(double seconds) {
    EMBER_CHECK(seconds > 0, "ember::dist::ProcessGroup::set_timeout: expected seconds > 0, got ",
                seconds);
    timeout_s_ = seconds;
  }

  // Tells the other ranks that this one failed (naming `why`), gives them a moment to report
  // it, and ends the job (MPI_Abort).
  [[noreturn]] void abort(const std::string& why, int code = 1);

#ifdef EMBER_WITH_MPI
  MPI_Comm comm() const { return data_; }
  // Finishes `request` (a nonblocking collective on comm()) within the timeout; throws
  // ember::Error naming the failed or silent ranks otherwise. `op` names the collective.
  void wait(MPI_Request& request, const char* op);
  // One poll of `request` (and of the control channel); true when it has finished.
  bool test(MPI_Request& request, const char* op);

  explicit ProcessGroup(const InitOptions& options);
  void finalize(bool clean);
#endif

 private:
  int rank_ = 0, world_ = 1, local_rank_ = 0, local_world_ = 1;
  double timeout_s_ = 300;
  bool failed_ = false;  // a collective was abandoned: MPI_Finalize could hang, so abort at exit
#ifdef EMBER_WITH_MPI
  MPI_Comm data_ = MPI_COMM_NULL, control_ = MPI_COMM_NULL;
  std::vector<char> answered_;  // roll call: who answered the last ping
  int acks_ = 0;
  unsigned polls_ = 0;
  std::string fail_text_;  // stays alive while the failure notices are in flight
  std::vector<MPI_Request> fail_sends_;

  enum Tag { kPing = 1, kPong = 2, kFail = 3, kAck = 4 };
  static inline const int kToken = 0;
  void send_token(int to, Tag tag) {
    MPI_Request r;
    MPI_Isend(&kToken, 1, MPI_INT, to, tag, control_, &r);
    MPI_Request_free(&r);  // a constant buffer, so nothing waits for it
  }
  void serve(const char* op);
  [[noreturn]] void roll_call(const char* op, double waited_s);
#endif
};

namespace detail {
inline std::unique_ptr<ProcessGroup>& group_slot() {
  static std::unique_ptr<ProcessGroup> g;
  return g;
}
inline bool& finalized() {
  static bool done = false;
  return done;
}
}  // namespace detail

inline bool is_initialized() { return detail::group_slot() != nullptr && !detail::finalized(); }

// The group made by init().
inline ProcessGroup& group() {
  if (!kHaveMpi) no_mpi("group");
  EMBER_CHECK(is_initialized(),
              "ember::dist::group: call ember::dist::init() first (and run "
              "the program under mpirun)");
  return *detail::group_slot();
}

#ifdef EMBER_WITH_MPI

inline ProcessGroup::ProcessGroup(const InitOptions& options) {
  int ready = 0;
  MPI_Initialized(&ready);
  if (!ready) {
    int provided = 0;  // only the main thread calls MPI
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "init",
              "MPI_Init_thread");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &data_), "init", "MPI_Comm_dup");
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &control_), "init", "MPI_Comm_dup");
  MPI_Comm_rank(data_, &rank_);
  MPI_Comm_size(data_, &world_);
  MPI_Comm node;  // the ranks sharing this machine's memory: local rank = GPU index
  check_mpi(MPI_Comm_split_type(data_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "init",
            "MPI_Comm_split_type");
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_world_);
  MPI_Comm_free(&node);
  timeout_s_ = options.timeout_s;
  if (timeout_s_ <= 0) {
    const char* env = std::getenv("EMBER_DIST_TIMEOUT");
    timeout_s_ = env ? std::atof(env) : 300.0;
    EMBER_CHECK(timeout_s_ > 0,
                "ember::dist::init: EMBER_DIST_TIMEOUT must be a positive number "
                "of seconds, got '",
                env, "'");
  }
  answered_.assign(size_t(world_), 0);
}

// Answers pings, counts pongs and acks; a failure notice becomes this rank's error.
inline void ProcessGroup::serve(const char* op) {
  for (;;) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, control_, &flag, &st);
    if (!flag) return;
    if (st.MPI_TAG == kFail) {
      int n = 0;
      MPI_Get_count(&st, MPI_CHAR, &n);
      std::string text(size_t(std::max(n, 0)), '\0');
      MPI_Recv(text.data(), n, MPI_CHAR, st.MPI_SOURCE, kFail, control_, MPI_STATUS_IGNORE);
      send_token(st.MPI_SOURCE, kAck);
      failed_ = true;
      fail("ember::dist::", op, " on rank ", rank_, ": stopped because rank ", st.MPI_SOURCE,
           " failed: ", text);
    }
    int token = 0;
    MPI_Recv(&token, 1, MPI_INT, st.MPI_SOURCE, st.MPI_TAG, control_, MPI_STATUS_IGNORE);
    if (st.MPI_TAG == kPing)
      send_token(st.MPI_SOURCE, kPong);
    else if (st.MPI_TAG == kPong)
      answered_[size_t(st.MPI_SOURCE)] = 1;
    else if (st.MPI_TAG == kAck)
      ++acks_;
  }
}

inline bool ProcessGroup::test(MPI_Request& request, const char* op) {
  int done = 0;
  check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), op, "MPI_Test");
  // The control channel is for failures: looking at it on every 64th poll keeps the polls
  // cheap and still notices a failure within microseconds.
  if (!done && (++polls_ & 63) == 0) serve(op);
  return done != 0;
}

inline void ProcessGroup::wait(MPI_Request& request, const char* op) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (long polls = 0;; ++polls) {
    if (test(request, op)) return;
    const double waited = std::chrono::duration<double>(clock::now() - start).count();
    if (waited > timeout_s_) {
      failed_ = true;
      roll_call(op, waited);
    }
    // Poll without pause (yielding the core to the other ranks) for a while: MPI moves a large
    // message only inside these calls, so every pause costs bandwidth. A rank that waits
    // longer is waiting for a slow peer: poll every millisecond, not to burn a core for minutes.
    if (waited < 2.0) {
      if ((polls & 63) == 63) std::this_thread::yield();  // oversubscribed ranks take turns
    } else
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// The deadline passed: ask every rank whether it is alive and waiting too.
inline void ProcessGroup::roll_call(const char* op, double waited_s) {
  std::fill(answered_.begin(), answered_.end(), 0);
  answered_[size_t(rank_)] = 1;
  for (int r = 0; r < world_; ++r)
    if (r != rank_) send_token(r, kPing);
  const auto start = std::chrono::steady_clock::now();
  const double grace = std::min(3.0, std::max(0.5, timeout_s_));
  while (std::count(answered_.begin(), answered_.end(), 1) < world_ &&
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < grace) {
    serve(op);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string silent;
  for (int r = 0; r < world_; ++r)
    if (!answered_[size_t(r)]) silent += (silent.empty() ? "" : ", ") + std::to_string(r);
  if (silent.empty())
    fail("ember::dist::", op, " on rank ", rank_, ": not finished after ", waited_s,
         " s although every rank is alive and waiting: the ranks called different collectives, "
         "or the same one with different sizes");
  fail("ember::dist::", op, " on rank ", rank_, ": timed out after ", waited_s,
       " s waiting for rank", silent.find(',') == std::string::npos ? " " : "s ", silent,
       ", which did not answer (it died, hangs, or is not calling this collective; the timeout is "
       "EMBER_DIST_TIMEOUT or InitOptions::timeout_s)");
}

inline void ProcessGroup::abort(const std::string& why, int code) {
  // First the message (mpirun may kill this process once the others have reported).
  std::fprintf(stderr, "ember::dist: rank %d of %d ends the job: %s\n", rank_, world_, why.c_str());
  std::fflush(stderr);
  if (fail_sends_.empty() && world_ > 1) {
    fail_text_ = why;
    fail_sends_.resize(size_t(world_ - 1));
    for (int r = 0, i = 0; r < world_; ++r)
      if (r != rank_)
        MPI_Isend(fail_text_.data(), int(fail_text_.size()), MPI_CHAR, r, kFail, control_,
                  &fail_sends_[size_t(i++)]);
    // Give the others (those waiting in a collective) a moment to receive it and report it.
    const auto start = std::chrono::steady_clock::now();
    while (acks_ < world_ - 1 &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 3.0) {
      try {
        serve("abort");
      } catch (const Error&) {  // another rank failed at the same time: keep aborting
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (acks_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

inline void ProcessGroup::finalize(bool clean) {
  if (!clean || failed_) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);  // a collective was abandoned: MPI_Finalize could hang
  }
  MPI_Comm_free(&control_);
  MPI_Comm_free(&data_);
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}

#else

inline void ProcessGroup::abort(const std::string& why, int code) {
  std::fprintf(stderr, "ember::dist: %s\n", why.c_str());
  std::exit(code);
}

#endif

// Ends MPI: every rank must call it (or return from main, which calls it at exit).
inline void finalize() {
#ifdef EMBER_WITH_MPI
  if (!is_initialized()) return;
  detail::finalized() = true;
  detail::group_slot()->finalize(/*clean=*/true);
#endif
}

namespace detail {
inline void abort_on_terminate() {
  std::string why = "terminate called";
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      why = std::string("uncaught exception: ") + x.what();
    } catch (...) {
      why = "uncaught exception of unknown type";
    }
  }
  if (is_initialized()) group().abort(why);
  std::fprintf(stderr, "%s\n", why.c_str());
  std::abort();
}
}  // namespace detail

// True when this process was started by an MPI launcher (mpirun, mpiexec, or srun with PMI):
// a program can then call init() and train data-parallel, and run alone otherwise.
inline bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(var)) return true;
  return false;
}

// Joins the job (MPI_Init on first call) and returns its process group. Without mpirun it is
// a group of one. Throws ember::Error in a build without MPI, naming the CMake option.
inline ProcessGroup& init(const InitOptions& options = {}) {
#ifdef EMBER_WITH_MPI
  if (is_initialized()) return *detail::group_slot();
  EMBER_CHECK(!detail::finalized(),
              "ember::dist::init: MPI was already finalized; a process "
              "can join the job once");
  detail::group_slot() = std::make_unique<ProcessGroup>(options);
  std::set_terminate(detail::abort_on_terminate);
  std::atexit(finalize);
  return *detail::group_slot();
#else
  (void)options;
  no_mpi("init");
#endif
}

// For main's catch block: tells the other ranks that this one failed, then ends the job. In a
// run without a group (no init()), prints `why` and exits with `code`.
[[noreturn]] inline void abort(const std::string& why, int code = 1) {
  if (is_initialized()) group().abort(why, code);
  std::fprintf(stderr, "%s\n", why.c_str());
  std::exit(code);
}

}  // namespace ember::dist
