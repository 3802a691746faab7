// Dropout: in training mode zeroes each element with probability p and scales the rest by
// 1/(1-p); identity in eval mode. Masks come from Philox keyed by (seed, stream, step, index),
// so backward regenerates the forward's mask and the GPU draws the same one.
#pragma once

#include "kernels/dropout.h"
#include "layers/layer.h"

namespace recur {

class Dropout : public Layer {
 public:
  Dropout(double p, uint64_t seed = 0, uint32_t stream = 0);

  std::string kind() const override { return "dropout"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs,
                              const ForwardOptions& options) override;
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override;
  nlohmann::json config() const override { return {{"p", p_}}; }

 private:
  double p_;
  DropoutKey key_;
  bool applied_ = false;  // whether the last forward dropped anything
  bool saved_ = false;
};

}  // namespace recur
