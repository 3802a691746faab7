// Losses: softmax cross-entropy (mean over non-ignored targets, PyTorch's F.cross_entropy) and
// mean squared error (F.mse_loss). forward returns the scalar loss and keeps what backward
// needs; backward returns the gradient of the loss with respect to the prediction, times `scale`
// (the upstream gradient of the loss, 1 by default).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recur {

class SoftmaxCrossEntropy {
 public:
  explicit SoftmaxCrossEntropy(int64_t ignore_index = -100) : ignore_index_(ignore_index) {}
  // logits [..., C] f32/f64, targets [...] i64. With every target ignored the loss is 0 (PyTorch
  // gives nan) and the gradient is zero.
  double forward(const Tensor& logits, const Tensor& targets);
  Tensor backward(double scale = 1.0);          // dlogits, shaped like logits
  int64_t counted() const { return counted_; }  // targets that were not ignored

 private:
  int64_t ignore_index_;
  int64_t counted_ = 0;
  Tensor probs_, targets_;
  Shape logits_shape_;
};

class MeanSquaredError {
 public:
  // prediction and target of the same shape, f32/f64: mean of (prediction - target)^2.
  double forward(const Tensor& prediction, const Tensor& target);
  Tensor backward(double scale = 1.0);  // dprediction

 private:
  Tensor diff_;
};

}  // namespace recur
