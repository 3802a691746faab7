// Translator: sequence to sequence, the talk's machine translation: an encoder RNN reads the
// source's bytes; a decoder RNN, starting from the encoder's final state, reads the target's
// bytes so far and, through Luong attention over the encoder's outputs (layers/attention.h),
// predicts the next byte. Its state_dict names and numbers are those of the PyTorch module
//
//   class Translator(nn.Module):
//       def __init__(self, vocab, embed, hidden, layers, bidirectional, dropout):
//           super().__init__()
//           self.source_embed = nn.Embedding(vocab, embed)
//           self.target_embed = nn.Embedding(vocab, embed)
//           self.encoder = nn.LSTM(embed, hidden // 2 if bidirectional else hidden, layers,
//                                  batch_first=True, bidirectional=bidirectional,
//                                  dropout=dropout)                  # or GRU/RNN
//           self.decoder = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=dropout)
//           self.attention = nn.Linear(2 * hidden, hidden, bias=False)
//           self.head = nn.Linear(hidden, vocab)
//           self.drop = nn.Dropout(dropout)
//       def forward(self, source, source_lengths, target_in, target_lengths):
//           keys, state = self.encoder(pack(self.drop(self.source_embed(source)), source_lengths))
//           if bidirectional: state = each layer's two directions side by side
//                             (layers/merge_directions.h), h and c each [L, B, hidden]
//           queries, _ = self.decoder(pack(self.drop(self.target_embed(target_in)),
//                                          target_lengths), state)
//           (the attention of layers/attention.h over the unpacked keys and queries)
//           return self.head(self.drop(attended)), weights      # logits [B,T,V], [B,T,S]
//
// A bidirectional encoder gives each direction half the hidden units, so its outputs (the
// attention's keys) and its merged final state have the decoder's size (OpenNMT's "brnn").
// (python_tools/make_translator_fixture.py; tests/models/translator_test.cpp checks it). The
// batch layout is datasets/parallel_corpus.h's: target_in starts with BOS, target_out ends with
// EOS.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/parallel_corpus.h"
#include "layers/graph.h"
#include "layers/recurrent.h"
#include "models/char_lm.h"

namespace recur {

struct TranslatorConfig {
  CellKind cell = CellKind::lstm;
  int64_t vocab = 256;  // byte tokens
  int64_t embed = 64;
  int64_t hidden = 256;
  int64_t layers = 1;
  bool bidirectional = false;  // the encoder's; hidden must then be even
  double dropout = 0.0;        // in training mode: on the embeddings, between recurrent layers
                               // and on the attended states the head reads
  int64_t max_len = 80;        // the longest source and target (bytes) it trains on; translations
                               // stop after max_len + 1 tokens

  void validate() const;  // throws naming the first invalid field
  nlohmann::json to_json() const;
  static TranslatorConfig from_json(const nlohmann::json& j);
  RecurrentConfig encoder() const;
  RecurrentConfig decoder() const;
};

struct DecodeOptions {
  int64_t max_tokens = 0;     // 0: the model's max_len + 1
  int64_t beam = 1;           // hypotheses kept per source; 1: greedy
  double length_alpha = 1.0;  // beam: hypotheses rank by log-probability / tokens^alpha
};

class Translator {
 public:
  // dtype: f32, or f64 (checks against PyTorch's f64 numbers).
  explicit Translator(const TranslatorConfig& config, uint64_t seed = 0, DType dtype = DType::f32);

  struct Output {
    Tensor logits;   // [B,T,V]
    Tensor weights;  // [B,T,S] the attention of each target step over the source
  };
  // Teacher forcing: the logits of the next byte at every target step. The batch's tensors are
  // on the CPU; the model copies what it needs to its device.
  Output forward(const TranslationBatch& batch, const ForwardOptions& options = {});
  // dlogits [B,T,V] on the model's device: accumulates parameter gradients.
  void backward(const Tensor& dlogits);

  // Each source's translation, its bytes up to (not including) EOS, by beam search
  // (models/beam_search.h; options.beam = 1: greedy decoding). A hypothesis stops after
  // max_tokens tokens, EOS included (default: max_len + 1, room for the longest target trained
  // on and its EOS). Sources are non-empty byte strings; they run as one batch of
  // sources x beam rows, from which the rows of finished sources are dropped as they finish.
  std::vector<std::string> translate(const std::vector<std::string_view>& sources,
                                     const DecodeOptions& options = {});

  ParameterList parameters() { return graph_.parameters(); }
  TensorMap state_dict() { return graph_.state_dict(); }
  void set_training(bool training) { graph_.set_training(training); }
  void zero_grad() { graph_.zero_grad(); }
  // Moves the model, sets its engine and its math precision (before building an optimizer).
  void place(const Placement& where);
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }
  const TranslatorConfig& config() const { return config_; }

 private:
  // A CPU i64 tensor on the model's device (token ids); lengths stay on the CPU.
  Tensor on_device(const Tensor& ids) const;

  TranslatorConfig config_;
  DType dtype_;
  Graph graph_;
  Device device_ = Device::cpu();
};

}  // namespace recur
