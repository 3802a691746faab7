// CharLM: the byte/character language model. Embedding -> Recurrent (lstm, gru, rnn_tanh,
// rnn_relu or leaky; L layers; dropout between them) -> Linear -> logits over the vocabulary.
// Its state_dict names are those of the PyTorch module
//
//   class CharLM(nn.Module):
//       def __init__(self, vocab, embed, hidden, layers, dropout):
//           super().__init__()
//           self.embed = nn.Embedding(vocab, embed)
//           self.rnn = nn.LSTM(embed, hidden, layers, dropout=dropout, batch_first=True)
//           self.head = nn.Linear(hidden, vocab)
//
// so a recur checkpoint loads with load_state_dict and a PyTorch state_dict loads into recur.
//
//   tokens [B,T] i64 -> logits [B,T,V]; the recurrent state [L,B,H] is carried in and out.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

#include "layers/graph.h"
#include "layers/recurrent.h"

namespace recur {

// Where a model runs: its device and the recurrent engine (kernels/recurrent_engine.h).
struct Placement {
  Device device = Device::cpu();
  Engine engine = Engine::auto_;
  Precision precision = Precision::f32;  // math precision of every matrix product
  std::string describe() const;          // "cuda:0, engine auto, f32 math"
};

struct CharLMConfig {
  CellKind cell = CellKind::lstm;
  int64_t vocab = 256;
  int64_t embed = 128;
  int64_t hidden = 512;
  int64_t layers = 2;
  double dropout = 0.0;  // between recurrent layers, in training mode

  void validate() const;  // throws naming the first invalid field
  nlohmann::json to_json() const;
  static CharLMConfig from_json(const nlohmann::json& j);
  RecurrentConfig recurrent() const;
};

class CharLM {
 public:
  explicit CharLM(const CharLMConfig& config, uint64_t seed = 0);

  struct Output {
    Tensor logits;         // [B,T,V]
    RecurrentState state;  // [L,B,H] (c for lstm): each row's state at its last valid step
  };
  // state: undefined members mean zeros. lengths [B] or undefined (all T valid).
  Output forward(const Tensor& tokens, const RecurrentState& state = {}, const Tensor& lengths = {},
                 const ForwardOptions& options = {});
  // dlogits [B,T,V]: accumulates parameter gradients. The gradient does not flow into the
  // incoming state (truncated backpropagation through time).
  void backward(const Tensor& dlogits);

  ParameterList parameters() { return graph_.parameters(); }
  TensorMap state_dict() { return graph_.state_dict(); }
  void set_training(bool training) { graph_.set_training(training); }
  void zero_grad() { graph_.zero_grad(); }
  // Moves the model to `device` (before building its optimizer); tokens, state and dlogits must
  // then live there, lengths stay on the CPU.
  void to(Device device) {
    graph_.to(device);
    device_ = device;
  }
  Device device() const { return device_; }
  void set_engine(Engine engine);
  // to(where.device) and set_engine(where.engine).
  void place(const Placement& where);
  const CharLMConfig& config() const { return config_; }
  Graph& graph() { return graph_; }

 private:
  CharLMConfig config_;
  Graph graph_;
  Device device_ = Device::cpu();
};

// Zeroes row b of every layer's state (h [L,B,S], c [L,B,H]): the row starts a new document.
void reset_state_row(RecurrentState& state, int64_t b);

}  // namespace recur
