// Forecaster: one-step-ahead forecasting of a univariate time series. Recurrent (any cell; L
// layers; dropout between them) -> Linear -> the next model-space value (datasets/time_series.h:
// standardised values or first differences). Its state_dict names and numbers are those of the
// PyTorch module
//
//   class Forecaster(nn.Module):
//       def __init__(self, hidden, layers, dropout):
//           super().__init__()
//           self.rnn = nn.LSTM(1, hidden, layers, dropout=dropout, batch_first=True)  # or GRU/RNN
//           self.head = nn.Linear(hidden, 1)
//       def forward(self, z, state=None):          # z [B,T,1]
//           y, state = self.rnn(z, state)
//           return self.head(y), state             # [B,T,1]: the prediction of z[:, t+1]
//
// (python_tools/make_forecaster_fixture.py; tests/models/forecaster_test.cpp checks it).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

#include "datasets/time_series.h"
#include "layers/graph.h"
#include "layers/recurrent.h"
#include "models/char_lm.h"

namespace recur {

struct ForecasterConfig {
  CellKind cell = CellKind::lstm;
  int64_t hidden = 64;
  int64_t layers = 1;
  double dropout = 0.0;   // between recurrent layers, in training mode
  int64_t window = 48;    // training windows, and the past the model reads before forecasting
  SeriesScaling scaling;  // values <-> model space, fitted on the training part

  void validate() const;  // throws naming the first invalid field
  nlohmann::json to_json() const;
  static ForecasterConfig from_json(const nlohmann::json& j);
  RecurrentConfig recurrent() const;
};

class Forecaster {
 public:
  // dtype: f32, or f64 (checks against PyTorch's f64 numbers).
  explicit Forecaster(const ForecasterConfig& config, uint64_t seed = 0, DType dtype = DType::f32);

  struct Output {
    Tensor prediction;     // [B,T,1]: the model-space value after each step
    RecurrentState state;  // [L,B,H] (c for lstm) after the last step
  };
  // z [B,T,1] of the model's dtype, on its device; state: undefined members mean zeros.
  Output forward(const Tensor& z, const RecurrentState& state = {},
                 const ForwardOptions& options = {});
  // dprediction [B,T,1]: accumulates parameter gradients.
  void backward(const Tensor& dprediction);

  ParameterList parameters() { return graph_.parameters(); }
  TensorMap state_dict() { return graph_.state_dict(); }
  void set_training(bool training) { graph_.set_training(training); }
  void zero_grad() { graph_.zero_grad(); }
  // Moves the model, sets its engine and its math precision (before building an optimizer).
  void place(const Placement& where);
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }
  const ForecasterConfig& config() const { return config_; }

 private:
  ForecasterConfig config_;
  DType dtype_;
  Graph graph_;
  Device device_ = Device::cpu();
};

}  // namespace recur
