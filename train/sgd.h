// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// exactly as torch.optim.SGD (per parameter, g = grad + weight_decay * p):
//   buf = g on the first step, else buf = momentum * buf + (1 - dampening) * g
//   d   = nesterov ? g + momentum * buf : buf        (d = g when momentum == 0)
//   p  -= lr * d
// State: "momentum_buffer.<param name>" when momentum != 0.
#pragma once

#include <vector>

#include "train/optimizer.h"

namespace recur {

struct SgdOptions {
  double lr = 0.01;  // required in JSON configs, as in PyTorch
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;

  // ASSUMPTION: lr, momentum, weight_decay >= 0; dampening finite; nesterov needs momentum > 0
  // and dampening == 0 (PyTorch's rule). Throws recur::Error otherwise.
  void validate() const;
  // {"lr", "momentum", "dampening", "nesterov", "weight_decay"}
  nlohmann::json to_json() const;
  // Reads the keys above ("lr" required; "name" and "step" accepted and ignored) and validates.
  static SgdOptions from_json(const nlohmann::json& config);
};

class Sgd : public Optimizer {
 public:
  Sgd(const ParameterList& params, const SgdOptions& options);

  std::string name() const override { return "sgd"; }
  void step() override;
  // The options in force (lr as set_lr last left it).
  SgdOptions options() const;

  TensorMap state_tensors() const override;
  nlohmann::json state_scalars() const override;

 protected:
  void restore_state(const TensorMap& tensors, const nlohmann::json& scalars,
                     int64_t steps) override;

 private:
  SgdOptions options_;
  // One per parameter when momentum != 0, else empty. Holds zeros before the first step, which
  // copies the gradient in (PyTorch creates the buffer there).
  std::vector<Tensor> momentum_buffers_;
};

}  // namespace recur
