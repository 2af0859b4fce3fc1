// Checkpoints of data-parallel training: every rank holds the same model and optimizer state,
// so rank 0 alone writes it (atomically, io/checkpoint.hpp) and every rank reads it back. The
// barrier after the write means no rank reads a file that is not there yet, and a resumed run
// continues exactly as the uninterrupted one would have (the state is the same bits).
#pragma once

#include <ember/dist/collectives.hpp>
#include <ember/io/checkpoint.hpp>
#include <map>
#include <string>

namespace ember::dist {

inline void save_module(const std::string& path, const nn::Module& module,
                        const std::map<std::string, std::string>& metadata = {}) {
  if (group().is_main()) io::save_module(path, module, metadata);
  barrier();
}

inline void save_optimizer(const std::string& path, const optim::Optimizer& optimizer,
                           const std::map<std::string, std::string>& metadata = {}) {
  if (group().is_main()) io::save_optimizer(path, optimizer, metadata);
  barrier();
}

// Every rank reads the file (all of them see it: one machine, or a shared file system).
inline io::LoadStateResult load_module(const std::string& path, const nn::Module& module,
                                       bool strict = true) {
  return io::load_module(path, module, strict);
}

inline void load_optimizer(const std::string& path, optim::Optimizer& optimizer) {
  io::load_optimizer(path, optimizer);
}

}  // namespace ember::dist
