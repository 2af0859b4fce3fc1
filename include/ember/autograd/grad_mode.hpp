// Whether ops record the graph. Off inside NoGradGuard (optimizer updates, evaluation) and
// during backward unless create_graph asks for a differentiable backward pass.
#pragma once

namespace ember {

class GradMode {
 public:
  static bool is_enabled() { return flag(); }
  static void set_enabled(bool enabled) { flag() = enabled; }

 private:
  static bool& flag() {
    thread_local bool enabled = true;
    return enabled;
  }
};

// Sets grad mode for a scope and restores the previous one on exit.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : previous_(GradMode::is_enabled()) {
    GradMode::set_enabled(enabled);
  }
  ~AutoGradMode() { GradMode::set_enabled(previous_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

class NoGradGuard : public AutoGradMode {
 public:
  NoGradGuard() : AutoGradMode(false) {}
};

}  // namespace ember
