#include "layers/dropout.h"

namespace recur {

Dropout::Dropout(double p, uint64_t seed, uint32_t stream) : p_(p) {
  RECUR_CHECK(p >= 0.0 && p < 1.0, "dropout: expected a probability in [0, 1), got {}", p);
  key_.seed = seed;
  key_.stream = stream;
}

std::vector<Tensor> Dropout::forward(const std::vector<Tensor>& inputs,
                                     const ForwardOptions& options) {
  RECUR_CHECK(inputs.size() == 1, "dropout: expected 1 input, got {}", inputs.size());
  const Tensor& x = inputs[0];
  RECUR_CHECK(x.defined(), "dropout: undefined input");
  applied_ = training() && p_ > 0.0;
  saved_ = options.keep_for_backward;
  key_.step = static_cast<uint32_t>(options.step);
  if (!applied_) return {x};
  Tensor xc = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dropout(xc, p_, key_, y);
  return {y};
}

std::vector<Tensor> Dropout::backward(const std::vector<Tensor>& grad_outputs) {
  RECUR_CHECK(saved_, "dropout backward: no saved forward");
  saved_ = false;
  Tensor dy = input_or_none(grad_outputs, 0);
  if (!dy.defined() || !applied_) return {dy};
  Tensor dyc = dy.contiguous();
  Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  dropout(dyc, p_, key_, dx);
  return {dx};
}

}  // namespace recur
