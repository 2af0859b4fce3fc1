// The README's usage example, built against an installed ember through find_package.
// It must train: the loss after 100 Adam steps on one batch is far below the first.
#include <ember/ember.hpp>

#include <cstdio>
#include <memory>

int main() {
  namespace nn = ember::nn;
  ember::Generator gen(42);

  auto model = nn::make_sequential(std::make_shared<nn::Linear>(784, 256, gen),
                                   std::make_shared<nn::ReLU>(),
                                   std::make_shared<nn::Linear>(256, 10, gen));
  ember::optim::Adam opt(model->parameters(), {.lr = 1e-3});

  auto x = ember::Tensor<float>::randn({64, 784}, gen);             // a batch of inputs
  auto labels = ember::Tensor<int64_t>::randint(0, 10, {64}, gen);  // their classes

  float first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    auto loss = nn::functional::cross_entropy(model->forward(x), labels);
    opt.zero_grad();
    loss.backward();
    opt.step();
    last = loss.item();
    if (step == 0) first = last;
    if (step % 20 == 0) std::printf("step %3d  loss %.4f\n", step, double(last));
  }
  return last < 0.1f * first ? 0 : 1;
}
