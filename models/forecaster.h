// Forecaster: one-step-ahead forecasting of a time series of F features observed together (F = 1:
// a univariate series). Recurrent (any cell; L layers; dropout between them) -> Linear -> the
// next model-space row (datasets/series_columns.h: each feature's standardised values or first
// differences). Its state_dict names and numbers are those of the PyTorch module
//
//   class Forecaster(nn.Module):
//       def __init__(self, features, hidden, layers, dropout):
//           super().__init__()
//           self.rnn = nn.LSTM(features, hidden, layers, dropout=dropout,
//                              batch_first=True)       # or GRU/RNN
//           self.head = nn.Linear(hidden, features)
//       def forward(self, z, state=None):          # z [B,T,F]
//           y, state = self.rnn(z, state)
//           return self.head(y), state             # [B,T,F]: the prediction of z[:, t+1]
//
// (python_tools/make_forecaster_fixture.py; tests/models/forecaster_test.cpp checks it).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/series_columns.h"
#include "layers/graph.h"
#include "layers/recurrent.h"
#include "models/char_lm.h"

namespace recur {

struct ForecasterConfig {
  CellKind cell = CellKind::lstm;
  int64_t hidden = 64;
  int64_t layers = 1;
  double dropout = 0.0;  // between recurrent layers, in training mode
  int64_t window = 48;   // training windows, and the past the model reads before forecasting
  // values <-> model space, one per feature (their number is F), fitted on the training part;
  // every feature in first differences or none
  std::vector<SeriesScaling> scaling{SeriesScaling{}};
  std::vector<std::string> columns;  // the features' CSV columns, in order (empty: unrecorded)

  int64_t features() const { return static_cast<int64_t>(scaling.size()); }
  bool difference() const { return scaling.front().difference; }

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
    Tensor prediction;     // [B,T,F]: the model-space row after each step
    RecurrentState state;  // [L,B,H] (c for lstm) after the last step
  };
  // z [B,T,F] of the model's dtype, on its device; state: undefined members mean zeros.
  Output forward(const Tensor& z, const RecurrentState& state = {},
                 const ForwardOptions& options = {});
  // dprediction [B,T,F]: accumulates parameter gradients.
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
