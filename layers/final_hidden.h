// FinalHidden: the sequence-to-vector read-out of a Recurrent layer: the last layer's final hidden
// state, its directions side by side, as a PyTorch user writes
//   features = torch.cat([h_n[-2], h_n[-1]], dim=1) if bidirectional else h_n[-1]
// With per-sequence lengths each row's final state is taken at its own true end (Recurrent's
// h_n), so padding never reaches the features.
//   h_n [L*D, B, H] -> features [B, D*H]
#pragma once

#include "layers/layer.h"

namespace recur {

class FinalHidden : public Layer {
 public:
  // directions: 1, or 2 for a bidirectional Recurrent.
  explicit FinalHidden(int64_t directions);

  std::string kind() const override { return "final_hidden"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs,
                              const ForwardOptions& options) override;
  // dfeatures [B, D*H] -> {dh_n [L*D, B, H]}: zero but for the last layer's rows.
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override;
  nlohmann::json config() const override { return {{"directions", directions_}}; }

 private:
  int64_t directions_;
  Shape saved_shape_;  // h_n's [L*D, B, H]
  DType saved_dtype_ = DType::f32;
};

}  // namespace recur
