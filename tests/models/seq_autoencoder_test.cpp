// SeqAutoencoder (models/seq_autoencoder.h) and anomaly scoring (models/anomaly.h) against
// PyTorch (tests/support/autoencoder_fixture.h); the config, checkpoints, quantiles, the jump
// baseline and the detection scores.
#include "models/seq_autoencoder.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models/anomaly.h"
#include "models/anomaly_stream.h"
#include "support/autoencoder_fixture.h"
#include "support/expect_error.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using testing::check_autoencoder_against_pytorch;
using testing::expect_error;

TEST(SeqAutoencoder, MatchesPyTorchInF64) {
  check_autoencoder_against_pytorch("lstm", DType::f64, testing::kF64Tolerance);  // differences
  check_autoencoder_against_pytorch("gru", DType::f64, testing::kF64Tolerance);   // values
  check_autoencoder_against_pytorch("features_lstm", DType::f64, testing::kF64Tolerance);
}

TEST(SeqAutoencoder, MatchesPyTorchInF32) {
  check_autoencoder_against_pytorch("lstm", DType::f32, testing::kF32Tolerance);
  check_autoencoder_against_pytorch("gru", DType::f32, testing::kF32Tolerance);
  check_autoencoder_against_pytorch("features_lstm", DType::f32, testing::kF32Tolerance);
}

// A window's reconstruction depends on that window only: scoring in batches of any size, or one
// window at a time, gives the same scores.
TEST(SeqAutoencoder, ScoresDoNotDependOnTheBatching) {
  const testing::AutoencoderFixture f = testing::load_autoencoder_fixture("gru");
  SeqAutoencoder model = testing::autoencoder_fixture_model(f, DType::f64);
  const std::vector<double> series = f.at("input.series").to_vector();
  const std::vector<double> all = reconstruction_scores(model, series, 1000);
  for (int64_t batch : {1, 3, 7}) {
    const std::vector<double> other = reconstruction_scores(model, series, batch);
    ASSERT_EQ(other.size(), all.size());
    for (size_t i = 0; i < all.size(); ++i) EXPECT_NEAR(other[i], all[i], 1e-12) << batch;
  }
  const std::vector<double> short_series(series.begin(), series.begin() + f.config.window - 1);
  expect_error([&] { reconstruction_scores(model, short_series); }, "a window of 7 needs at least");
}

TEST(SeqAutoencoderConfig, RoundTripsAndRejectsBadFields) {
  SeqAutoencoderConfig c;
  c.cell = CellKind::gru;
  c.hidden = 12;
  c.layers = 2;
  c.window = 20;
  c.scaling = {SeriesScaling::fit({1, 4, 2, 8}, false)};
  EXPECT_EQ(SeqAutoencoderConfig::from_json(c.to_json()).to_json(), c.to_json());
  EXPECT_TRUE(c.to_json().at("scaling").is_object());  // one feature: as before features
  nlohmann::json old = c.to_json();
  old.erase("columns");
  EXPECT_TRUE(SeqAutoencoderConfig::from_json(old).columns.empty());

  SeqAutoencoderConfig two = c;  // two features watched together
  two.features = 2;
  two.scaling.push_back(SeriesScaling::fit({10, 30, 20}, false));
  two.columns = {"humidity", "temperature"};
  EXPECT_EQ(SeqAutoencoderConfig::from_json(two.to_json()).to_json(), two.to_json());
  EXPECT_EQ(two.to_json().at("scaling").size(), 2u);
  EXPECT_EQ(two.encoder().input_size, 2);
  SeqAutoencoderConfig bad = two;
  bad.scaling.pop_back();
  expect_error([&] { bad.validate(); }, "a scaling for each of its 2 features, got 1");
  bad = two;
  bad.scaling[1].difference = true;
  expect_error([&] { bad.validate(); }, "first differences of every feature or of none");
  bad = two;
  bad.columns = {"humidity"};
  expect_error([&] { bad.validate(); }, "a column name for each of its 2 features, got 1");

  nlohmann::json j = c.to_json();
  j["window"] = 0;
  expect_error([&] { SeqAutoencoderConfig::from_json(j); }, "window must be at least 1");
  j = c.to_json();
  j.erase("hidden");
  expect_error([&] { SeqAutoencoderConfig::from_json(j); }, "autoencoder config");
}

TEST(SeqAutoencoder, CheckpointsLoadOnlyAsAutoencoders) {
  testing::ScratchDir dir("recur_autoencoder");
  const testing::AutoencoderFixture f = testing::load_autoencoder_fixture("lstm");
  SeqAutoencoder model = testing::autoencoder_fixture_model(f, DType::f32);
  Checkpoint ck;
  ck.model = model.state_dict();
  ck.config = {{"kind", kSeqAutoencoderKind}, {"model", f.config.to_json()}};
  save_checkpoint(dir.file("a.safetensors"), ck);
  SeqAutoencoder loaded = load_seq_autoencoder(dir.file("a.safetensors"));
  const std::vector<double> series = f.at("input.series").to_vector();
  EXPECT_EQ(reconstruction_scores(loaded, series), reconstruction_scores(model, series));
  ck.config["kind"] = "forecaster";
  save_checkpoint(dir.file("b.safetensors"), ck);
  expect_error([&] { load_seq_autoencoder(dir.file("b.safetensors")); },
               "not a sequence autoencoder checkpoint");
}

TEST(Anomaly, QuantileInterpolatesLikeNumpy) {
  const std::vector<double> v{4, 1, 3, 2};
  EXPECT_EQ(quantile(v, 0.0), 1.0);
  EXPECT_EQ(quantile(v, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(quantile(v, 0.5), 2.5);  // numpy.quantile([4,1,3,2], 0.5)
  EXPECT_DOUBLE_EQ(quantile(v, 0.9), 3.7);
  expect_error([] { quantile({}, 0.5); }, "quantile");
  expect_error([&] { quantile(v, 1.5); }, "q in [0, 1]");
}

// Two features, scaled apart: a step's score is the length of its scaled jump.
TEST(Anomaly, ScoresOfFeaturesWatchedTogether) {
  EXPECT_EQ(jump_scores({{1, 4, 4}, {10, 10, 50}}, {3.0, 10.0}), (std::vector<double>{0, 1, 4}));
  EXPECT_EQ(jump_scores({{0, 3}, {0, 40}}, {1.0, 10.0}), (std::vector<double>{0, 5}));
  expect_error([] { jump_scores({{1, 2}, {1}}, {1.0, 1.0}); }, "columns of one length");
  expect_error([] { jump_scores({{1, 2}}, {0.0}); }, "positive scales");
  // Model-space rows: per feature, its own scaling; row-major [n][F].
  const std::vector<SeriesScaling> scaling{{false, 1.0, 2.0}, {false, 10.0, 5.0}};
  EXPECT_EQ(model_rows(scaling, {{1, 3, 5}, {10, 20, 0}}),
            (std::vector<double>{0, 0, 1, 2, 2, -2}));
  expect_error([&] { model_rows(scaling, {{1, 3, 5}}); }, "expected 2 feature column(s), got 1");
  // A 2-feature model scores the same in batches of any size.
  const testing::AutoencoderFixture f = testing::load_autoencoder_fixture("features_lstm");
  SeqAutoencoder model = testing::autoencoder_fixture_model(f, DType::f64);
  const SeriesColumns columns = testing::autoencoder_fixture_columns(f);
  ASSERT_EQ(columns.size(), 2u);
  const std::vector<double> all = reconstruction_scores(model, columns, 1000);
  const std::vector<double> one = reconstruction_scores(model, columns, 1);
  ASSERT_EQ(one.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_NEAR(one[i], all[i], 1e-12);
  expect_error([&] { reconstruction_scores(model, SeriesColumns{columns[0]}); },
               "expected 2 feature column(s), got 1");
}

// A stream scored step by step gives each step its whole-series score, window - 1 steps later.
TEST(Anomaly, StreamingScoresAreTheWholeSeriesScores) {
  for (const char* name : {"lstm", "features_lstm"}) {  // first differences; two features
    SCOPED_TRACE(name);
    const testing::AutoencoderFixture f = testing::load_autoencoder_fixture(name);
    SeqAutoencoder model = testing::autoencoder_fixture_model(f, DType::f64);
    const SeriesColumns columns = testing::autoencoder_fixture_columns(f);
    const std::vector<double> whole = reconstruction_scores(model, columns);
    const int64_t W = f.config.window, lag = f.config.difference() ? 0 : W - 1;
    StreamingScores stream(model);
    std::vector<StepScore> got;
    for (size_t i = 0; i < whole.size(); ++i) {
      std::vector<double> step;
      for (const auto& c : columns) step.push_back(c[i]);
      for (const StepScore& s : stream.push(step)) {
        // Final when the window starting at it arrived (with differences: one row later).
        const int64_t delay = f.config.difference() && s.step > 0 ? W - 1 : lag;
        EXPECT_EQ(s.step, static_cast<int64_t>(i) - delay) << i;
        got.push_back(s);
      }
    }
    for (const StepScore& s : stream.finish()) got.push_back(s);
    ASSERT_EQ(got.size(), whole.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].step, static_cast<int64_t>(i));
      EXPECT_NEAR(got[i].score, whole[i], 1e-12 * std::max(1.0, whole[i])) << i;
    }
    expect_error([&] { stream.push(std::vector<double>(columns.size() + 1, 0.0)); },
                 "value(s), got");
    StreamingScores short_stream(model);
    for (int64_t i = 0; i < W - 1; ++i) short_stream.push(std::vector<double>(columns.size(), 1.0));
    expect_error([&] { short_stream.finish(); }, "needs at least");
  }
}

TEST(Anomaly, JumpScoresAndDetectionCounts) {
  EXPECT_EQ(jump_scores({1, 3, 2, 2}), (std::vector<double>{0, 2, 1, 0}));
  // Values 0..9; two events: [3,4] and [8,9] (the second runs to the end).
  const std::vector<int> labels{0, 0, 0, 1, 1, 0, 0, 0, 1, 1};
  const std::vector<double> scores{9, 0, 0, 0, 5, 5, 0, 0, 0, 0};
  const DetectionScores s = score_detection(scores, 1.0, labels, 1);  // value 0 not scored
  EXPECT_EQ(s.flagged, 2);                                            // values 4 and 5
  EXPECT_EQ(s.true_positives, 1);                                     // value 4
  EXPECT_EQ(s.anomalous, 4);
  EXPECT_EQ(s.events, 2);
  EXPECT_EQ(s.events_detected, 1);
  EXPECT_DOUBLE_EQ(s.precision(), 0.5);
  EXPECT_DOUBLE_EQ(s.recall(), 0.25);
  EXPECT_DOUBLE_EQ(s.f1(), 2 * 0.5 * 0.25 / 0.75);
  EXPECT_DOUBLE_EQ(s.event_recall(), 0.5);
  const DetectionScores last = score_detection({0, 0, 0, 0, 0, 0, 0, 0, 0, 3}, 1.0, labels, 0);
  EXPECT_EQ(last.events_detected, 1);  // an event that runs to the end still counts
  EXPECT_EQ(score_detection(scores, 100.0, labels, 0).precision(), 0.0);
  expect_error([&] { score_detection(scores, 1.0, {0, 1}, 0); }, "score_detection");
}

}  // namespace
}  // namespace recur
