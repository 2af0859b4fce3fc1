// A node of the autograd graph: the backward rule of one op application.
//
// The rule is a closure built in the op's own function, next to the forward computation
// (as in flashlight and micrograd). It takes the gradient of the op's output and returns
// one gradient per input (an undefined entry where no gradient flows). The closure captures
// only what backward needs; it is destroyed after use unless the graph is retained, which
// frees the saved tensors and makes a second backward an error rather than a wrong answer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ember {

struct TensorImpl;
using ImplPtr = std::shared_ptr<TensorImpl>;

struct Node {
  std::string name;            // the op, e.g. "mul", for error messages and anomaly reports
  std::vector<ImplPtr> inputs;  // inputs that take a gradient; nullptr where none flows
  std::function<std::vector<ImplPtr>(const ImplPtr& grad_output)> backward;
  bool released = false;

  void release() {
    backward = nullptr;
    released = true;
  }
};

// Callbacks of a leaf tensor that backward() runs right after it has accumulated the leaf's
// gradient into .grad() (PyTorch's post-accumulate-grad hooks): data-parallel training starts
// a bucket's all-reduce from here while the rest of backward still runs. Registered through
// autograd/hooks.hpp; held by the TensorImpl, so they die with the tensor.
struct LeafHooks {
  std::vector<std::pair<uint64_t, std::function<void(const ImplPtr&)>>> post_accumulate_grad;
  uint64_t next_id = 0;
};

}  // namespace ember
