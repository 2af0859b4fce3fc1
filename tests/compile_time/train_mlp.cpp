// A small user program: an MLP trained for 5 Adam steps on random data. It is the yardstick
// for how long a user's translation unit takes to compile (tools/compile_time.sh), and the
// ctest test compile_time_train_mlp builds and runs it with EMBER_EXTERN_TEMPLATES to prove
// that src/instances*.cpp define every template the extern declarations suppress.
#include <cmath>
#include <cstdio>
#include <ember/ember.hpp>
#include <memory>

using namespace ember;

int main() {
  Generator gen(0);
  auto model =
      nn::make_sequential(std::make_shared<nn::Linear>(32, 64, gen), std::make_shared<nn::ReLU>(),
                          std::make_shared<nn::Linear>(64, 10, gen));
  optim::Adam opt(model->parameters(), {.lr = 1e-2});

  const auto x = Tensor<float>::randn({128, 32}, gen);
  const auto y = Tensor<int64_t>::randint(0, 10, {128}, gen);
  float first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    Tensor<float> loss = nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    opt.step();
    last = loss.item();
    if (step == 0) first = last;
    std::printf("step %d: loss %.4f\n", step, double(last));
  }
  // Adam on a fixed batch must lower the loss; anything else means a broken build.
  return std::isfinite(last) && last < first ? 0 : 1;
}
