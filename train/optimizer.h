// The Optimizer interface: updates parameters in place from their gradients, one step() at a
// time, with PyTorch's torch.optim semantics (SGD in sgd.h, Adam and AdamW in adam.h), and saves
// and restores its state for checkpoints.
//
// State comes in two parts, as a checkpoint stores it: state_tensors() holds the per-parameter
// buffers, named "<buffer>.<parameter name>" ("exp_avg.rnn.weight_ih_l0"), for a safetensors
// file; state_scalars() holds the name, step count, lr and hyperparameters as JSON. The scalars
// are also a valid config for make_optimizer, so a run resumes with
//   auto opt = make_optimizer(params, scalars);  opt->load_state(tensors, scalars);
//
// Parameters are contiguous f32 or f64 tensors, each with its grad on its own device (the CPU or a
// GPU); the update math runs in the parameter's own dtype, as PyTorch's does, with one formula
// for both devices (kernels/optim_math.h): on a GPU one fused kernel per parameter per step
// (kernels/cuda/optim_cuda.h), queued on the device's stream with no host synchronisation. The
// state buffers live on their parameter's device.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/parameter.h"

namespace recur {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // "sgd", "adam" or "adamw": the "name" of the config and of state_scalars().
  virtual std::string name() const = 0;
  // One update of every trained parameter from its current gradient.
  virtual void step() = 0;
  // Sets the gradient of every trained parameter to zero.
  void zero_grad();

  double lr() const { return lr_; }
  // ASSUMPTION: lr is finite and >= 0 (throws otherwise). Takes effect at the next step().
  void set_lr(double lr);
  // The number of step() calls so far, counting those before a load_state.
  int64_t steps() const { return steps_; }
  // The trained parameters: the entries of the constructor's list with requires_grad and a grad.
  const ParameterList& parameters() const { return params_; }

  // The per-parameter buffers, "<buffer>.<parameter name>". The tensors are the live buffers, not
  // copies (as PyTorch's state_dict), on their parameter's device: clone them to keep a snapshot
  // across later steps (save_checkpoint copies GPU tensors to the host itself).
  virtual TensorMap state_tensors() const { return {}; }
  // {"name", "step", "lr", and the hyperparameters of the optimizer's config}.
  virtual nlohmann::json state_scalars() const;
  // Restores the step count, lr, hyperparameters (as PyTorch's load_state_dict, the saved ones
  // replace the constructor's) and buffers saved by state_tensors/state_scalars. Buffers (on any
  // device) are copied, converted to the parameter's dtype, onto the parameter's device. Throws
  // recur::Error, changing nothing, when the name differs, a scalar is missing or invalid, or a
  // buffer is missing or has another shape. Tensors in `tensors` that name no buffer of this
  // optimizer are ignored.
  void load_state(const TensorMap& tensors, const nlohmann::json& scalars);

 protected:
  // `what` names the optimizer in error messages ("SGD").
  Optimizer(const ParameterList& params, double lr, const std::string& what);

  void count_step() { ++steps_; }
  // Checks `scalars` and `tensors` and, only when every check passes, takes the subclass's
  // hyperparameters and buffers from them; the base class then sets lr and step count to `steps`.
  virtual void restore_state(const TensorMap& tensors, const nlohmann::json& scalars,
                             int64_t steps) = 0;
  // A copy of the saved buffer "<buffer>.<param name>", in param's dtype on param's device; throws
  // naming the tensor when it is missing or its shape differs from param's.
  Tensor load_buffer(const TensorMap& tensors, const std::string& buffer,
                     const Parameter& param) const;
  // "<buffer>.<param name>"
  static std::string buffer_name(const std::string& buffer, const Parameter& param) {
    return buffer + "." + param.name;
  }
  const std::string& what() const { return what_; }

 private:
  ParameterList params_;
  double lr_;
  int64_t steps_ = 0;
  std::string what_;
};

// Builds an optimizer from a JSON config: {"name": "sgd"|"adam"|"adamw", "lr": ..., and that
// optimizer's options (see SgdOptions, AdamOptions)}; keys left out take PyTorch's defaults, except
// lr, which is required. A "step" key (as in state_scalars) is accepted and ignored: load_state
// restores it. Throws recur::Error for an unknown name, unknown key or invalid value.
std::unique_ptr<Optimizer> make_optimizer(const ParameterList& params,
                                          const nlohmann::json& config);

// Reading optimizer configs: each throws recur::Error naming `what` and the key.
namespace optim_config {
// Throws unless config is a JSON object whose keys are all in `accepted`.
void check_keys(const nlohmann::json& config, std::initializer_list<const char*> accepted,
                const std::string& what);
// config[key] as a number; `fallback` when absent.
double number(const nlohmann::json& config, const char* key, double fallback,
              const std::string& what);
// config[key] as a boolean; `fallback` when absent.
bool boolean(const nlohmann::json& config, const char* key, bool fallback, const std::string& what);
// config[key] as a number; throws when absent.
double required_number(const nlohmann::json& config, const char* key, const std::string& what);
// ASSUMPTION helper: throws "`what`: expected `key` >= 0, got <value>" unless value is finite and
// non-negative.
void check_non_negative(double value, const char* key, const std::string& what);
}  // namespace optim_config

}  // namespace recur
