// SeqAutoencoder: sequence to sequence through a bottleneck, for anomaly detection. An encoder
// RNN reads a window of a series into its final state; a decoder RNN starts from that state and,
// reading nothing (zeros), unrolls the window again; a Linear maps its outputs back to the
// features. Trained to reconstruct normal windows, it reconstructs unusual ones badly: the
// reconstruction error is the anomaly score (models/anomaly.h). Its state_dict names and numbers
// are those of the PyTorch module
//
//   class SeqAutoencoder(nn.Module):
//       def __init__(self, features, hidden, layers):
//           super().__init__()
//           self.encoder = nn.LSTM(features, hidden, layers, batch_first=True)  # or GRU/RNN
//           self.decoder = nn.LSTM(features, hidden, layers, batch_first=True)
//           self.head = nn.Linear(hidden, features)
//       def forward(self, x):                                # x [B,W,F]
//           _, state = self.encoder(x)                       # the window, in the final state
//           y, _ = self.decoder(torch.zeros_like(x), state)  # unrolled from it alone
//           return self.head(y)                              # the reconstruction [B,W,F]
//
// (python_tools/make_autoencoder_fixture.py; tests/models/seq_autoencoder_test.cpp checks it).
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

struct SeqAutoencoderConfig {
  CellKind cell = CellKind::lstm;
  int64_t features = 1;
  int64_t hidden = 32;
  int64_t layers = 1;
  int64_t window = 32;  // the windows it is trained on and scores
  // Per feature: values <-> model space, fitted on the training part; all with first
  // differences or all without.
  std::vector<SeriesScaling> scaling{SeriesScaling{}};
  std::vector<std::string> columns;  // the features' CSV columns, in order (empty: unrecorded)

  bool difference() const { return scaling.front().difference; }

  void validate() const;  // throws naming the first invalid field
  nlohmann::json to_json() const;
  static SeqAutoencoderConfig from_json(const nlohmann::json& j);
  RecurrentConfig encoder() const;  // the decoder has the same shape
};

class SeqAutoencoder {
 public:
  // dtype: f32, or f64 (checks against PyTorch's f64 numbers).
  explicit SeqAutoencoder(const SeqAutoencoderConfig& config, uint64_t seed = 0,
                          DType dtype = DType::f32);

  // x [B,W,F] of the model's dtype, on its device -> the reconstruction [B,W,F].
  Tensor forward(const Tensor& x, const ForwardOptions& options = {});
  // dreconstruction [B,W,F]: accumulates parameter gradients (through the decoder into the
  // encoder's final state).
  void backward(const Tensor& dreconstruction);

  ParameterList parameters() { return graph_.parameters(); }
  TensorMap state_dict() { return graph_.state_dict(); }
  void set_training(bool training) { graph_.set_training(training); }
  void zero_grad() { graph_.zero_grad(); }
  // Moves the model, sets its engine and its math precision (before building an optimizer).
  void place(const Placement& where);
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }
  const SeqAutoencoderConfig& config() const { return config_; }

 private:
  SeqAutoencoderConfig config_;
  DType dtype_;
  Graph graph_;
  Device device_ = Device::cpu();
  Tensor zeros_;  // the decoder's input, kept while the batch shape stays
};

}  // namespace recur
