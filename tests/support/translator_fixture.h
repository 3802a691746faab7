// The PyTorch golden fixtures of the translator: tests/data/translator_<case>.safetensors, by
// python_tools/make_translator_fixture.py (cases lstm, gru, lstm_bidirectional and
// gru_bidirectional), hold a 2-layer model's weights (PyTorch state_dict
// names), a padded batch of three pairs with different source and target lengths
// ("input.source", "input.source_lengths", "input.target_in", "input.target_out",
// "input.target_lengths"), the logits, the attention weights, the mean cross-entropy and every
// parameter gradient ("output.logits", "output.attention", "output.loss", "grad.<name>"), and the
// greedy translation of each source ("output.greedy" [B, max_len]: at most max_len tokens, EOS
// included, then -1) and its beam search translation ("output.beam", the same layout, with the
// width and length exponent of "output.beam_options" [2]), all in float64; the metadata "config" is
// TranslatorConfig::to_json().
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "layers/loss.h"
#include "models/translation.h"
#include "support/compare.h"
#include "support/fixture_file.h"
#include "train/checkpoint.h"

namespace recur::testing {

using TranslatorFixture = ModelFixture<TranslatorConfig>;

inline TranslatorFixture load_translator_fixture(const std::string& fixture_case) {
  return load_model_fixture<TranslatorConfig>("translator_" + fixture_case);
}

inline Translator translator_fixture_model(const TranslatorFixture& f, DType dtype) {
  Translator model(f.config, 7, dtype);
  load_state_dict(model.parameters(), fixture_weights(f.file), /*strict=*/true);
  return model;
}

inline TranslationBatch translator_fixture_batch(const TranslatorFixture& f) {
  TranslationBatch b{f.at("input.source"),         f.at("input.source_lengths"),
                     f.at("input.target_in"),      f.at("input.target_out"),
                     f.at("input.target_lengths"), 0};
  for (double n : b.target_lengths.to_vector()) b.target_tokens += static_cast<int64_t>(n);
  return b;
}

// The fixture's pairs as text (its tokens are printable bytes).
inline std::vector<TranslationPair> translator_fixture_pairs(const TranslatorFixture& f) {
  const TranslationBatch b = translator_fixture_batch(f);
  std::vector<TranslationPair> pairs;
  for (int64_t i = 0; i < b.source.size(0); ++i) {
    TranslationPair p;
    for (int64_t s = 0; s < b.source_lengths.item({i}); ++s)
      p.source += static_cast<char>(b.source.item({i, s}));
    for (int64_t t = 1; t < b.target_lengths.item({i}); ++t)
      p.target += static_cast<char>(b.target_in.item({i, t}));
    pairs.push_back(p);
  }
  return pairs;
}

// PyTorch's translation of source i ("output.greedy" or "output.beam"): its bytes before EOS.
inline std::string translator_fixture_translation(const TranslatorFixture& f,
                                                  const std::string& key, int64_t i) {
  std::string out;
  const Tensor& tokens = f.at(key);
  for (int64_t k = 0; k < tokens.size(1); ++k) {
    const auto token = static_cast<int64_t>(tokens.item({i, k}));
    if (token == kEos || token < 0) break;
    out += static_cast<char>(token);
  }
  return out;
}

// Forward (logits, attention), loss, every parameter gradient and the greedy translations by a
// model of `dtype` at `where`, against PyTorch's.
inline void check_translator_against_pytorch(const std::string& fixture_case, DType dtype,
                                             const Tolerance& tol, const Placement& where = {}) {
  SCOPED_TRACE(fixture_case + " " + dtype_name(dtype) + " on " + where.describe());
  const TranslatorFixture f = load_translator_fixture(fixture_case);
  Translator model = translator_fixture_model(f, dtype);
  model.place(where);
  auto on_host = [](const Tensor& t) { return t.to(Device::cpu()); };

  model.set_training(true);
  model.zero_grad();
  ForwardOptions keep;
  keep.keep_for_backward = true;
  const TranslationBatch batch = translator_fixture_batch(f);
  const Translator::Output out = model.forward(batch, keep);
  expect_close(on_host(out.logits), f.at("output.logits"), tol, "logits");
  expect_close(on_host(out.weights), f.at("output.attention"), tol, "attention weights");
  SoftmaxCrossEntropy xent(kIgnoredTarget);
  const Tensor targets =
      where.device.is_cpu() ? batch.target_out : batch.target_out.to(where.device);
  const double loss = xent.forward(out.logits, targets);
  EXPECT_NEAR(loss, f.at("output.loss").item({0}), tol.rtol * loss) << "loss";
  model.backward(xent.backward());
  int checked = 0;
  for (Parameter& p : model.parameters()) {
    expect_close(on_host(p.grad), f.at("grad." + p.name), tol, "grad of " + p.name);
    ++checked;
  }
  const int64_t encoder_directions = f.config.bidirectional ? 2 : 1;
  // embeddings, the encoder's and the decoder's 4 tensors per layer and direction, attention, head
  EXPECT_EQ(checked, 2 + (encoder_directions + 1) * f.config.layers * 4 + 1 + 2);

  std::vector<std::string> sources;
  for (const TranslationPair& p : translator_fixture_pairs(f)) sources.push_back(p.source);
  DecodeOptions greedy_options;
  greedy_options.max_tokens = f.at("output.greedy").size(1);
  const std::vector<std::string> greedy =
      translate_all(model, sources, /*batch=*/2, greedy_options);
  DecodeOptions beam_options = greedy_options;
  beam_options.beam = static_cast<int64_t>(f.at("output.beam_options").item({0}));
  beam_options.length_alpha = f.at("output.beam_options").item({1});
  const std::vector<std::string> beam = translate_all(model, sources, /*batch=*/2, beam_options);
  for (size_t i = 0; i < sources.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    EXPECT_EQ(greedy[i], translator_fixture_translation(f, "output.greedy", row)) << "source " << i;
    EXPECT_EQ(beam[i], translator_fixture_translation(f, "output.beam", row)) << "source " << i;
  }
}

}  // namespace recur::testing
