// Checkpoints: a model's state_dict, its config and its optimizer's state, saved so that a run
// resumes exactly and the weights open in PyTorch (safetensors.torch.load_file(path)).
//
// On disk, for a checkpoint at <path>:
//   <path>             safetensors: the model's tensors under PyTorch state_dict names
//                      ("rnn.weight_ih_l0"); __metadata__ {"format": "recur-checkpoint-1",
//                      "config": <JSON>, "extra": <JSON>, "checkpoint_id": <32 hex digits>}.
//   <path>.optim       safetensors: the optimizer's tensors ("exp_avg.rnn.weight_ih_l0");
//                      __metadata__ {"format": "recur-optimizer-1", "optimizer": <JSON scalars>,
//                      "checkpoint_id": the model file's}. Always written, empty or not.
//   <path>.optim.prev  only while a save is under way (or after one was killed): the optimizer
//                      file that pairs with the model file still on disk.
// Each file is replaced atomically (core/atomic_file.h); a save that fails or is killed at any
// moment leaves a pair that loads, either the old checkpoint or the new one (see checkpoint.cpp).
// One process at a time may save to a given path.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "layers/parameter.h"

namespace recur {

// The "format" metadata of the two files.
inline constexpr char kCheckpointFormat[] = "recur-checkpoint-1";
inline constexpr char kOptimizerStateFormat[] = "recur-optimizer-1";

struct Checkpoint {
  TensorMap model;                // the state_dict: PyTorch names -> CPU tensors
  nlohmann::json config;          // the model config (any JSON)
  TensorMap optimizer;            // Optimizer::state_tensors(); may be empty
  nlohmann::json optimizer_meta;  // Optimizer::state_scalars(): name, step, lr, ...
  nlohmann::json extra;           // anything else the caller resumes from (epoch, data position)
};

// "<path>.optim": where save_checkpoint puts the optimizer state of the checkpoint at `path`.
std::string optimizer_state_path(const std::string& path);

// Writes both files (layout above); the old checkpoint survives any failure. Tensors on a GPU (a
// model or optimizer state trained there) are copied to the host first. Throws recur::Error
// for tensors that cannot be written (see write_safetensors) and for I/O failures.
void save_checkpoint(const std::string& path, const Checkpoint& ckpt);

// Reads the checkpoint at `path`. The tensors view the memory-mapped files (no copy). With
// with_optimizer, also reads the optimizer state that belongs to the model file (same
// checkpoint_id). Throws recur::Error naming the file when it is not a recur checkpoint (no or
// another "format"), its config or extra is not valid JSON, or the optimizer state was requested
// and is missing or belongs to another save.
Checkpoint load_checkpoint(const std::string& path, bool with_optimizer = true);

// name -> value for every parameter. The tensors share storage with the parameters (as
// PyTorch's state_dict): clone them to keep a snapshot. Throws when two parameters share a name.
TensorMap state_dict(const ParameterList& params);

// Copies state[p.name] into every p.value (same shape; dtype converted, e.g. f64 -> f32). Checks
// everything before copying anything, so on error no parameter changes. Throws recur::Error:
//   "checkpoint is missing tensor 'rnn.weight_hh_l1'", "tensor 'x': expected [8,4], got [8,5]",
//   and, with strict, "checkpoint has unexpected tensor 'y'" for a tensor naming no parameter.
void load_state_dict(const ParameterList& params, const TensorMap& state, bool strict = true);

}  // namespace recur
