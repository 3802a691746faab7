// A named parameter of a layer: its value and the gradient that backward accumulates into.
// Parameter handles share storage with the layer's own tensors, so an optimizer that updates
// `value` in place updates the layer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace recur {

struct Parameter {
  std::string name;  // PyTorch state_dict name, e.g. "rnn.weight_ih_l0"
  Tensor value;
  Tensor grad;                // same shape and dtype as value; undefined for buffers
  bool requires_grad = true;  // false: a buffer (saved in state_dict, never trained)
};

using ParameterList = std::vector<Parameter>;

// Moves p's value and gradient to `device` (copies; a no-op for tensors already there).
inline void move_to(Parameter& p, Device device) {
  if (p.value.defined() && p.value.device() != device) p.value = p.value.to(device);
  if (p.grad.defined() && p.grad.device() != device) p.grad = p.grad.to(device);
}

// Prefixes every name with `prefix` + "." (no dot when prefix is empty).
inline ParameterList prefixed(ParameterList params, const std::string& prefix) {
  if (prefix.empty()) return params;
  for (Parameter& p : params) p.name = prefix + "." + p.name;
  return params;
}

}  // namespace recur
