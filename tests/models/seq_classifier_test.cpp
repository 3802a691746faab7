// SeqClassifier (models/seq_classifier.h) against PyTorch (tests/support/classifier_fixture.h),
// FinalHidden, the config, the class probabilities and their mean over windows.
#include "models/seq_classifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "layers/final_hidden.h"
#include "models/seq_classifier_eval.h"
#include "support/classifier_fixture.h"
#include "support/expect_error.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using testing::check_classifier_against_pytorch;
using testing::load_classifier_fixture;

TEST(SeqClassifier, MatchesPyTorchInF64) {
  for (const char* name : {"lstm", "gru", "rnn_tanh", "features_lstm"})
    check_classifier_against_pytorch(name, DType::f64, testing::kF64Tolerance);
}

TEST(SeqClassifier, MatchesPyTorchInF32) {
  for (const char* name : {"lstm", "gru", "rnn_tanh", "features_lstm"})
    check_classifier_against_pytorch(name, DType::f32, testing::kF32Tolerance);
}

TEST(SeqClassifier, PaddingTokensDoNotChangeTheLogits) {
  const testing::ClassifierFixture f = load_classifier_fixture("gru");
  SeqClassifier model(f.config, 3, DType::f64);
  model.set_training(false);
  const Tensor tokens = f.file.tensors.at("input.tokens"),
               lengths = f.file.tensors.at("input.lengths");
  const Tensor a = model.forward(tokens, lengths);
  Tensor other = tokens.clone();
  for (int64_t b = 0; b < other.size(0); ++b)
    for (int64_t s = static_cast<int64_t>(lengths.item({b})); s < other.size(1); ++s)
      other.data<int64_t>()[b * other.size(1) + s] = (b + s) % f.config.vocab;
  EXPECT_EQ(model.forward(other, lengths).to_vector(), a.to_vector());
}

TEST(SeqClassifier, ConfigRoundTripsAndRejectsBadValues) {
  SeqClassifierConfig c;
  c.cell = CellKind::gru;
  c.bidirectional = true;
  c.labels = {"ham", "spam"};
  c.max_len = 100;
  const SeqClassifierConfig back = SeqClassifierConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  testing::expect_error(
      [] {
        SeqClassifierConfig::from_json({{"cell", "lstm"}});
      },
      {"classifier config", "vocab"});
  SeqClassifierConfig one = c;
  one.labels = {"only"};
  testing::expect_error([&] { one.validate(); }, "at least 2 labels, got 1");
  SeqClassifierConfig twice = c;
  twice.labels = {"a", "a"};
  testing::expect_error([&] { twice.validate(); }, "distinct");
  SeqClassifierConfig short_len = c;
  short_len.max_len = 0;
  testing::expect_error([&] { short_len.validate(); }, "max_len must be at least 1");
}

TEST(SeqClassifier, FeatureConfigRoundTripsAndOldConfigsReadBytes) {
  SeqClassifierConfig c;
  c.labels = {"sit", "walk"};
  c.features = {"x", "y", "z"};
  c.feature_mean = {0.5, -1.0, 2.0};
  c.feature_std = {1.0, 0.25, 3.0};
  c.id_column = "seq";
  c.label_column = "activity";
  EXPECT_EQ(SeqClassifierConfig::from_json(c.to_json()).to_json(), c.to_json());
  EXPECT_EQ(c.recurrent().input_size, 3);
  nlohmann::json old = SeqClassifierConfig{}.to_json();
  old["labels"] = {"ham", "spam"};
  for (const char* key : {"features", "feature_mean", "feature_std", "id_column", "label_column"})
    old.erase(key);
  const SeqClassifierConfig bytes = SeqClassifierConfig::from_json(old);
  EXPECT_FALSE(bytes.reads_features());
  EXPECT_EQ(bytes.id_column, "id");
  EXPECT_EQ(bytes.recurrent().input_size, bytes.embed);

  SeqClassifierConfig short_mean = c;
  short_mean.feature_mean.pop_back();
  testing::expect_error([&] { short_mean.validate(); },
                        "a feature_mean and a feature_std for each of the 3 features, got 2 and 3");
  SeqClassifierConfig zero_std = c;
  zero_std.feature_std[1] = 0.0;
  testing::expect_error([&] { zero_std.validate(); }, {"feature 1 ('y')", "positive"});
  SeqClassifierConfig same_columns = c;
  same_columns.label_column = "seq";
  testing::expect_error([&] { same_columns.validate(); }, "distinct, non-empty id and label");

  // Windows: a stride in [1, max_len], for feature models only; older configs have none.
  EXPECT_FALSE(bytes.reads_windows());
  SeqClassifierConfig windows = c;
  windows.max_len = 24;
  windows.window_stride = 12;
  EXPECT_TRUE(windows.reads_windows());
  EXPECT_EQ(SeqClassifierConfig::from_json(windows.to_json()).window_stride, 12);
  windows.window_stride = 25;
  testing::expect_error([&] { windows.validate(); }, "window stride in [1, max_len = 24]");
  windows.window_stride = -1;
  testing::expect_error([&] { windows.validate(); }, "window stride");
  SeqClassifierConfig byte_windows = bytes;  // documents are cut into windows of bytes
  byte_windows.window_stride = 8;
  EXPECT_EQ(SeqClassifierConfig::from_json(byte_windows.to_json()).window_stride, 8);
  // The window vote round trips; configs written before it vote by the mean; a bad name throws.
  byte_windows.window_vote = WindowVote::log_mean;
  EXPECT_EQ(SeqClassifierConfig::from_json(byte_windows.to_json()).window_vote,
            WindowVote::log_mean);
  nlohmann::json no_vote = byte_windows.to_json();
  no_vote.erase("window_vote");
  EXPECT_EQ(SeqClassifierConfig::from_json(no_vote).window_vote, WindowVote::mean);
  no_vote["window_vote"] = "median";
  testing::expect_error([&] { SeqClassifierConfig::from_json(no_vote); }, "'median'");
}

TEST(SeqClassifier, AFeatureModelHasNoEmbeddingAndChecksItsInputs) {
  const testing::ClassifierFixture f = load_classifier_fixture("features_lstm");
  SeqClassifier model(f.config, 3, DType::f64);
  for (const Parameter& p : model.parameters()) EXPECT_NE(p.name.rfind("embed", 0), 0u) << p.name;
  model.set_training(false);
  const Tensor x = f.file.tensors.at("input.features"),
               lengths = f.file.tensors.at("input.lengths");
  const Tensor a = model.forward(x, lengths);
  // Other values after each length change nothing.
  Tensor other = x.clone();
  const int64_t T = x.size(1), F = x.size(2);
  for (int64_t b = 0; b < x.size(0); ++b)
    for (int64_t t = static_cast<int64_t>(lengths.item({b})); t < T; ++t)
      for (int64_t k = 0; k < F; ++k) other.data<double>()[(b * T + t) * F + k] = 100.0 + k;
  EXPECT_EQ(model.forward(other, lengths).to_vector(), a.to_vector());
  testing::expect_error([&] { model.forward(f.file.tensors.at("input.lengths"), lengths); },
                        "classifier features");
  testing::expect_error([&] { model.forward(x.narrow(2, 0, F - 1), lengths); },
                        "classifier features");
}

TEST(FinalHidden, TakesTheLastLayerAndRejectsBadShapes) {
  // h_n [L*D=4, B=2, H=3] with value 100*row + 10*b + h.
  Tensor h_n = Tensor::empty({4, 2, 3}, DType::f32);
  for (int64_t i = 0; i < h_n.numel(); ++i)
    h_n.data<float>()[i] = static_cast<float>(100 * (i / 6) + 10 * ((i / 3) % 2) + i % 3);
  FinalHidden both(2);
  const Tensor f = both.forward({h_n}, {})[0];
  ASSERT_EQ(f.shape(), (Shape{2, 6}));
  EXPECT_EQ(f.to_vector(),
            (std::vector<double>{200, 201, 202, 300, 301, 302, 210, 211, 212, 310, 311, 312}));
  const Tensor d = both.backward({f})[0];
  ASSERT_EQ(d.shape(), h_n.shape());
  for (int64_t i = 0; i < h_n.numel(); ++i)
    EXPECT_EQ(d.to_vector()[static_cast<size_t>(i)],
              i < 12 ? 0.0 : h_n.to_vector()[static_cast<size_t>(i)]);
  FinalHidden one(1);
  EXPECT_EQ(one.forward({h_n}, {})[0].to_vector(),
            (std::vector<double>{300, 301, 302, 310, 311, 312}));
  testing::expect_error([] { FinalHidden(3); }, "1 or 2 directions");
  testing::expect_error([&] { both.forward({h_n.narrow(0, 0, 3)}, {}); },
                        "multiple of 2 directions");
  testing::expect_error(
      [&] {
        both.backward({Tensor::zeros({2, 5}, DType::f32)});
      },
      "FinalHidden dfeatures");
}

TEST(SeqClassifier, ProbabilitiesSumToOneAndAgreeWithTheLogits) {
  SeqClassifierConfig c;
  c.hidden = 8;
  c.embed = 4;
  c.labels = {"a", "b", "c"};
  SeqClassifier model(c, 1);
  const ClassBatch b = make_text_batch("some text", 64);
  const auto p = class_probabilities(model, b)[0];
  ASSERT_EQ(p.size(), 3u);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-12);
  const std::vector<double> logits = model.forward(b.inputs, b.lengths).to_vector();
  EXPECT_NEAR(std::log(p[0] / p[1]), logits[0] - logits[1], 1e-5);
}

// Windows of one sequence count once per sequence: the mean of their probabilities.
TEST(SeqClassifierEval, MeanPerGroupAndScores) {
  testing::ScratchDir dir("recur_classifier_eval");
  // a: 5 steps, b: 2 steps; windows of 2 every 2 -> a@0 a@2 a@3, b@0.
  LabelledSequences data(dir.write("s.csv",
                                   "id,label,v\na,x,1\na,x,2\na,x,3\na,x,4\na,x,5\n"
                                   "b,y,6\nb,y,7\n"));
  data.cut_windows(2, 2);
  ASSERT_EQ(data.size(), 4);
  const std::vector<std::vector<double>> p = {{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}, {0.3, 0.7}};
  const GroupProbabilities g =
      group_probabilities(data, {3, 0, 1, 2}, {p[3], p[0], p[1], p[2]}, WindowVote::mean);
  EXPECT_EQ(g.groups, (std::vector<int64_t>{1, 0}));  // in the order of their first item
  EXPECT_EQ(g.labels, (std::vector<int64_t>{1, 0}));
  ASSERT_EQ(g.probabilities.size(), 2u);
  EXPECT_EQ(g.probabilities[0], (std::vector<double>{0.3, 0.7}));
  EXPECT_NEAR(g.probabilities[1][0], (0.9 + 0.2 + 0.6) / 3, 1e-15);
  EXPECT_NEAR(g.probabilities[1][1], (0.1 + 0.8 + 0.4) / 3, 1e-15);
  testing::expect_error(
      [&] {
        group_probabilities(data, {0, 1}, {p[0]}, WindowVote::mean);
      },
      "probabilities of 2 items, got 1");

  // Per window: a@2 is wrong; per sequence, both right.
  const ClassifierScores windows = score_probabilities(p, {0, 0, 0, 1}, 2);
  EXPECT_EQ(windows.documents, 4);
  EXPECT_EQ(windows.confusion, (std::vector<std::vector<int64_t>>{{2, 1}, {0, 1}}));
  EXPECT_NEAR(windows.loss, -(std::log(0.9) + std::log(0.2) + std::log(0.6) + std::log(0.7)) / 4,
              1e-12);
  const ClassifierScores sequences = score_probabilities(g.probabilities, g.labels, 2);
  EXPECT_EQ(sequences.accuracy(), 1.0);
  testing::expect_error(
      [&] {
        score_probabilities(p, {0, 0, 0, 2}, 2);
      },
      "row 3: expected 2 probabilities and a target in [0, 2)");
}

// The log_mean vote: the normalised geometric mean, where one sure window outweighs several
// lukewarm ones that the mean would follow.
TEST(SeqClassifierEval, LogMeanVoteIsTheNormalisedGeometricMean) {
  const std::vector<std::vector<double>> w = {{0.01, 0.99}, {0.7, 0.3}, {0.7, 0.3}, {0.7, 0.3}};
  const std::vector<double> mean = combine_windows(w, WindowVote::mean);
  EXPECT_NEAR(mean[0], (0.01 + 3 * 0.7) / 4, 1e-15);
  EXPECT_GT(mean[0], mean[1]);  // the mean follows the three lukewarm windows
  const std::vector<double> geo = combine_windows(w, WindowVote::log_mean);
  const double a = std::pow(0.01 * 0.7 * 0.7 * 0.7, 0.25),
               b = std::pow(0.99 * 0.3 * 0.3 * 0.3, 0.25);
  EXPECT_NEAR(geo[0], a / (a + b), 1e-12);
  EXPECT_NEAR(geo[1], b / (a + b), 1e-12);
  EXPECT_GT(geo[1], geo[0]);  // the sure window wins
  // One window: both votes give it back; a zero probability does not make a NaN.
  EXPECT_EQ(combine_windows({{0.25, 0.75}}, WindowVote::mean), (std::vector<double>{0.25, 0.75}));
  const std::vector<double> one = combine_windows({{0.25, 0.75}}, WindowVote::log_mean);
  EXPECT_NEAR(one[1], 0.75, 1e-12);
  const std::vector<double> zero = combine_windows({{0.0, 1.0}, {0.5, 0.5}}, WindowVote::log_mean);
  EXPECT_TRUE(std::isfinite(zero[0]) && zero[0] >= 0.0 && zero[0] < 1e-100);
  testing::expect_error([] { combine_windows({}, WindowVote::mean); }, "at least one window");
  testing::expect_error(
      [] {
        combine_windows({{0.5, 0.5}, {1.0}}, WindowVote::log_mean);
      },
      "expected 2 probabilities per window, got 1");
  EXPECT_EQ(window_vote_from_name("log_mean"), WindowVote::log_mean);
  testing::expect_error([] { window_vote_from_name("max"); }, {"'max'", "mean or log_mean"});
}

}  // namespace
}  // namespace recur
