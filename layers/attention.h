// Attention: Luong's global dot-product attention (Luong, Pham and Manning, 2015), as a decoder
// of a sequence-to-sequence model reads its encoder's outputs. Each query (the decoder's output
// at step t) scores every valid key (the encoder's output at source step s) by their dot product,
// takes the softmax of the scores as weights, and sums the keys into a context; the attended
// state is tanh(W [context ; query]). As the PyTorch user writes it:
//
//   scores = queries @ keys.transpose(1, 2)                                # [B,T,S]
//   mask = torch.arange(S)[None, None, :] >= key_lengths[:, None, None]
//   weights = torch.softmax(scores.masked_fill(mask, float("-inf")), -1)  # [B,T,S]
//   context = weights @ keys                                              # [B,T,H]
//   attended = torch.tanh(combine(torch.cat([context, queries], -1)))     # [B,T,H]
//
// with combine = nn.Linear(2H, H, bias=False): this layer's one parameter, "weight" [H, 2H].
//   queries [B,T,H], keys [B,S,H], key_lengths [B] i64 on the CPU in [1,S] (or undefined: all S)
//   -> attended [B,T,H], weights [B,T,S] (0 at keys past a sequence's length)
// The weights are an output so a user can draw which source steps each target step read.
// Inputs live on the layer's device, but for key_lengths, which stay on the CPU (as
// Recurrent's lengths do) and are copied to the GPU by the layer.
#pragma once

#include "layers/layer.h"
#include "layers/linear.h"

namespace recur {

class Attention : public Layer {
 public:
  // weight starts as nn.Linear's: uniform(-1/sqrt(2H), 1/sqrt(2H)), drawn from Philox(seed).
  explicit Attention(int64_t hidden, DType dtype = DType::f32, uint64_t seed = 0);

  std::string kind() const override { return "attention"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs,
                              const ForwardOptions& options) override;
  // {dattended, dweights (may be undefined)} -> {dqueries, dkeys, undefined}.
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override;
  ParameterList parameters() override { return combine_.parameters(); }
  void to(Device device) override;
  nlohmann::json config() const override { return {{"hidden", hidden_}}; }
  // The math precision of the combining product (core/precision.h); the dot products and the
  // weighted sums of the keys stay in the layer's dtype.
  void set_precision(Precision precision) override { combine_.set_precision(precision); }

 private:
  int64_t hidden_;
  DType dtype_;
  Linear combine_;  // [context ; query] -> H
  // Kept by a forward with keep_for_backward.
  Tensor saved_queries_, saved_keys_, saved_weights_, saved_attended_;
};

}  // namespace recur
