#include "layers/linear.h"

#include <cmath>

#include "core/random.h"
#include "kernels/gemm.h"

namespace recur {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, DType dtype, uint64_t seed)
    : in_(in_features), out_(out_features), dtype_(dtype) {
  RECUR_CHECK(in_features >= 1 && out_features >= 1,
              "linear: expected positive in/out features, got {} and {}", in_features,
              out_features);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight_ = {"weight", Tensor::empty({out_, in_}, dtype), Tensor::zeros({out_, in_}, dtype), true};
  fill_uniform(weight_.value, -bound, bound, seed, 0);
  if (bias) {
    bias_ = {"bias", Tensor::empty({out_}, dtype), Tensor::zeros({out_}, dtype), true};
    fill_uniform(bias_.value, -bound, bound, seed, 1);
  }
}

ParameterList Linear::parameters() {
  ParameterList p{weight_};
  if (bias_.value.defined()) p.push_back(bias_);
  return p;
}

void Linear::to(Device device) {
  Parameter w = weight_, b = bias_;  // moved copies first: a failed move leaves the layer whole
  move_to(w, device);
  move_to(b, device);
  weight_ = w;
  bias_ = b;
  ones_ = Tensor();
  saved_x_ = Tensor();
  Layer::to(device);
}

void Linear::set_precision(Precision precision) {
  RECUR_CHECK(precision == Precision::f32 || dtype_ == DType::f32,
              "linear: {} math precision needs f32 parameters, the layer's are {}",
              precision_name(precision), dtype_name(dtype_));
  precision_ = precision;
}

nlohmann::json Linear::config() const {
  return {{"in_features", in_}, {"out_features", out_}, {"bias", bias_.value.defined()}};
}

std::vector<Tensor> Linear::forward(const std::vector<Tensor>& inputs,
                                    const ForwardOptions& options) {
  RECUR_CHECK(inputs.size() == 1, "linear: expected 1 input, got {}", inputs.size());
  const Tensor& x = inputs[0];
  check_device_dtype(x, device(), dtype_, "linear input");
  RECUR_CHECK(x.dim() >= 1 && x.size(-1) == in_, "linear input: expected [..., {}], got {}", in_,
              x.shape_str());
  const int64_t N = x.numel() / in_;
  Tensor x2 = x.contiguous().reshape({N, in_});
  Tensor y = Tensor::empty({N, out_}, dtype_, device());
  if (bias_.value.defined()) {
    if (!ones_.defined() || ones_.size(0) != N) {
      ones_ = Tensor::empty({N, 1}, dtype_, device());
      ones_.fill(1.0);
    }
    gemm(ones_, false, bias_.value.reshape({1, out_}), false, y);  // y = bias in every row
    gemm(x2, false, weight_.value, true, y, 1.0, 1.0, precision_);
  } else {
    gemm(x2, false, weight_.value, true, y, 1.0, 0.0, precision_);
  }
  Shape out_shape = x.shape();
  out_shape.back() = out_;
  if (options.keep_for_backward) {
    saved_x_ = x2;
    saved_shape_ = x.shape();
  }
  return {y.reshape(out_shape)};
}

std::vector<Tensor> Linear::backward(const std::vector<Tensor>& grad_outputs) {
  RECUR_CHECK(saved_x_.defined(), "linear backward: no saved forward");
  const int64_t N = saved_x_.size(0);
  Tensor dx = Tensor::zeros(saved_shape_, dtype_, device());
  Tensor dy = input_or_none(grad_outputs, 0);
  if (dy.defined()) {
    check_device_dtype(dy, device(), dtype_, "linear output gradient");
    RECUR_CHECK(dy.numel() == N * out_, "linear output gradient: expected {} elements, got {}",
                N * out_, dy.shape_str());
    Tensor dy2 = dy.contiguous().reshape({N, out_});
    gemm(dy2, true, saved_x_, false, weight_.grad, 1.0, 1.0, precision_);  // dW += dy^T x
    if (bias_.value.defined()) add_column_sums(dy2, bias_.grad);
    Tensor dx2 = dx.reshape({N, in_});
    gemm(dy2, false, weight_.value, false, dx2, 1.0, 0.0, precision_);  // dx = dy W
  }
  saved_x_ = Tensor();
  return {dx};
}

}  // namespace recur
