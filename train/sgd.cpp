// SGD: options, the per-parameter update (float and double, CPU or GPU), state save/restore.
#include "train/sgd.h"

#include <cmath>

#include "core/cuda_runtime.h"
#include "kernels/optim_math.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/optim_cuda.h"
#endif

namespace recur {

namespace {

using optim_math::SgdStep;

// One parameter's update: the CPU loop, or one fused kernel on the parameter's GPU. Both run
// optim_math::sgd_element. buffer is undefined when momentum == 0.
template <class T>
void sgd_update(const Parameter& param, const Tensor& buffer, const SgdStep& s) {
  T* p = param.value.data<T>();
  const T* g = param.grad.data<T>();
  T* buf = buffer.defined() ? buffer.data<T>() : nullptr;
  const int64_t n = param.value.numel();
  if (param.value.device().is_cuda()) {
#if RECUR_WITH_CUDA
    launch_sgd_step<T>(s, p, g, buf, n, cuda_stream(param.value.device().index));
#else
    cuda_stream(param.value.device().index);  // throws: this build has no CUDA
#endif
    return;
  }
  const optim_math::SgdCoeffs<T> c = optim_math::sgd_coeffs<T>(s);
  for (int64_t i = 0; i < n; ++i) optim_math::sgd_element(c, p[i], g[i], buf ? buf + i : nullptr);
}

}  // namespace

void SgdOptions::validate() const {
  using optim_config::check_non_negative;
  check_non_negative(lr, "lr", "SGD");
  check_non_negative(momentum, "momentum", "SGD");
  check_non_negative(weight_decay, "weight_decay", "SGD");
  RECUR_CHECK(std::isfinite(dampening), "SGD: expected a finite dampening, got {}", dampening);
  RECUR_CHECK(!nesterov || (momentum > 0 && dampening == 0),
              "SGD: nesterov expects momentum > 0 and dampening == 0, got momentum {} and "
              "dampening {}",
              momentum, dampening);
}

nlohmann::json SgdOptions::to_json() const {
  return {{"lr", lr},
          {"momentum", momentum},
          {"dampening", dampening},
          {"nesterov", nesterov},
          {"weight_decay", weight_decay}};
}

SgdOptions SgdOptions::from_json(const nlohmann::json& config) {
  const std::string what = "SGD config";
  optim_config::check_keys(
      config, {"name", "step", "lr", "momentum", "dampening", "nesterov", "weight_decay"}, what);
  SgdOptions o;
  o.lr = optim_config::required_number(config, "lr", what);
  o.momentum = optim_config::number(config, "momentum", o.momentum, what);
  o.dampening = optim_config::number(config, "dampening", o.dampening, what);
  o.nesterov = optim_config::boolean(config, "nesterov", o.nesterov, what);
  o.weight_decay = optim_config::number(config, "weight_decay", o.weight_decay, what);
  o.validate();
  return o;
}

Sgd::Sgd(const ParameterList& params, const SgdOptions& options)
    : Optimizer(params, options.lr, "SGD"), options_(options) {
  options_.validate();
  if (options_.momentum != 0)
    for (const Parameter& p : parameters())
      momentum_buffers_.push_back(
          Tensor::zeros(p.value.shape(), p.value.dtype(), p.value.device()));
}

SgdOptions Sgd::options() const {
  SgdOptions o = options_;
  o.lr = lr();
  return o;
}

void Sgd::step() {
  const SgdStep s{
      lr(),        options_.momentum, options_.dampening, options_.weight_decay, options_.nesterov,
      steps() == 0};
  const ParameterList& params = parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor buffer = momentum_buffers_.empty() ? Tensor() : momentum_buffers_[i];
    // The one switch point for the element type: the math runs in the parameter's dtype.
    if (params[i].value.dtype() == DType::f64)
      sgd_update<double>(params[i], buffer, s);
    else
      sgd_update<float>(params[i], buffer, s);
  }
  count_step();
}

TensorMap Sgd::state_tensors() const {
  TensorMap state;
  for (size_t i = 0; i < momentum_buffers_.size(); ++i)
    state[buffer_name("momentum_buffer", parameters()[i])] = momentum_buffers_[i];
  return state;
}

nlohmann::json Sgd::state_scalars() const {
  nlohmann::json scalars = options().to_json();
  scalars.update(Optimizer::state_scalars());
  return scalars;
}

void Sgd::restore_state(const TensorMap& tensors, const nlohmann::json& scalars, int64_t steps) {
  (void)steps;
  SgdOptions options = SgdOptions::from_json(scalars);
  std::vector<Tensor> buffers;
  if (options.momentum != 0)
    for (const Parameter& p : parameters())
      buffers.push_back(load_buffer(tensors, "momentum_buffer", p));
  options_ = options;
  momentum_buffers_ = std::move(buffers);
}

}  // namespace recur
