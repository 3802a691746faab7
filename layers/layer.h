// The Layer interface every node of the layer graph implements.
//
// forward takes the node's inputs and returns its outputs; when options.keep_for_backward is set
// it keeps what backward needs (one forward in flight per layer, as in Caffe or llm.c). backward
// takes the gradients of the outputs (an undefined Tensor means zero) and returns those of the
// inputs (undefined where an input has none, e.g. token ids or lengths), ADDING parameter
// gradients into Parameter::grad. Training mode (dropout on) is separate from keep_for_backward:
// an eval-mode forward can still be differentiated.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/precision.h"
#include "core/tensor.h"
#include "layers/parameter.h"

namespace recur {

struct ForwardOptions {
  bool keep_for_backward = false;
  uint64_t step = 0;  // training step: keys the dropout masks with the layer's seed
};

class Layer {
 public:
  virtual ~Layer() = default;
  // "linear", "embedding", "dropout", "recurrent", ...
  virtual std::string kind() const = 0;
  virtual std::vector<Tensor> forward(const std::vector<Tensor>& inputs,
                                      const ForwardOptions& options) = 0;
  virtual std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) = 0;
  // Parameters and buffers with their local names ("weight", "weight_ih_l0", ...).
  virtual ParameterList parameters() { return {}; }
  // The options this layer was built with, as JSON (for checkpoints).
  virtual nlohmann::json config() const { return nlohmann::json::object(); }

  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  // Moves the layer's parameters (values and gradients) to `device`; its inputs must then live
  // there too. Parameter handles taken before the move keep the old tensors: move a model before
  // building its optimizer. A layer without parameters only records the device.
  virtual void to(Device device) { device_ = device; }
  Device device() const { return device_; }
  // The math precision of the layer's matrix products (core/precision.h: bf16/f16 mixed
  // precision with f32 parameters). Layers without matrix products ignore it.
  virtual void set_precision(Precision /*precision*/) {}
  // Sets every gradient of this layer to zero.
  void zero_grad() {
    for (Parameter& p : parameters())
      if (p.grad.defined()) p.grad.zero();
  }

 private:
  bool training_ = true;
  Device device_ = Device::cpu();
};

// The input at position i, or an undefined Tensor when there are fewer inputs.
inline Tensor input_or_none(const std::vector<Tensor>& v, size_t i) {
  return i < v.size() ? v[i] : Tensor();
}

}  // namespace recur
