// Forecaster (models/forecaster.h) and its forecasts (models/forecast.h) against PyTorch
// (python_tools/make_forecaster_fixture.py), the stateful one-step forecast against one run over
// the whole sequence, the baselines and the checkpoints.
#include "models/forecaster.h"

#include <gtest/gtest.h>

#include "models/forecast.h"
#include "support/expect_error.h"
#include "support/forecaster_fixture.h"
#include "support/scratch_dir.h"
#include "train/checkpoint.h"

namespace recur {
namespace {

using testing::check_forecaster_against_pytorch;
using testing::expect_error;
using testing::fixture_model;
using testing::ForecasterFixture;
using testing::load_forecaster_fixture;

TEST(Forecaster, MatchesPyTorchInF64) {
  check_forecaster_against_pytorch("lstm", DType::f64,
                                   testing::kF64Tolerance);                     // first differences
  check_forecaster_against_pytorch("gru", DType::f64, testing::kF64Tolerance);  // values
}

TEST(Forecaster, MatchesPyTorchInF32) {
  check_forecaster_against_pytorch("lstm", DType::f32, testing::kF32Tolerance);
  check_forecaster_against_pytorch("gru", DType::f32, testing::kF32Tolerance);
}

// Streaming one observation at a time with the state carried is the same computation as one
// forward over the window followed by all observations (stateful == one long stateless run).
TEST(Forecaster, StatefulOneStepEqualsOneRunOverTheWholeSequence) {
  for (const char* cell : {"lstm", "gru"}) {
    SCOPED_TRACE(cell);
    const ForecasterFixture f = load_forecaster_fixture(cell);
    Forecaster model = fixture_model(f, DType::f64);
    const std::vector<double> history = f.at("input.history").to_vector();
    const std::vector<double> future = f.at("input.future").to_vector();
    const std::vector<double> streamed = forecast_one_step(model, history, future);

    const SeriesScaling& s = f.config.scaling;
    const size_t need = static_cast<size_t>(f.config.window) + (s.difference ? 1 : 0);
    std::vector<double> seen(history.end() - static_cast<ptrdiff_t>(need), history.end());
    seen.insert(seen.end(), future.begin(), future.end() - 1);
    const std::vector<double> z = s.to_model(seen);
    const Tensor pred =
        model.forward(Tensor::from_vector(z, {1, static_cast<int64_t>(z.size()), 1})).prediction;
    ASSERT_EQ(streamed.size(), future.size());
    for (size_t k = 0; k < future.size(); ++k) {
      const double last = k == 0 ? history.back() : future[k - 1];
      const auto t = static_cast<int64_t>(f.config.window) - 1 + static_cast<int64_t>(k);
      EXPECT_NEAR(streamed[k], s.next_value(last, pred.item({0, t, 0})), 1e-12) << k;
    }
  }
}

TEST(Forecaster, ForecastsNeedOnlyWhatTheWindowReads) {
  const ForecasterFixture f =
      load_forecaster_fixture("lstm");  // first differences: window + 1 values
  Forecaster model = fixture_model(f, DType::f64);
  const std::vector<double> history = f.at("input.history").to_vector();
  const std::vector<double> tail(history.end() - f.config.window - 1, history.end());
  EXPECT_EQ(forecast_ahead(model, tail, 4), forecast_ahead(model, history, 4));
  EXPECT_EQ(forecast_ahead(model, history, 0).size(), 0u);
  expect_error([&] { forecast_ahead(model, {history.back()}, 3); }, "at least 2 past values");
  expect_error([&] { forecast_ahead(model, history, -1); }, "horizon >= 0");
}

TEST(ForecastBaselines, NaiveAndSeasonalNaive) {
  const std::vector<double> history{1, 2, 3, 4, 5}, future{6, 7, 8};
  EXPECT_EQ(naive_ahead(history, 3), (std::vector<double>{5, 5, 5}));
  EXPECT_EQ(naive_one_step(history, future), (std::vector<double>{5, 6, 7}));
  EXPECT_EQ(seasonal_naive_ahead(history, 5, 2), (std::vector<double>{4, 5, 4, 5, 4}));
  EXPECT_EQ(seasonal_naive_one_step(history, future, 2), (std::vector<double>{4, 5, 6}));
  EXPECT_EQ(seasonal_naive_one_step(history, {6, 7, 8, 9}, 3), (std::vector<double>{3, 4, 5, 6}));
  expect_error([&] { seasonal_naive_ahead(history, 2, 6); }, "season in [1, 5]");
  const ForecastErrors e = forecast_errors({1, 2, 6}, {1, 4, 3});
  EXPECT_DOUBLE_EQ(e.rmse, std::sqrt(13.0 / 3.0));
  EXPECT_DOUBLE_EQ(e.mae, 5.0 / 3.0);
  expect_error([] { forecast_errors({1}, {1, 2}); }, "equally long");
}

TEST(ForecasterConfig, RoundTripsAndRejectsBadFields) {
  ForecasterConfig c;
  c.cell = CellKind::gru;
  c.hidden = 12;
  c.layers = 2;
  c.dropout = 0.25;
  c.window = 30;
  c.scaling = SeriesScaling::fit({1, 4, 2, 8}, true);
  const ForecasterConfig back = ForecasterConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  nlohmann::json j = c.to_json();
  j["window"] = 0;
  expect_error([&] { ForecasterConfig::from_json(j); }, "window must be at least 1");
  j = c.to_json();
  j.erase("scaling");
  expect_error([&] { ForecasterConfig::from_json(j); }, "forecaster config");
}

TEST(Forecaster, CheckpointsLoadOnlyAsForecasters) {
  testing::ScratchDir dir("recur_forecaster");
  const ForecasterFixture f = load_forecaster_fixture("gru");
  Forecaster model = fixture_model(f, DType::f32);
  Checkpoint ck;
  ck.model = model.state_dict();
  ck.config = {{"kind", kForecasterKind}, {"model", f.config.to_json()}};
  save_checkpoint(dir.file("m.safetensors"), ck);
  Forecaster loaded = load_forecaster(dir.file("m.safetensors"));
  const std::vector<double> history = f.at("input.history").to_vector();
  EXPECT_EQ(forecast_ahead(loaded, history, 5), forecast_ahead(model, history, 5));
  ck.config["kind"] = "char_lm";
  save_checkpoint(dir.file("other.safetensors"), ck);
  expect_error([&] { load_forecaster(dir.file("other.safetensors")); },
               "not a forecaster checkpoint");
}

}  // namespace
}  // namespace recur
