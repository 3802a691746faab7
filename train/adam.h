// Adam and AdamW, exactly as torch.optim.Adam / AdamW (amsgrad off). Per parameter, at step t:
//   Adam:  g = grad + weight_decay * p            (L2 penalty folded into the gradient)
//   AdamW: g = grad;  p *= 1 - lr * weight_decay  (decoupled weight decay)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// State: "exp_avg.<param name>" (m) and "exp_avg_sq.<param name>" (v).
#pragma once

#include <vector>

#include "train/optimizer.h"

namespace recur {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: L2 added to the gradient; AdamW: decoupled (see above)

  // ASSUMPTION: lr, eps, weight_decay >= 0 and 0 <= beta < 1 (PyTorch's rules); throws otherwise.
  void validate() const;
  // {"lr", "betas": [beta1, beta2], "eps", "weight_decay"}
  nlohmann::json to_json() const;
  // Reads the keys above ("name" and "step" accepted and ignored), taking absent ones from
  // `defaults` (Adam's defaults in the one-argument form), and validates.
  static AdamOptions from_json(const nlohmann::json& config);
  static AdamOptions from_json(const nlohmann::json& config, const AdamOptions& defaults);
};

class Adam : public Optimizer {
 public:
  Adam(const ParameterList& params, const AdamOptions& options = {});

  std::string name() const override { return decoupled_weight_decay_ ? "adamw" : "adam"; }
  void step() override;
  // The options in force (lr as set_lr last left it).
  AdamOptions options() const;

  TensorMap state_tensors() const override;
  nlohmann::json state_scalars() const override;

 protected:
  Adam(const ParameterList& params, const AdamOptions& options, bool decoupled_weight_decay);
  void restore_state(const TensorMap& tensors, const nlohmann::json& scalars,
                     int64_t steps) override;

 private:
  AdamOptions options_;
  bool decoupled_weight_decay_;
  std::vector<Tensor> exp_avg_;     // m, one per parameter
  std::vector<Tensor> exp_avg_sq_;  // v, one per parameter
};

class AdamW : public Adam {
 public:
  // torch.optim.AdamW's defaults: Adam's, with weight_decay = 1e-2.
  static AdamOptions default_options();
  AdamW(const ParameterList& params, const AdamOptions& options = default_options());
};

}  // namespace recur
