#include "layers/loss.h"

#include <cmath>

#include "kernels/gemm.h"
#include "kernels/softmax_xent.h"

namespace recur {

double SoftmaxCrossEntropy::forward(const Tensor& logits, const Tensor& targets) {
  RECUR_CHECK(logits.defined() && logits.dim() >= 1, "cross-entropy: expected logits [..., C]");
  RECUR_CHECK(logits.dtype() == DType::f32 || logits.dtype() == DType::f64,
              "cross-entropy logits: expected f32 or f64, got {}", dtype_name(logits.dtype()));
  const int64_t C = logits.size(-1), N = logits.numel() / std::max<int64_t>(C, 1);
  RECUR_CHECK(targets.defined() && targets.numel() == N,
              "cross-entropy targets: expected {} targets for logits {}, got {}", N,
              logits.shape_str(), targets.defined() ? targets.shape_str() : "none");
  Tensor flat_logits = logits.contiguous().reshape({N, C});
  targets_ = targets.contiguous().reshape({N});
  RECUR_CHECK(targets.device() == logits.device(),
              "cross-entropy targets: expected them on {} with the logits, got them on {}",
              logits.device().name(), targets.device().name());
  probs_ = Tensor::empty({N, C}, logits.dtype(), logits.device());
  logits_shape_ = logits.shape();
  double sum = softmax_xent_fwd(flat_logits, targets_, ignore_index_, probs_, &counted_);
  RECUR_CHECK(std::isfinite(sum),
              "cross-entropy: the loss is not finite ({}): the logits hold "
              "nan or inf",
              sum);
  return counted_ > 0 ? sum / static_cast<double>(counted_) : 0.0;
}

Tensor SoftmaxCrossEntropy::backward(double scale) {
  RECUR_CHECK(probs_.defined(), "cross-entropy backward: no saved forward");
  Tensor d = Tensor::empty(probs_.shape(), probs_.dtype(), probs_.device());
  double s = counted_ > 0 ? scale / static_cast<double>(counted_) : 0.0;
  softmax_xent_bwd(probs_, targets_, ignore_index_, s, d);
  return d.reshape(logits_shape_);
}

double MeanSquaredError::forward(const Tensor& prediction, const Tensor& target) {
  RECUR_CHECK(prediction.defined() && target.defined(), "mse: undefined prediction or target");
  RECUR_CHECK(prediction.shape() == target.shape(), "mse target: expected {}, got {}",
              prediction.shape_str(), target.shape_str());
  RECUR_CHECK(prediction.dtype() == DType::f32 || prediction.dtype() == DType::f64,
              "mse prediction: expected f32 or f64, got {}", dtype_name(prediction.dtype()));
  RECUR_CHECK(prediction.numel() > 0, "mse: empty prediction");
  // Computed on the host: a series model's predictions are small, and the loss is read there.
  // GPU tensors are copied explicitly, and the gradient goes back to the prediction's device.
  RECUR_CHECK(prediction.device() == target.device(),
              "mse target: expected it on {} with the prediction, got it on {}",
              prediction.device().name(), target.device().name());
  const Device device = prediction.device();
  std::vector<double> p = prediction.to(Device::cpu()).to_vector();
  std::vector<double> t = target.to(Device::cpu()).to_vector();
  Tensor diff = Tensor::empty(prediction.shape(), DType::f64);
  double* d = diff.data<double>();
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    d[i] = p[i] - t[i];
    sum += d[i] * d[i];
  }
  RECUR_CHECK(std::isfinite(sum),
              "mse: the loss is not finite: prediction or target holds nan "
              "or inf");
  diff_ = diff.to(prediction.dtype()).to(device);
  return sum / static_cast<double>(p.size());
}

Tensor MeanSquaredError::backward(double scale) {
  RECUR_CHECK(diff_.defined(), "mse backward: no saved forward");
  Tensor d = Tensor::zeros(diff_.shape(), diff_.dtype(), diff_.device());
  axpy(2.0 * scale / static_cast<double>(diff_.numel()), diff_, d);  // d/dp mean (p-t)^2
  return d;
}

}  // namespace recur
