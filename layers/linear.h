// Linear: y = x W^T + b over the last dimension, as torch.nn.Linear (weight [out,in], bias [out]).
//   x [..., in] -> y [..., out]
#pragma once

#include "layers/layer.h"

namespace recur {

class Linear : public Layer {
 public:
  // Parameters start as PyTorch's: uniform(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
  Linear(int64_t in_features, int64_t out_features, bool bias = true, DType dtype = DType::f32,
         uint64_t seed = 0);

  std::string kind() const override { return "linear"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs,
                              const ForwardOptions& options) override;
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override;
  ParameterList parameters() override;
  void to(Device device) override;
  nlohmann::json config() const override;

  // Math precision of the input and weight products (core/precision.h); the bias stays f32.
  void set_precision(Precision precision) override;
  Precision precision() const { return precision_; }

  Parameter& weight() { return weight_; }
  Parameter& bias() { return bias_; }

 private:
  int64_t in_, out_;
  DType dtype_;
  Precision precision_ = Precision::f32;
  Parameter weight_, bias_;
  Tensor saved_x_;  // [N, in]
  Tensor ones_;     // [N, 1] of ones: broadcasts the bias as a rank-1 GEMM on any device
  Shape saved_shape_;
};

}  // namespace recur
