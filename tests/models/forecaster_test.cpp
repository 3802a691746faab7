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

// lstm: first differences; gru: values; features_lstm: two series, first differences.
constexpr const char* kFixtures[] = {"lstm", "gru", "features_lstm"};

TEST(Forecaster, MatchesPyTorchInF64) {
  for (const char* name : kFixtures)
    check_forecaster_against_pytorch(name, DType::f64, testing::kF64Tolerance);
}

TEST(Forecaster, MatchesPyTorchInF32) {
  for (const char* name : kFixtures)
    check_forecaster_against_pytorch(name, DType::f32, testing::kF32Tolerance);
}

// Streaming one observation at a time with the state carried is the same computation as one
// forward over the window followed by all observations (stateful == one long stateless run).
TEST(Forecaster, StatefulOneStepEqualsOneRunOverTheWholeSequence) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const ForecasterFixture f = load_forecaster_fixture(name);
    Forecaster model = fixture_model(f, DType::f64);
    const SeriesColumns history = testing::fixture_columns(f.at("input.history"));
    const SeriesColumns future = testing::fixture_columns(f.at("input.future"));
    const SeriesColumns streamed = forecast_one_step(model, history, future);

    const ForecasterConfig& c = f.config;
    const size_t n = history[0].size(), K = future[0].size();
    const size_t need = static_cast<size_t>(c.window) + (c.difference() ? 1 : 0);
    SeriesColumns seen = series_steps(history, n - need, n);
    for (size_t k = 0; k < seen.size(); ++k)
      seen[k].insert(seen[k].end(), future[k].begin(), future[k].end() - 1);
    const std::vector<double> z = model_rows(c.scaling, seen);
    const int64_t F = c.features(), T = static_cast<int64_t>(z.size()) / F;
    const Tensor pred = model.forward(Tensor::from_vector(z, {1, T, F})).prediction;
    ASSERT_EQ(streamed.size(), static_cast<size_t>(F));
    for (int64_t feature = 0; feature < F; ++feature) {
      const auto& s = c.scaling[static_cast<size_t>(feature)];
      const auto& column = future[static_cast<size_t>(feature)];
      ASSERT_EQ(streamed[static_cast<size_t>(feature)].size(), K);
      for (size_t k = 0; k < K; ++k) {
        const double last = k == 0 ? history[static_cast<size_t>(feature)].back() : column[k - 1];
        const auto t = c.window - 1 + static_cast<int64_t>(k);
        EXPECT_NEAR(streamed[static_cast<size_t>(feature)][k],
                    s.next_value(last, pred.item({0, t, feature})), 1e-12)
            << feature << " " << k;
      }
    }
  }
}

// Forecasting two series together is not forecasting each alone: the second column moves the
// first's forecast, and a model of two columns refuses one.
TEST(Forecaster, ColumnsAreForecastTogether) {
  const ForecasterFixture f = load_forecaster_fixture("features_lstm");
  Forecaster model = fixture_model(f, DType::f64);
  SeriesColumns history = testing::fixture_columns(f.at("input.history"));
  const std::vector<double> first = forecast_ahead(model, history, 3)[0];
  for (double& v : history[1]) v *= 1.5;
  EXPECT_GT(std::fabs(forecast_ahead(model, history, 3)[0][0] - first[0]), 1e-6);
  expect_error([&] { forecast_ahead(model, history[0], 3); },
               "expected 2 feature column(s), got 1");
  expect_error(
      [&] {
        forecast_one_step(model, history, {{1.0, 2.0}, {3.0}});
      },
      "expected columns of one length");
}

TEST(Forecaster, ForecastsNeedOnlyWhatTheWindowReads) {
  const ForecasterFixture f =
      load_forecaster_fixture("lstm");  // first differences: window + 1 values
  Forecaster model = fixture_model(f, DType::f64);
  const std::vector<double> history = f.at("input.history").to_vector();
  const std::vector<double> tail(history.end() - f.config.window - 1, history.end());
  EXPECT_EQ(forecast_ahead(model, tail, 4), forecast_ahead(model, history, 4));
  EXPECT_EQ(forecast_ahead(model, history, 0).size(), 0u);
  expect_error([&] { forecast_ahead(model, std::vector<double>{history.back()}, 3); },
               "at least 2 past values");
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
  c.scaling = {SeriesScaling::fit({1, 4, 2, 8}, true)};
  ForecasterConfig back = ForecasterConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_TRUE(c.to_json().at("scaling").is_object());  // one feature: as checkpoints always had
  c.scaling.push_back(SeriesScaling::fit({5, 1, 0, 2}, true));
  c.columns = {"humidity", "temperature"};
  back = ForecasterConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.features(), 2);
  EXPECT_EQ(back.columns, c.columns);
  nlohmann::json j = c.to_json();
  j["columns"] = {"humidity"};
  expect_error([&] { ForecasterConfig::from_json(j); }, "a column name for each of its 2");
  j = c.to_json();
  j["scaling"][1]["difference"] = false;
  expect_error([&] { ForecasterConfig::from_json(j); }, "every feature or of none");
  j = c.to_json();
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
