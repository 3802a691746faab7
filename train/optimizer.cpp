// Optimizer's shared parts: choosing the trained parameters, lr and step count, state
// save/restore, the JSON config readers, and make_optimizer.
#include "train/optimizer.h"

#include <cmath>
#include <set>

#include "core/cuda_runtime.h"
#include "train/adam.h"
#include "train/sgd.h"

namespace recur {

namespace {

// ASSUMPTION: every trained parameter is a contiguous f32/f64 tensor with a grad of the same
// shape, dtype and device, and names are unique (they key the state tensors).
void check_trained_parameter(const Parameter& p, const std::string& what) {
  const std::string label = what + " parameter '" + p.name + "'";
  RECUR_CHECK(p.value.defined(), "{}: expected a value, got an undefined tensor", label);
  RECUR_CHECK(p.value.device() == p.grad.device(),
              "{}: expected value and grad on one device, got value on {} and grad on {}", label,
              p.value.device().name(), p.grad.device().name());
  RECUR_CHECK(p.value.dtype() == DType::f32 || p.value.dtype() == DType::f64,
              "{}: expected dtype f32 or f64, got {}", label, dtype_name(p.value.dtype()));
  RECUR_CHECK(p.grad.dtype() == p.value.dtype(), "{}: expected a {} grad, got {}", label,
              dtype_name(p.value.dtype()), dtype_name(p.grad.dtype()));
  RECUR_CHECK(p.grad.shape() == p.value.shape(), "{}: expected a grad of shape {}, got {}", label,
              p.value.shape_str(), p.grad.shape_str());
  RECUR_CHECK(p.value.is_contiguous() && p.grad.is_contiguous(),
              "{}: expected contiguous value and grad", label);
}

}  // namespace

Optimizer::Optimizer(const ParameterList& params, double lr, const std::string& what)
    : lr_(0.0), what_(what) {
  std::set<std::string> names;
  for (const Parameter& p : params) {
    if (!p.requires_grad || !p.grad.defined()) continue;
    check_trained_parameter(p, what_);
    RECUR_CHECK(names.insert(p.name).second, "{}: expected unique parameter names, got '{}' twice",
                what_, p.name);
    params_.push_back(p);
  }
  RECUR_CHECK(!params_.empty(),
              "{}: expected at least one parameter with requires_grad and a grad, got none "
              "among {} entries",
              what_, params.size());
  set_lr(lr);
}

void Optimizer::zero_grad() {
  // Grads are contiguous (checked): a memset, queued on the device's stream for GPU grads.
  for (Parameter& p : params_) zero_bytes(p.grad.raw_data(), p.grad.device(), p.grad.nbytes());
}

void Optimizer::set_lr(double lr) {
  optim_config::check_non_negative(lr, "lr", what_);
  lr_ = lr;
}

nlohmann::json Optimizer::state_scalars() const {
  return {{"name", name()}, {"step", steps_}, {"lr", lr_}};
}

void Optimizer::load_state(const TensorMap& tensors, const nlohmann::json& scalars) {
  const std::string what = what_ + " state";
  RECUR_CHECK(scalars.is_object(), "{}: expected a JSON object of scalars, got {}", what,
              scalars.dump());
  auto name_it = scalars.find("name");
  RECUR_CHECK(name_it != scalars.end() && name_it->is_string(),
              "{}: expected \"name\": \"{}\", got {}", what, name(),
              name_it == scalars.end() ? std::string("no name") : name_it->dump());
  RECUR_CHECK(name_it->get<std::string>() == name(), "{}: expected name \"{}\", got \"{}\"", what,
              name(), name_it->get<std::string>());
  auto step_it = scalars.find("step");
  RECUR_CHECK(
      step_it != scalars.end() && step_it->is_number_integer() && step_it->get<int64_t>() >= 0,
      "{}: expected \"step\" as an integer >= 0, got {}", what,
      step_it == scalars.end() ? std::string("none") : step_it->dump());
  const int64_t steps = step_it->get<int64_t>();
  const double lr = optim_config::required_number(scalars, "lr", what);
  optim_config::check_non_negative(lr, "lr", what);

  restore_state(tensors, scalars, steps);  // throws before changing anything
  lr_ = lr;
  steps_ = steps;
}

Tensor Optimizer::load_buffer(const TensorMap& tensors, const std::string& buffer,
                              const Parameter& param) const {
  const std::string key = buffer_name(buffer, param);
  auto it = tensors.find(key);
  RECUR_CHECK(it != tensors.end(), "{} state: missing tensor '{}' (expected shape {})", what_, key,
              param.value.shape_str());
  const Tensor& saved = it->second;
  RECUR_CHECK(saved.defined(), "{} state: tensor '{}' is undefined (expected shape {})", what_, key,
              param.value.shape_str());
  RECUR_CHECK(saved.shape() == param.value.shape(),
              "{} state: tensor '{}' expected shape {}, got {}", what_, key,
              param.value.shape_str(), saved.shape_str());
  // The dtype is converted on the host (copies between devices keep the dtype).
  const Tensor host = saved.device().is_cpu() ? saved : saved.to(Device::cpu());
  Tensor copy = Tensor::empty(param.value.shape(), param.value.dtype());
  copy.copy_from(host);
  return param.value.device().is_cpu() ? copy : copy.to(param.value.device());
}

std::unique_ptr<Optimizer> make_optimizer(const ParameterList& params,
                                          const nlohmann::json& config) {
  RECUR_CHECK(config.is_object(), "optimizer config: expected a JSON object, got {}",
              config.dump());
  auto name_it = config.find("name");
  RECUR_CHECK(name_it != config.end() && name_it->is_string(),
              "optimizer config: expected \"name\": \"sgd\", \"adam\" or \"adamw\", got {}",
              name_it == config.end() ? std::string("no name") : name_it->dump());
  const std::string name = name_it->get<std::string>();
  if (name == "sgd") return std::make_unique<Sgd>(params, SgdOptions::from_json(config));
  if (name == "adam") return std::make_unique<Adam>(params, AdamOptions::from_json(config));
  if (name == "adamw")
    return std::make_unique<AdamW>(params,
                                   AdamOptions::from_json(config, AdamW::default_options()));
  RECUR_FAIL("optimizer config: expected name \"sgd\", \"adam\" or \"adamw\", got \"{}\"", name);
}

namespace optim_config {

void check_keys(const nlohmann::json& config, std::initializer_list<const char*> accepted,
                const std::string& what) {
  RECUR_CHECK(config.is_object(), "{}: expected a JSON object, got {}", what, config.dump());
  for (auto it = config.begin(); it != config.end(); ++it) {
    bool known = false;
    std::string list;
    for (const char* key : accepted) {
      known = known || it.key() == key;
      list += list.empty() ? key : std::string(", ") + key;
    }
    RECUR_CHECK(known, "{}: unknown key \"{}\" (expected one of: {})", what, it.key(), list);
  }
}

double number(const nlohmann::json& config, const char* key, double fallback,
              const std::string& what) {
  auto it = config.find(key);
  if (it == config.end()) return fallback;
  RECUR_CHECK(it->is_number(), "{}: expected \"{}\" to be a number, got {}", what, key, it->dump());
  return it->get<double>();
}

bool boolean(const nlohmann::json& config, const char* key, bool fallback,
             const std::string& what) {
  auto it = config.find(key);
  if (it == config.end()) return fallback;
  RECUR_CHECK(it->is_boolean(), "{}: expected \"{}\" to be true or false, got {}", what, key,
              it->dump());
  return it->get<bool>();
}

double required_number(const nlohmann::json& config, const char* key, const std::string& what) {
  RECUR_CHECK(config.contains(key), "{}: missing \"{}\"", what, key);
  return number(config, key, 0.0, what);
}

void check_non_negative(double value, const char* key, const std::string& what) {
  RECUR_CHECK(std::isfinite(value) && value >= 0.0, "{}: expected {} >= 0, got {}", what, key,
              value);
}

}  // namespace optim_config

}  // namespace recur
