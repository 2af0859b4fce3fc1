// Checkpoints of a model and its optimizer as safetensors files: the glue between
// nn::Module / optim::Optimizer state dicts and io/safetensors.hpp. Each file is written
// atomically (temporary file, fsync, rename), so a crash leaves the previous checkpoint.
#pragma once

#include <map>
#include <string>

#include <ember/io/safetensors.hpp>
#include <ember/nn/module.hpp>
#include <ember/optim/optimizer.hpp>

namespace ember::io {

// Parameters and buffers of `module`, under their dotted names ("0.weight", ...).
inline void save_module(const std::string& path, const nn::Module& module,
                        const std::map<std::string, std::string>& metadata = {}) {
  save_state(path, module.state_dict(), metadata);
}

// Copies a checkpoint into the module's live tensors. strict: every key must match both ways.
// Shapes and dtypes are checked for every tensor before anything is written.
inline LoadStateResult load_module(const std::string& path, const nn::Module& module,
                                   bool strict = true) {
  return load_state_into(path, module.state_dict(), strict);
}

// The optimizer's state (moments, step counts, momentum buffers, per-group hyper-parameters).
inline void save_optimizer(const std::string& path, const optim::Optimizer& optimizer,
                           const std::map<std::string, std::string>& metadata = {}) {
  save_state(path, optimizer.state_dict(), metadata);
}

// Restores an optimizer of the same kind over the same parameters (checked by load_state_dict).
inline void load_optimizer(const std::string& path, optim::Optimizer& optimizer) {
  optimizer.load_state_dict(load_safetensors(path).tensors);
}

}  // namespace ember::io
