// Adam and AdamW: options, the per-parameter update (float and double, CPU or GPU), state
// save/restore.
#include "train/adam.h"

#include <cmath>

#include "core/cuda_runtime.h"
#include "kernels/optim_math.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/optim_cuda.h"
#endif

namespace recur {

namespace {

using optim_math::AdamStep;

// The scalars of one Adam step, computed in double as PyTorch computes them in Python.
AdamStep adam_step_scalars(const AdamOptions& o, double lr, bool decoupled, int64_t step) {
  const double t = static_cast<double>(step);
  const double bias_correction1 = 1 - std::pow(o.beta1, t);
  const double bias_correction2 = 1 - std::pow(o.beta2, t);
  return {o.beta1,
          o.beta2,
          o.eps,
          o.weight_decay,
          decoupled,
          1 - lr * o.weight_decay,
          lr / bias_correction1,
          std::sqrt(bias_correction2)};
}

// One parameter's update, with m and v in place: the CPU loop, or one fused kernel on the
// parameter's GPU. Both run optim_math::adam_element.
template <class T>
void adam_update(const Parameter& param, const Tensor& m, const Tensor& v, const AdamStep& s) {
  T* p = param.value.data<T>();
  const T* g = param.grad.data<T>();
  T* ms = m.data<T>();
  T* vs = v.data<T>();
  const int64_t n = param.value.numel();
  if (param.value.device().is_cuda()) {
#if RECUR_WITH_CUDA
    launch_adam_step<T>(s, p, g, ms, vs, n, cuda_stream(param.value.device().index));
#else
    cuda_stream(param.value.device().index);  // throws: this build has no CUDA
#endif
    return;
  }
  const optim_math::AdamCoeffs<T> c = optim_math::adam_coeffs<T>(s);
  for (int64_t i = 0; i < n; ++i) optim_math::adam_element(c, p[i], g[i], ms[i], vs[i]);
}

}  // namespace

void AdamOptions::validate() const {
  using optim_config::check_non_negative;
  check_non_negative(lr, "lr", "Adam");
  check_non_negative(eps, "eps", "Adam");
  check_non_negative(weight_decay, "weight_decay", "Adam");
  RECUR_CHECK(beta1 >= 0 && beta1 < 1, "Adam: expected 0 <= beta1 < 1, got {}", beta1);
  RECUR_CHECK(beta2 >= 0 && beta2 < 1, "Adam: expected 0 <= beta2 < 1, got {}", beta2);
}

nlohmann::json AdamOptions::to_json() const {
  return {{"lr", lr}, {"betas", {beta1, beta2}}, {"eps", eps}, {"weight_decay", weight_decay}};
}

AdamOptions AdamOptions::from_json(const nlohmann::json& config) {
  return from_json(config, AdamOptions());
}

AdamOptions AdamOptions::from_json(const nlohmann::json& config, const AdamOptions& defaults) {
  const std::string what = "Adam config";
  optim_config::check_keys(config, {"name", "step", "lr", "betas", "eps", "weight_decay"}, what);
  AdamOptions o = defaults;
  o.lr = optim_config::number(config, "lr", o.lr, what);
  if (config.contains("betas")) {
    const nlohmann::json& betas = config["betas"];
    RECUR_CHECK(
        betas.is_array() && betas.size() == 2 && betas[0].is_number() && betas[1].is_number(),
        "{}: expected \"betas\": [beta1, beta2], got {}", what, betas.dump());
    o.beta1 = betas[0].get<double>();
    o.beta2 = betas[1].get<double>();
  }
  o.eps = optim_config::number(config, "eps", o.eps, what);
  o.weight_decay = optim_config::number(config, "weight_decay", o.weight_decay, what);
  o.validate();
  return o;
}

Adam::Adam(const ParameterList& params, const AdamOptions& options)
    : Adam(params, options, false) {}

Adam::Adam(const ParameterList& params, const AdamOptions& options, bool decoupled_weight_decay)
    : Optimizer(params, options.lr, decoupled_weight_decay ? "AdamW" : "Adam"),
      options_(options),
      decoupled_weight_decay_(decoupled_weight_decay) {
  options_.validate();
  for (const Parameter& p : parameters()) {
    exp_avg_.push_back(Tensor::zeros(p.value.shape(), p.value.dtype(), p.value.device()));
    exp_avg_sq_.push_back(Tensor::zeros(p.value.shape(), p.value.dtype(), p.value.device()));
  }
}

AdamOptions Adam::options() const {
  AdamOptions o = options_;
  o.lr = lr();
  return o;
}

void Adam::step() {
  const AdamStep s = adam_step_scalars(options_, lr(), decoupled_weight_decay_, steps() + 1);
  const ParameterList& params = parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    // The one switch point for the element type: the math runs in the parameter's dtype.
    if (params[i].value.dtype() == DType::f64)
      adam_update<double>(params[i], exp_avg_[i], exp_avg_sq_[i], s);
    else
      adam_update<float>(params[i], exp_avg_[i], exp_avg_sq_[i], s);
  }
  count_step();
}

TensorMap Adam::state_tensors() const {
  TensorMap state;
  for (size_t i = 0; i < exp_avg_.size(); ++i) {
    state[buffer_name("exp_avg", parameters()[i])] = exp_avg_[i];
    state[buffer_name("exp_avg_sq", parameters()[i])] = exp_avg_sq_[i];
  }
  return state;
}

nlohmann::json Adam::state_scalars() const {
  nlohmann::json scalars = options().to_json();
  scalars.update(Optimizer::state_scalars());
  return scalars;
}

void Adam::restore_state(const TensorMap& tensors, const nlohmann::json& scalars, int64_t steps) {
  (void)steps;
  AdamOptions options = AdamOptions::from_json(scalars, options_);
  std::vector<Tensor> exp_avg, exp_avg_sq;
  for (const Parameter& p : parameters()) {
    exp_avg.push_back(load_buffer(tensors, "exp_avg", p));
    exp_avg_sq.push_back(load_buffer(tensors, "exp_avg_sq", p));
  }
  options_ = options;
  exp_avg_ = std::move(exp_avg);
  exp_avg_sq_ = std::move(exp_avg_sq);
}

AdamOptions AdamW::default_options() {
  AdamOptions o;
  o.weight_decay = 1e-2;
  return o;
}

AdamW::AdamW(const ParameterList& params, const AdamOptions& options)
    : Adam(params, options, true) {}

}  // namespace recur
