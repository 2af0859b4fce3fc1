// Crash safety of checkpoints: a process SIGKILLed at any moment while save_safetensors
// overwrites a checkpoint leaves at the path either the old or the new complete file, never a
// partial one; leftover temporary files never load as garbage.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <ember/core/tensor.hpp>
#include <ember/io/safetensors.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace ember;
namespace fs = std::filesystem;

namespace {

// Which of the two versions a loaded checkpoint is: 0 (A), 1 (B), or -1 (neither: corrupt).
int which_version(const io::SafetensorsFile& f, const std::vector<std::vector<float>>& versions) {
  if (f.tensors.size() != 2 || f.tensors[0].first != "weight" || f.tensors[1].first != "version")
    return -1;
  const int64_t tag = io::get<int64_t>(f, "version").item();
  if (tag != 0 && tag != 1) return -1;
  const std::vector<float> w = io::get<float>(f, "weight").to_vector();
  return w == versions[size_t(tag)] ? int(tag) : -1;
}

}  // namespace

TEST_CASE("crash safety: SIGKILL during save_safetensors never leaves a partial checkpoint") {
  const fs::path dir = fs::temp_directory_path() / ("ember_crash_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "ckpt.safetensors").string();

  // Two ~4 MB versions that differ in every element (and in the "version" tag).
  constexpr int64_t kN = int64_t{1} << 20;
  std::vector<std::vector<float>> versions(2, std::vector<float>(size_t(kN)));
  for (int64_t i = 0; i < kN; ++i) {
    versions[0][size_t(i)] = float(i % 1000) * 0.5f;
    versions[1][size_t(i)] = -float(i % 777) - 1.0f;
  }
  std::vector<StateDict> dicts;
  for (int v = 0; v < 2; ++v)
    dicts.push_back({{"weight", Tensor<float>::from_vector(versions[size_t(v)], {kN})},
                     {"version", Tensor<int64_t>::scalar(v)}});
  io::save_safetensors(path, dicts[0]);  // the path always holds a complete checkpoint

  std::mt19937 rng(20261126);
  std::uniform_int_distribution<int> delay_us(0, 20000);
  constexpr int kTrials = 100;
  int seen[2] = {0, 0}, tmp_files = 0, tmp_loaded = 0, tmp_rejected = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Child: overwrite the checkpoint forever, alternating versions, until killed.
      try {
        for (int k = trial;; ++k) io::save_safetensors(path, dicts[size_t(k % 2)]);
      } catch (...) {
        ::_exit(3);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));  // not an early exit from a failed save
    CHECK(WTERMSIG(status) == SIGKILL);

    const int v = which_version(io::load_safetensors(path), versions);
    CHECK_MESSAGE(v >= 0, "trial ", trial,
                  ": the checkpoint at the path is not a complete version");
    if (v >= 0) ++seen[v];

    // Leftover temporaries (the kill came before the rename): loading one either fails with
    // ember::Error or yields a complete version, never garbage. Then remove it.
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (name.find(".tmp.") == std::string::npos) continue;
      ++tmp_files;
      try {
        const int tv = which_version(io::load_safetensors(entry.path().string()), versions);
        CHECK_MESSAGE(tv >= 0, "trial ", trial, ": temporary file ", name, " loads as garbage");
        ++tmp_loaded;
      } catch (const Error&) {
        ++tmp_rejected;
      }
      fs::remove(entry.path());
    }
  }
  MESSAGE("crash safety: ", kTrials, " kills; checkpoint was version A ", seen[0], " times, B ",
          seen[1], " times; ", tmp_files, " leftover temporaries (", tmp_rejected,
          " rejected with Error, ", tmp_loaded, " complete)");
  CHECK(seen[0] + seen[1] == kTrials);
  fs::remove_all(dir);
}
