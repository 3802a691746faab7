// Recurrent: a stack of recurrent layers of one cell kind (rnn_tanh, rnn_relu, leaky, gru, lstm),
// uni- or bidirectional, with dropout between layers, optional initial state, per-sequence
// lengths for padded batches, and (lstm) a projection, all as PyTorch's nn.RNN / nn.GRU /
// nn.LSTM(batch_first=True) have them, with PyTorch's parameter names and layout.
//
//   x       [B,T,I]                       y    [B,T,D*S]   (zero at padded steps)
//   h0      [L*D,B,S] or undefined (0)    h_n  [L*D,B,S]   (each sequence's state at its end)
//   c0      [L*D,B,H] lstm                c_n  [L*D,B,H]
//   lengths [B] i64 in [1,T] or undefined
// S = proj_size when set, else H; D = 2 when bidirectional.
//
// Each direction of each layer runs through one engine of kernels/recurrent_engine.h: the CPU
// reference for a layer on the CPU, the fused CUDA kernels for a layer moved to a GPU with to().
// Inputs live on the layer's device, except `lengths`, which stay on the CPU (as PyTorch's
// pack_padded_sequence wants them): they are checked there and copied to the GPU by the layer.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "kernels/cell.h"
#include "kernels/recurrent_engine.h"
#include "kernels/recurrent_seq.h"
#include "layers/layer.h"

namespace recur {

struct RecurrentConfig {
  CellKind cell = CellKind::lstm;
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bidirectional = false;
  bool bias = true;
  double dropout = 0.0;     // on the outputs of every layer but the last, in training mode
  int64_t proj_size = 0;    // lstm only; 0 = none
  double leak = 0.5;        // leaky: initial a of every unit
  bool learn_leak = false;  // leaky: a is a parameter (else a fixed buffer)

  int64_t directions() const { return bidirectional ? 2 : 1; }
  int64_t state_size() const { return proj_size > 0 ? proj_size : hidden_size; }
  int64_t output_size() const { return directions() * state_size(); }
  // Throws recur::Error naming the first invalid option.
  void validate() const;
  nlohmann::json to_json() const;
  static RecurrentConfig from_json(const nlohmann::json& j);
};

struct RecurrentState {
  Tensor h;  // [L*D,B,S]
  Tensor c;  // [L*D,B,H] lstm
};

class Recurrent : public Layer {
 public:
  // Parameters start as PyTorch's: uniform(-1/sqrt(H), 1/sqrt(H)), drawn from Philox(seed).
  // dtype: f32, or f64 for gradient checks.
  explicit Recurrent(const RecurrentConfig& config, DType dtype = DType::f32, uint64_t seed = 0);

  struct Output {
    Tensor y;
    RecurrentState final_state;
  };
  Output run(const Tensor& x, const RecurrentState& initial = {}, const Tensor& lengths = {},
             const ForwardOptions& options = {});

  struct InputGrads {
    Tensor dx;                 // [B,T,I]
    RecurrentState d_initial;  // defined where the forward was given an initial state
  };
  // Gradients of y and (optionally) of the final state; undefined means zero.
  InputGrads run_backward(const Tensor& dy, const RecurrentState& d_final = {});

  // Layer interface: inputs {x, h0, c0, lengths}, outputs {y, h_n, c_n}; trailing inputs may be
  // left out and any may be undefined.
  std::string kind() const override { return "recurrent"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs,
                              const ForwardOptions& options) override;
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override;
  ParameterList parameters() override;
  nlohmann::json config() const override { return config_.to_json(); }

  const RecurrentConfig& options() const { return config_; }
  DType dtype() const { return dtype_; }
  // Seeds dropout between layers; the stream of layer boundary k is k.
  void set_dropout_seed(uint64_t seed) { dropout_seed_ = seed; }

  // Moves every parameter (value and gradient) to `device`, in place: Parameter handles taken
  // from parameters() before the move still point at the old tensors, so move a model before
  // building its optimizer. Drops a kept forward.
  void to(Device device) override;
  // Which engine runs the directions (kernels/recurrent_engine.h); auto_ by default.
  void set_engine(Engine engine) { engine_ = engine; }
  Engine engine() const { return engine_; }
  // Math precision of the GEMMs of every direction (core/precision.h); f32 by default. bf16/f16
  // need f32 parameters; states, cell state and gate math stay f32.
  void set_precision(Precision precision) override;
  Precision precision() const { return precision_; }
  // The engine the last forward ran with (auto_ before any forward).
  Engine last_engine() const { return last_engine_; }

 private:
  struct DirectionParams {
    Parameter w_ih, w_hh, b_ih, b_hh, w_hr, leak;
  };
  DirectionParams& dir(int64_t layer, int64_t direction) {
    return dirs_[layer * config_.directions() + direction];
  }
  SeqConfig seq_config(int64_t layer, int64_t direction) const;
  static SeqParams seq_params(const DirectionParams& d);

  RecurrentConfig config_;
  DType dtype_;
  uint64_t dropout_seed_;
  Engine engine_ = Engine::auto_;
  Precision precision_ = Precision::f32;
  Engine last_engine_ = Engine::auto_;
  std::vector<DirectionParams> dirs_;  // [layer * D + direction]

  // Kept by a forward with keep_for_backward.
  struct Saved {
    std::vector<Tensor> layer_inputs;  // input of each layer (after dropout for k > 0)
    std::vector<SeqSaved> seq;         // [layer * D + direction]
    Tensor lengths;                    // on the layer's device
    Engine engine = Engine::reference;
    bool had_h0 = false, had_c0 = false;
    bool dropout_on = false;
    uint32_t step = 0;
  };
  std::shared_ptr<const Saved> saved_;  // a copy of the layer shares parameters, not its forward
};

}  // namespace recur
