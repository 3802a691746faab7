#include "models/forecast.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/checkpoint.h"

namespace recur {

namespace {

// Runs the model over model-space values z from `state` (carried in and out); returns the
// prediction after the last of them.
double advance(Forecaster& model, const std::vector<double>& z, RecurrentState& state) {
  Tensor input = Tensor::from_vector(z, {1, static_cast<int64_t>(z.size()), 1}).to(model.dtype());
  if (!model.device().is_cpu()) input = input.to(model.device());
  Forecaster::Output out = model.forward(input, state);
  state = out.state;
  return out.prediction.to(Device::cpu()).item({0, static_cast<int64_t>(z.size()) - 1, 0});
}

// The model-space values of the last `window` steps of history, and the state after reading
// them from zeros; returns the prediction of the value after history.
double warm_up(Forecaster& model, const std::vector<double>& history, RecurrentState& state) {
  const SeriesScaling& scaling = model.config().scaling;
  const size_t need = static_cast<size_t>(model.config().window) + (scaling.difference ? 1 : 0);
  const size_t first = history.size() > need ? history.size() - need : 0;
  const std::vector<double> z = scaling.to_model(
      std::vector<double>(history.begin() + static_cast<ptrdiff_t>(first), history.end()));
  RECUR_CHECK(!z.empty(), "forecast: expected at least {} past values, got {}",
              scaling.difference ? 2 : 1, history.size());
  model.set_training(false);
  state = {};
  return advance(model, z, state);
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

std::vector<double> forecast_ahead(Forecaster& model, const std::vector<double>& history,
                                   int64_t horizon) {
  RECUR_CHECK(horizon >= 0, "forecast: expected a horizon >= 0, got {}", horizon);
  const SeriesScaling& scaling = model.config().scaling;
  RecurrentState state;
  double z = warm_up(model, history, state);
  std::vector<double> out;
  double last = history.back();
  for (int64_t k = 0; k < horizon; ++k) {
    last = scaling.next_value(last, z);
    out.push_back(last);
    if (k + 1 < horizon) z = advance(model, {z}, state);
  }
  return out;
}

std::vector<double> forecast_one_step(Forecaster& model, const std::vector<double>& history,
                                      const std::vector<double>& future) {
  const SeriesScaling& scaling = model.config().scaling;
  RecurrentState state;
  double z = warm_up(model, history, state);
  std::vector<double> out;
  double last = history.back();
  for (size_t k = 0; k < future.size(); ++k) {
    out.push_back(scaling.next_value(last, z));
    if (k + 1 == future.size()) break;
    // The observation arrives: its model-space value is the next input.
    z = advance(model, {scaling.model_value(last, future[k])}, state);
    last = future[k];
  }
  return out;
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
