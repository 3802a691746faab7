// SeqClassifier: sequence-to-vector classification (spam or not, sentiment, the kind of sensor
// behind a signal). Its input is either byte tokens through an Embedding, or numeric feature
// vectors read directly (config.features: the names of the F features) -> Recurrent (any cell;
// L layers; uni- or bidirectional; dropout between layers) -> FinalHidden (the last layer's final
// h, directions side by side) -> Linear -> logits over the classes. Its state_dict names and
// numbers are those of the PyTorch module
//
//   class SeqClassifier(nn.Module):
//       def __init__(self, vocab, embed, hidden, layers, bidirectional, classes, features=0):
//           super().__init__()
//           if features == 0:                    # byte tokens; else no embedding at all
//               self.embed = nn.Embedding(vocab, embed)
//           self.rnn = nn.LSTM(features or embed, hidden, layers, batch_first=True,
//                              bidirectional=bidirectional)             # or nn.GRU / nn.RNN
//           self.head = nn.Linear(hidden * (2 if bidirectional else 1), classes)
//       def forward(self, inputs, lengths):      # tokens [B,T], or features [B,T,F] float
//           x = self.embed(inputs) if hasattr(self, "embed") else inputs
//           x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
//           _, h_n = self.rnn(x)                       # LSTM: (h_n, c_n) -> h_n
//           h = torch.cat([h_n[-2], h_n[-1]], 1) if self.rnn.bidirectional else h_n[-1]
//           return self.head(h)
//
// (python_tools/make_classifier_fixture.py; tests/models/seq_classifier_test.cpp checks it).
// Feature inputs are standardised before the model: (value - feature_mean) / feature_std, with
// the statistics of the training data, kept in the config (datasets/labelled_sequences.h).
//   inputs [B,T] i64 or [B,T,F] float, lengths [B] i64 (CPU) -> logits [B,C]
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "layers/graph.h"
#include "layers/recurrent.h"
#include "models/char_lm.h"

namespace recur {

// How a sequence cut into windows is predicted from its windows' class probabilities:
//   mean      their mean
//   log_mean  the exponential of the mean of their logarithms, normalised (a geometric mean):
//             the windows as independent evidence, so one window sure of its class weighs more
//             than in the mean (a mail whose spam sits in one of five windows)
enum class WindowVote { mean, log_mean };
const char* window_vote_name(WindowVote vote);  // "mean", "log_mean"
// Throws recur::Error naming the choices when `name` is neither.
WindowVote window_vote_from_name(const std::string& name);
// The probabilities of a sequence from its windows' ([W][C], W >= 1) under `vote`.
std::vector<double> combine_windows(const std::vector<std::vector<double>>& windows,
                                    WindowVote vote);

struct SeqClassifierConfig {
  CellKind cell = CellKind::lstm;
  int64_t vocab = 256;  // byte tokens
  int64_t embed = 32;
  int64_t hidden = 128;
  int64_t layers = 1;
  bool bidirectional = false;
  double dropout = 0.0;             // between recurrent layers, in training mode
  std::vector<std::string> labels;  // the class names, in class-index order (at least 2)
  int64_t max_len = 256;            // the model reads the first max_len steps of a sequence
  // 0: as above. Else every sequence (document or feature sequence) is cut into windows of
  // max_len steps, one every window_stride steps (the cut_windows of datasets/labelled_*.h); the
  // model learns and predicts each window, and a sequence's prediction combines its windows'
  // probabilities by window_vote.
  int64_t window_stride = 0;
  WindowVote window_vote = WindowVote::mean;
  // Numeric inputs: the names of the features, in input order; empty: byte tokens (vocab, embed).
  std::vector<std::string> features;
  std::vector<double> feature_mean, feature_std;  // per feature: the standardisation of inputs
  std::string id_column = "id", label_column = "label";  // of feature CSV files

  bool reads_features() const { return !features.empty(); }
  bool reads_windows() const { return window_stride > 0; }

  int64_t classes() const { return static_cast<int64_t>(labels.size()); }
  void validate() const;  // throws naming the first invalid field
  nlohmann::json to_json() const;
  static SeqClassifierConfig from_json(const nlohmann::json& j);
  RecurrentConfig recurrent() const;
};

class SeqClassifier {
 public:
  // dtype: f32, or f64 (checks against PyTorch's f64 numbers).
  explicit SeqClassifier(const SeqClassifierConfig& config, uint64_t seed = 0,
                         DType dtype = DType::f32);

  // inputs on the model's device: tokens [B,T] i64, or (reads_features()) standardised features
  // [B,T,F] of the model's dtype; lengths [B] i64 on the CPU, each in [1,T], or undefined (all T
  // valid). -> logits [B,C]
  Tensor forward(const Tensor& inputs, const Tensor& lengths, const ForwardOptions& options = {});
  // dlogits [B,C]: accumulates parameter gradients.
  void backward(const Tensor& dlogits);

  ParameterList parameters() { return graph_.parameters(); }
  TensorMap state_dict() { return graph_.state_dict(); }
  void set_training(bool training) { graph_.set_training(training); }
  void zero_grad() { graph_.zero_grad(); }
  // Moves the model, sets its engine and its math precision (before building an optimizer).
  void place(const Placement& where);
  Device device() const { return device_; }
  const SeqClassifierConfig& config() const { return config_; }
  Graph& graph() { return graph_; }

 private:
  SeqClassifierConfig config_;
  Graph graph_;
  Device device_ = Device::cpu();
};

}  // namespace recur
