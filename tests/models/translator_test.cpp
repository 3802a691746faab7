// Translator (models/translator.h) against PyTorch (tests/support/translator_fixture.h), and the
// translation helpers of models/translation.h: batching, the loss over a corpus, checkpoints and
// the translation memory baseline.
#include "models/translator.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "models/translation.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"
#include "support/scratch_dir.h"
#include "support/translator_fixture.h"

namespace recur {
namespace {

using testing::expect_error;

constexpr const char* kFixtureCases[] = {"lstm", "gru", "lstm_bidirectional", "gru_bidirectional"};

TEST(Translator, MatchesPyTorchInF64) {
  for (const char* fixture_case : kFixtureCases)
    testing::check_translator_against_pytorch(fixture_case, DType::f64, testing::kF64Tolerance);
}

TEST(Translator, MatchesPyTorchInF32) {
  for (const char* fixture_case : kFixtureCases)
    testing::check_translator_against_pytorch(fixture_case, DType::f32, testing::kF32Tolerance);
}

// The loss over a corpus is the mean per target token whatever the batching, and equals the
// fixture's (one batch of all its pairs).
TEST(Translator, CorpusLossDoesNotDependOnTheBatching) {
  const testing::TranslatorFixture f = testing::load_translator_fixture("lstm");
  Translator model = testing::translator_fixture_model(f, DType::f64);
  const std::vector<TranslationPair> pairs = testing::translator_fixture_pairs(f);
  const double reference = f.at("output.loss").item({0});
  for (int64_t batch : {1, 2, 3, 64})
    EXPECT_NEAR(translation_loss(model, pairs, batch), reference, 1e-12 * reference) << batch;
}

// A source's translation, greedy or by beam search, does not depend on what else is in its
// batch: padding is masked, and the rows of sources that finish early leave the batch.
TEST(Translator, TranslationsDoNotDependOnTheBatch) {
  const testing::TranslatorFixture f = testing::load_translator_fixture("gru");
  Translator model = testing::translator_fixture_model(f, DType::f64);
  std::vector<std::string> sources;
  for (const TranslationPair& p : testing::translator_fixture_pairs(f)) sources.push_back(p.source);
  std::vector<size_t> lengths;
  for (int64_t beam : {1, 3}) {
    DecodeOptions options;
    options.beam = beam;
    const std::vector<std::string> together = translate_all(model, sources, 64, options);
    for (size_t i = 0; i < sources.size(); ++i) {
      EXPECT_EQ(translate_all(model, {sources[i]}, 1, options)[0], together[i]) << i;
      EXPECT_LE(static_cast<int64_t>(together[i].size()), f.config.max_len + 1);
      if (beam == 1) lengths.push_back(together[i].size());
    }
  }
  std::sort(lengths.begin(), lengths.end());
  EXPECT_LT(lengths.front(), lengths.back()) << "the sources must finish at different steps";
  DecodeOptions two_tokens;
  two_tokens.max_tokens = 2;
  EXPECT_EQ(model.translate({sources[0]}, two_tokens)[0].size(), 2u) << "max_tokens bounds it";
}

TEST(TranslatorConfig, RoundTripsAndRejectsBadFields) {
  TranslatorConfig c;
  c.cell = CellKind::gru;
  c.hidden = 12;
  c.layers = 2;
  c.max_len = 40;
  EXPECT_EQ(TranslatorConfig::from_json(c.to_json()).to_json(), c.to_json());
  nlohmann::json j = c.to_json();
  j["vocab"] = 100;
  expect_error([&] { TranslatorConfig::from_json(j); }, "vocab must be 256");
  j = c.to_json();
  j["max_len"] = 0;
  expect_error([&] { TranslatorConfig::from_json(j); }, "max_len must be at least 1");
  j = c.to_json();
  j["bidirectional"] = true;
  j["hidden"] = 11;
  expect_error([&] { TranslatorConfig::from_json(j); }, "expected an even hidden, got 11");
  j = c.to_json();
  j["dropout"] = 1.0;
  expect_error([&] { TranslatorConfig::from_json(j); }, "dropout must be in [0, 1), got 1");
  j.erase("hidden");
  expect_error([&] { TranslatorConfig::from_json(j); }, "translator config");
  // A checkpoint's config from before bidirectional encoders and dropout loads as neither.
  j = c.to_json();
  j.erase("bidirectional");
  j.erase("dropout");
  const TranslatorConfig old = TranslatorConfig::from_json(j);
  EXPECT_FALSE(old.bidirectional);
  EXPECT_EQ(old.dropout, 0.0);
  c.bidirectional = true;
  c.dropout = 0.25;
  EXPECT_EQ(TranslatorConfig::from_json(c.to_json()).to_json(), c.to_json());
  EXPECT_EQ(c.encoder().hidden_size, 6) << "half the units per direction";
  EXPECT_EQ(c.encoder().output_size(), 12) << "the keys have the decoder's size";
  EXPECT_EQ(c.decoder().hidden_size, 12);
  EXPECT_FALSE(c.decoder().bidirectional);
}

// A small f64 model on the fixture's batch, with `dropout`.
Translator dropout_model(double dropout, const TranslatorConfig& base) {
  TranslatorConfig c = base;
  c.dropout = dropout;
  return Translator(c, 11, DType::f64);
}

// Dropout changes nothing in eval mode and leaves the weights' initial values alone; in training
// mode it is on, its masks fixed by the step (so backward sees the forward's), and the gradients
// are those of the dropped forward.
TEST(Translator, DropoutIsOnOnlyInTrainingAndDifferentiable) {
  const testing::TranslatorFixture f = testing::load_translator_fixture("lstm_bidirectional");
  const TranslationBatch batch = testing::translator_fixture_batch(f);
  Translator plain = dropout_model(0.0, f.config), dropped = dropout_model(0.3, f.config);
  const TensorMap plain_weights = plain.state_dict(), dropped_weights = dropped.state_dict();
  ASSERT_EQ(plain_weights.size(), dropped_weights.size());
  for (const auto& [name, value] : plain_weights)
    EXPECT_EQ(value.to_vector(), dropped_weights.at(name).to_vector()) << name;
  auto logits = [&](Translator& m, uint64_t step, bool keep = false) {
    ForwardOptions o;
    o.step = step;
    o.keep_for_backward = keep;
    return m.forward(batch, o).logits;
  };
  plain.set_training(false);
  dropped.set_training(false);
  EXPECT_EQ(logits(dropped, 1).to_vector(), logits(plain, 1).to_vector()) << "eval: no dropout";
  plain.set_training(true);
  dropped.set_training(true);
  EXPECT_NE(logits(dropped, 1).to_vector(), logits(plain, 1).to_vector()) << "training: dropout";
  EXPECT_EQ(logits(dropped, 1).to_vector(), logits(dropped, 1).to_vector()) << "one mask a step";
  EXPECT_NE(logits(dropped, 1).to_vector(), logits(dropped, 2).to_vector()) << "a new mask a step";

  const Tensor w = testing::random_tensor(logits(dropped, 5).shape(), 3);
  dropped.zero_grad();
  logits(dropped, 5, /*keep=*/true);
  dropped.backward(w);
  auto loss = [&] { return testing::dot(logits(dropped, 5), w); };
  for (Parameter& p : dropped.parameters())
    testing::expect_gradient(p.name, p.value, p.grad, loss, 1e-6, 1e-6, 8);
}

// translate() runs in eval mode whatever mode the model is in (no dropout between its recurrent
// layers), and leaves the model in the mode it found.
TEST(Translator, TranslatesWithoutDropoutInEitherMode) {
  TranslatorConfig c;
  c.embed = 4;
  c.hidden = 6;
  c.layers = 2;
  c.bidirectional = true;
  c.dropout = 0.5;
  c.max_len = 12;
  Translator model(c, 3, DType::f64);
  const std::vector<std::string_view> sources = {"abc", "hello world", "x"};
  model.set_training(false);
  const std::vector<std::string> in_eval = model.translate(sources);
  model.set_training(true);
  EXPECT_EQ(model.translate(sources), in_eval);
  const TranslationBatch batch = make_translation_batch({{"abc", "de"}, {"x", "yz"}}, {0, 1});
  ForwardOptions o;
  o.step = 4;
  const std::vector<double> first = model.forward(batch, o).logits.to_vector();
  model.set_training(false);
  EXPECT_NE(model.forward(batch, o).logits.to_vector(), first)
      << "the model was left in training mode: dropout on";
}

TEST(Translator, CheckpointsLoadOnlyAsTranslators) {
  testing::ScratchDir dir("recur_translator");
  const testing::TranslatorFixture f = testing::load_translator_fixture("lstm");
  Translator model = testing::translator_fixture_model(f, DType::f32);
  Checkpoint ck;
  ck.model = model.state_dict();
  ck.config = {{"kind", kTranslatorKind}, {"model", f.config.to_json()}};
  save_checkpoint(dir.file("a.safetensors"), ck);
  Translator loaded = load_translator(dir.file("a.safetensors"));
  const std::vector<std::string> sources = {"abc", "x"};
  EXPECT_EQ(translate_all(loaded, sources), translate_all(model, sources));
  ck.config["kind"] = "seq_classifier";
  save_checkpoint(dir.file("b.safetensors"), ck);
  expect_error([&] { load_translator(dir.file("b.safetensors")); }, "not a translator checkpoint");
}

TEST(Translator, RejectsBatchesWithoutTargetsAndEmptySources) {
  const testing::TranslatorFixture f = testing::load_translator_fixture("lstm");
  Translator model = testing::translator_fixture_model(f, DType::f64);
  expect_error([&] { model.forward(make_source_batch({"abc"})); }, "expected a batch with targets");
  expect_error([&] { model.translate({""}); }, "expected non-empty sources");
}

TEST(TranslationMemory, ReturnsTheTargetOfTheMostSimilarSource) {
  const std::vector<TranslationPair> memory = {
      {"Open file", "Datei öffnen"}, {"Close file", "Datei schließen"}, {"Quit", "Beenden"}};
  const std::vector<std::string> out =
      translation_memory(memory, {"close FILES", "open the file", "xyz", "quit now"});
  EXPECT_EQ(out[0], "Datei schließen");
  EXPECT_EQ(out[1], "Datei öffnen");
  EXPECT_EQ(out[2], "xyz") << "nothing shared: the source itself";
  EXPECT_EQ(out[3], "Beenden");
}

}  // namespace
}  // namespace recur
