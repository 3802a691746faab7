// MergeDirections: a bidirectional encoder's final state as the initial state of a decoder with
// twice its hidden size: each layer's forward and backward states side by side, as a PyTorch
// user writes it (OpenNMT's bidirectional encoder does the same)
//   merged = torch.cat([h_n[0::2], h_n[1::2]], dim=2)
//   h_n [L*2, B, H] -> merged [L, B, 2H], and c_n the same way for an LSTM.
// Row l of merged holds layer l's forward state in [0, H) and its backward state in [H, 2H), the
// order of a bidirectional layer's outputs, so the decoder's state and the attention's keys (the
// encoder's outputs) split the same way.
#pragma once

#include "layers/layer.h"

namespace recur {

class MergeDirections : public Layer {
 public:
  std::string kind() const override { return "merge_directions"; }
  // {h_n [L*2,B,H], c_n [L*2,B,H] or undefined} -> {h [L,B,2H], c [L,B,2H] or undefined}.
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs,
                              const ForwardOptions& options) override;
  // {dh [L,B,2H], dc} (either may be undefined: zero) -> {dh_n [L*2,B,H], dc_n}.
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override;

 private:
  Shape saved_shape_;  // h_n's [L*2, B, H]
  DType saved_dtype_ = DType::f32;
  bool saved_c_ = false;
};

}  // namespace recur
