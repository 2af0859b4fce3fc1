// A rank that fails mid-step, for the failure tests of tests/dist/CMakeLists.txt:
//   dist_failure kill   rank 1 is killed (SIGKILL) in its third step
//   dist_failure throw  rank 1 throws in its third step and nothing catches it
//   dist_failure hang   rank 1 stops calling collectives (sleeps) in its third step
// The other ranks keep training; ctest checks that the job ends, within its timeout, with an
// error naming rank 1.
#include <csignal>
#include <cstdio>
#include <ember/dist/ddp.hpp>
#include <ember/nn/linear.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>
#include <ember/optim/sgd.hpp>
#include <string>
#include <thread>

using namespace ember;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "kill" && mode != "throw" && mode != "hang") {
    std::fprintf(stderr, "usage: dist_failure kill|throw|hang\n");
    return 2;
  }
  auto& g = dist::init();
  try {
    Generator gen(1);
    auto model = std::make_shared<nn::Linear>(64, 64, gen);
    dist::DistributedDataParallel ddp(model);
    optim::SGD opt(model->parameters(), {.lr = 0.01});
    for (int step = 0; step < 1000; ++step) {
      if (g.rank() == 1 && step == 2) {
        if (mode == "kill") std::raise(SIGKILL);
        if (mode == "throw") throw Error("dist_failure: rank 1 fails on purpose in step 2");
        std::this_thread::sleep_for(std::chrono::seconds(600));
      }
      opt.zero_grad();
      mean(square(ddp(Tensor<float>::randn({8, 64}, gen)))).backward();
      opt.step();
    }
  } catch (const Error& e) {
    if (g.rank() == 1) throw;  // the failing rank: left uncaught, so std::terminate
    std::fprintf(stderr, "rank %d: %s\n", g.rank(), e.what());
    return 1;
  }
  std::printf("rank %d finished without noticing the failure\n", g.rank());
  return 0;
}
