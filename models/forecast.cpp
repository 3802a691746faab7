#include "models/forecast.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/checkpoint.h"

namespace recur {

namespace {

// Runs the model over model-space rows z ([T][F] row-major) from `state` (carried in and out);
// returns the prediction after the last of them [F].
std::vector<double> advance(Forecaster& model, const std::vector<double>& z,
                            RecurrentState& state) {
  const int64_t F = model.config().features(), T = static_cast<int64_t>(z.size()) / F;
  Tensor input = Tensor::from_vector(z, {1, T, F}).to(model.dtype());
  if (!model.device().is_cpu()) input = input.to(model.device());
  Forecaster::Output out = model.forward(input, state);
  state = out.state;
  const std::vector<double> all = out.prediction.to(Device::cpu()).to_vector();
  return std::vector<double>(all.end() - F, all.end());
}

// The state after reading the model-space rows of the last `window` steps of history from zeros;
// returns the prediction of the row after history.
std::vector<double> warm_up(Forecaster& model, const SeriesColumns& history,
                            RecurrentState& state) {
  const ForecasterConfig& c = model.config();
  const size_t n = series_length(history, static_cast<size_t>(c.features()), "forecast history");
  const size_t need = static_cast<size_t>(c.window) + (c.difference() ? 1 : 0);
  RECUR_CHECK(n >= (c.difference() ? 2u : 1u), "forecast: expected at least {} past values, got {}",
              c.difference() ? 2 : 1, n);
  const std::vector<double> z =
      model_rows(c.scaling, series_steps(history, n > need ? n - need : 0, n));
  model.set_training(false);
  state = {};
  return advance(model, z, state);
}

// The last value of every column.
std::vector<double> last_values(const SeriesColumns& columns) {
  std::vector<double> out;
  for (const auto& c : columns) out.push_back(c.back());
  return out;
}

std::vector<double> only_column(SeriesColumns columns) {
  return std::move(columns.front());
}

}  // namespace

Forecaster load_forecaster(const std::string& path, const Placement& where) {
  const Checkpoint ck = load_checkpoint(path, /*with_optimizer=*/false);
  RECUR_CHECK(ck.config.is_object() && ck.config.contains("kind") &&
                  ck.config.at("kind") == kForecasterKind && ck.config.contains("model"),
              "{} is not a forecaster checkpoint (expected config kind '{}')", path,
              kForecasterKind);
  Forecaster model(ForecasterConfig::from_json(ck.config.at("model")));
  load_state_dict(model.parameters(), ck.model);
  model.place(where);
  return model;
}

SeriesColumns forecast_ahead(Forecaster& model, const SeriesColumns& history, int64_t horizon) {
  RECUR_CHECK(horizon >= 0, "forecast: expected a horizon >= 0, got {}", horizon);
  const std::vector<SeriesScaling>& scaling = model.config().scaling;
  RecurrentState state;
  std::vector<double> z = warm_up(model, history, state);
  std::vector<double> last = last_values(history);
  SeriesColumns out(history.size());
  for (int64_t k = 0; k < horizon; ++k) {
    for (size_t f = 0; f < out.size(); ++f) {
      last[f] = scaling[f].next_value(last[f], z[f]);
      out[f].push_back(last[f]);
    }
    if (k + 1 < horizon) z = advance(model, z, state);
  }
  return out;
}

SeriesColumns forecast_one_step(Forecaster& model, const SeriesColumns& history,
                                const SeriesColumns& future) {
  const std::vector<SeriesScaling>& scaling = model.config().scaling;
  const size_t steps = series_length(future, history.size(), "forecast future");
  RecurrentState state;
  std::vector<double> z = warm_up(model, history, state);
  std::vector<double> last = last_values(history);
  SeriesColumns out(history.size());
  for (size_t k = 0; k < steps; ++k) {
    for (size_t f = 0; f < out.size(); ++f) out[f].push_back(scaling[f].next_value(last[f], z[f]));
    if (k + 1 == steps) break;
    // The observation arrives: its model-space row is the next input.
    for (size_t f = 0; f < out.size(); ++f) {
      z[f] = scaling[f].model_value(last[f], future[f][k]);
      last[f] = future[f][k];
    }
    z = advance(model, z, state);
  }
  return out;
}

std::vector<double> forecast_ahead(Forecaster& model, const std::vector<double>& history,
                                   int64_t horizon) {
  return only_column(forecast_ahead(model, SeriesColumns{history}, horizon));
}

std::vector<double> forecast_one_step(Forecaster& model, const std::vector<double>& history,
                                      const std::vector<double>& future) {
  return only_column(forecast_one_step(model, SeriesColumns{history}, SeriesColumns{future}));
}

ForecastErrors forecast_errors(const std::vector<double>& forecast,
                               const std::vector<double>& actual) {
  RECUR_CHECK(!actual.empty() && forecast.size() == actual.size(),
              "forecast errors: expected equally long non-empty vectors, got {} and {}",
              forecast.size(), actual.size());
  ForecastErrors e;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double d = forecast[i] - actual[i];
    e.rmse += d * d;
    e.mae += std::fabs(d);
  }
  e.rmse = std::sqrt(e.rmse / static_cast<double>(actual.size()));
  e.mae /= static_cast<double>(actual.size());
  return e;
}

std::vector<double> naive_ahead(const std::vector<double>& history, int64_t horizon) {
  RECUR_CHECK(!history.empty(), "naive forecast: expected a past value");
  return std::vector<double>(static_cast<size_t>(std::max<int64_t>(horizon, 0)), history.back());
}

std::vector<double> naive_one_step(const std::vector<double>& history,
                                   const std::vector<double>& future) {
  RECUR_CHECK(!history.empty(), "naive forecast: expected a past value");
  std::vector<double> out{history.back()};
  out.insert(out.end(), future.begin(), future.end());
  out.resize(future.size());
  return out;
}

std::vector<double> seasonal_naive_ahead(const std::vector<double>& history, int64_t horizon,
                                         int64_t season) {
  const auto n = static_cast<int64_t>(history.size());
  RECUR_CHECK(season >= 1 && season <= n,
              "seasonal naive forecast: expected a season in [1, {}] (the past values), got {}", n,
              season);
  std::vector<double> out;
  for (int64_t k = 0; k < horizon; ++k)
    out.push_back(history[static_cast<size_t>(n - season + k % season)]);
  return out;
}

std::vector<double> seasonal_naive_one_step(const std::vector<double>& history,
                                            const std::vector<double>& future, int64_t season) {
  const auto n = static_cast<int64_t>(history.size());
  RECUR_CHECK(season >= 1 && season <= n,
              "seasonal naive forecast: expected a season in [1, {}] (the past values), got {}", n,
              season);
  std::vector<double> out;
  for (int64_t k = 0; k < static_cast<int64_t>(future.size()); ++k) {
    const int64_t t = n + k - season;  // index into history ++ future
    out.push_back(t < n ? history[static_cast<size_t>(t)] : future[static_cast<size_t>(t - n)]);
  }
  return out;
}

}  // namespace recur
