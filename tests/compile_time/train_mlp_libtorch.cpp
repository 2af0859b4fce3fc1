// The same program as train_mlp.cpp written with libtorch (Debian's libtorch-dev): the
// yardstick tools/compile_time.sh holds ember's compile time against. Not built by CMake
// (libtorch is not a dependency of ember); compile it by hand to run it:
//   g++ -std=c++17 -O2 -I/usr/include/torch/csrc/api/include train_mlp_libtorch.cpp \
//       -ltorch -ltorch_cpu -lc10
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

int main() {
  torch::manual_seed(0);
  torch::nn::Sequential model(torch::nn::Linear(32, 64), torch::nn::ReLU(),
                              torch::nn::Linear(64, 10));
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));

  const auto x = torch::randn({128, 32});
  const auto y = torch::randint(0, 10, {128});
  float first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    opt.step();
    last = loss.item<float>();
    if (step == 0) first = last;
    std::printf("step %d: loss %.4f\n", step, double(last));
  }
  return std::isfinite(last) && last < first ? 0 : 1;
}
