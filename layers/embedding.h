// Embedding: a table [num_embeddings, dim] looked up by token id, as torch.nn.Embedding.
//   ids [...] i64 -> y [..., dim]
#pragma once

#include "layers/layer.h"

namespace recur {

class Embedding : public Layer {
 public:
  // The table starts as PyTorch's: standard normal.
  Embedding(int64_t num_embeddings, int64_t dim, DType dtype = DType::f32, uint64_t seed = 0);

  std::string kind() const override { return "embedding"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs,
                              const ForwardOptions& options) override;
  // Returns {undefined}: token ids have no gradient.
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override;
  ParameterList parameters() override { return {weight_}; }
  void to(Device device) override;
  nlohmann::json config() const override;

  Parameter& weight() { return weight_; }

 private:
  int64_t num_, dim_;
  DType dtype_;
  Parameter weight_;
  Tensor saved_ids_;  // [N]
};

}  // namespace recur
