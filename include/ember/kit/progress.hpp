// Progress lines for long work: the phase, step of total, what is happening (the loss of the
// moment), elapsed time and an estimate of the time left —
//
//   [train] 120/938 (12.8%)  loss 0.4312  0:12 elapsed, about 1:22 left
//
// at most one line per `min_interval` seconds (plus the first and the last), so a ten-minute
// run never looks hung and its log stays readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ember/core/error.hpp>
#include <functional>
#include <string>

namespace ember::kit {

// "m:ss" or "h:mm:ss".
inline std::string format_duration(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  const auto s = int64_t(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

class Progress {
 public:
  using Clock = std::function<double()>;                 // seconds, monotonic
  using Sink = std::function<void(const std::string&)>;  // receives one line, no newline

  // `total` steps of `phase`. The clock and the sink are for tests; by default the steady
  // clock and stdout (flushed, so a piped log shows each line as it happens).
  Progress(std::string phase, int64_t total, double min_interval = 0.5, Clock clock = {},
           Sink sink = {})
      : phase_(std::move(phase)),
        total_(total),
        min_interval_(min_interval),
        clock_(clock ? std::move(clock) : steady_seconds),
        sink_(sink ? std::move(sink) : print_line) {
    EMBER_CHECK(total >= 1, "Progress('", phase_, "'): total must be at least 1, got ", total);
    start_ = clock_();
  }

  // Reports that `done` of the total steps are finished. Prints when it is the first or the
  // last step, or when min_interval has passed since the last line.
  void update(int64_t done, const std::string& status = "") {
    const double now = clock_();
    const bool edge = done >= total_ || !printed_;
    if (!edge && now - last_print_ < min_interval_) return;
    last_print_ = now;
    printed_ = true;
    sink_(line(done, status, now - start_));
  }

  double elapsed() const { return clock_() - start_; }

  // The line update() prints (public for tests and for callers that log elsewhere too).
  std::string line(int64_t done, const std::string& status, double elapsed) const {
    char head[96];
    std::snprintf(head, sizeof head, "[%s] %lld/%lld (%.1f%%)", phase_.c_str(), (long long)done,
                  (long long)total_, 100.0 * double(done) / double(total_));
    std::string out = head;
    if (!status.empty()) out += "  " + status;
    out += "  " + format_duration(elapsed) + " elapsed";
    if (done >= total_)
      out += ", done";
    else if (done > 0)
      out += ", about " + format_duration(elapsed / double(done) * double(total_ - done)) + " left";
    return out;
  }

 private:
  static double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static void print_line(const std::string& s) {
    std::fputs(s.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

  std::string phase_;
  int64_t total_;
  double min_interval_;
  Clock clock_;
  Sink sink_;
  double start_ = 0, last_print_ = 0;
  bool printed_ = false;
};

}  // namespace ember::kit
