// A training run interrupted by a checkpoint resumes exactly: model and optimizer state saved
// as safetensors and loaded into fresh objects give bit-identical steps afterwards.
#include <doctest/doctest.h>

#include <ember/io/checkpoint.hpp>
#include <ember/nn/activation.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/sgd.hpp>
#include <filesystem>
#include <memory>

using namespace ember;

namespace {

std::shared_ptr<nn::Sequential> make_model(uint64_t seed) {
  Generator gen(seed);
  return nn::make_sequential(std::make_shared<nn::Linear>(6, 8, gen), std::make_shared<nn::ReLU>(),
                             std::make_shared<nn::Linear>(8, 3, gen));
}

template <class Opt>
float train_step(nn::Sequential& model, Opt& opt, const Tensor<float>& x, const Tensor<int64_t>& y) {
  opt.zero_grad();
  auto loss = nn::functional::cross_entropy(model.forward(x), y);
  loss.backward();
  opt.step();
  return loss.item();
}

std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("ember_ckpt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

template <class Opt, class Options>
void check_resume(Options options) {
  Generator gen(3);
  const auto x = Tensor<float>::randn({16, 6}, gen);
  const auto y = Tensor<int64_t>::randint(0, 3, {16}, gen);

  auto model = make_model(1);
  Opt opt(model->parameters(), options);
  for (int i = 0; i < 3; ++i) train_step(*model, opt, x, y);
  const auto model_path = scratch("model.safetensors"), opt_path = scratch("opt.safetensors");
  io::save_module(model_path, *model, {{"step", "3"}});
  io::save_optimizer(opt_path, opt);

  auto resumed = make_model(99);  // different initial weights: all must come from the file
  Opt resumed_opt(resumed->parameters(), options);
  io::load_module(model_path, *resumed);
  io::load_optimizer(opt_path, resumed_opt);

  for (int i = 0; i < 3; ++i) {
    const float a = train_step(*model, opt, x, y), b = train_step(*resumed, resumed_opt, x, y);
    CHECK(a == b);
  }
  const auto p = model->parameters(), q = resumed->parameters();
  for (size_t i = 0; i < p.size(); ++i)
    CHECK(Tensor<float>(p[i].impl).to_vector() == Tensor<float>(q[i].impl).to_vector());
  CHECK(io::load_safetensors(model_path).metadata.at("step") == "3");
}

}  // namespace

TEST_CASE("model and Adam state resume bit for bit") { check_resume<optim::Adam>(optim::AdamOptions{.lr = 1e-2}); }

TEST_CASE("model and SGD momentum state resume bit for bit") {
  check_resume<optim::SGD>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
}

TEST_CASE("loading a checkpoint into the wrong model is a clear error") {
  auto model = make_model(1);
  const auto path = scratch("small.safetensors");
  io::save_module(path, *model);
  Generator gen(0);
  auto wider = nn::make_sequential(std::make_shared<nn::Linear>(6, 9, gen), std::make_shared<nn::ReLU>(),
                                   std::make_shared<nn::Linear>(9, 3, gen));
  CHECK_THROWS_WITH_AS(io::load_module(path, *wider), doctest::Contains("0.weight"), Error);
  auto deeper = nn::make_sequential(std::make_shared<nn::Linear>(6, 8, gen), std::make_shared<nn::ReLU>(),
                                    std::make_shared<nn::Linear>(8, 3, gen), std::make_shared<nn::ReLU>(),
                                    std::make_shared<nn::Linear>(3, 3, gen));
  CHECK_THROWS_WITH_AS(io::load_module(path, *deeper), doctest::Contains("4.weight"), Error);
  optim::Adam adam(model->parameters());
  CHECK_THROWS_AS(io::load_optimizer(path, adam), Error);  // a model file is not optimizer state
}
