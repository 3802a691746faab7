// Using a Forecaster (models/forecaster.h): forecasts many steps ahead and one step ahead in the
// series' own units, their errors, the naive baselines a model has to beat, and checkpoints
// (`recur forecast`).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "models/forecaster.h"

namespace recur {

// A forecaster checkpoint's config (train/checkpoint.h): {"kind": "forecaster", "model":
// ForecasterConfig::to_json(), "train": the training options}.
inline constexpr char kForecasterKind[] = "forecaster";

// The model of a checkpoint written by `recur forecast`, placed at `where`. Throws naming the
// file when it is not a forecaster checkpoint or its tensors do not fit its config.
Forecaster load_forecaster(const std::string& path, const Placement& where = {});

// The `horizon` values after `history`, with no observation after it: the model reads the last
// `window` model-space values of history from a zero state (fewer when history is shorter), then
// each forecast is fed back as the next input, the recurrent state carried (evaluation mode).
std::vector<double> forecast_ahead(Forecaster& model, const std::vector<double>& history,
                                   int64_t horizon);

// One step ahead: element k is the forecast of future[k] from history and the true
// future[0..k-1]. The model reads the last `window` model-space values of history once, then one
// observation per step with the state carried (stateful streaming, as a deployed model would).
std::vector<double> forecast_one_step(Forecaster& model, const std::vector<double>& history,
                                      const std::vector<double>& future);

struct ForecastErrors {
  double rmse = 0.0;
  double mae = 0.0;
  nlohmann::json to_json() const { return {{"rmse", rmse}, {"mae", mae}}; }
};
// Over equally long, non-empty vectors.
ForecastErrors forecast_errors(const std::vector<double>& forecast,
                               const std::vector<double>& actual);

// Baselines. Naive: the last value known (ahead: history's last, repeated). Seasonal naive: the
// value one season earlier (ahead: history's last season, repeated; needs season <= history).
std::vector<double> naive_ahead(const std::vector<double>& history, int64_t horizon);
std::vector<double> naive_one_step(const std::vector<double>& history,
                                   const std::vector<double>& future);
std::vector<double> seasonal_naive_ahead(const std::vector<double>& history, int64_t horizon,
                                         int64_t season);
std::vector<double> seasonal_naive_one_step(const std::vector<double>& history,
                                            const std::vector<double>& future, int64_t season);

}  // namespace recur
