// Using a Forecaster (models/forecaster.h): forecasts many steps ahead and one step ahead in the
// series' own units (every feature), their errors, the naive baselines a model has to beat, and
// checkpoints
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

// The `horizon` steps after `history`, with no observation after it: the model reads the last
// `window` model-space rows of history from a zero state (fewer when history is shorter), then
// each forecast row is fed back as the next input, the recurrent state carried (evaluation mode).
// history [F][n] -> [F][horizon].
SeriesColumns forecast_ahead(Forecaster& model, const SeriesColumns& history, int64_t horizon);

// One step ahead: step k is the forecast of future's step k from history and the true steps
// before it. The model reads the last `window` model-space rows of history once, then one
// observed row per step with the state carried (stateful streaming, as a deployed model would).
// history [F][n], future [F][k] -> [F][k].
SeriesColumns forecast_one_step(Forecaster& model, const SeriesColumns& history,
                                const SeriesColumns& future);

// One feature: history [n] -> [horizon]; future [k] -> [k].
std::vector<double> forecast_ahead(Forecaster& model, const std::vector<double>& history,
                                   int64_t horizon);
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
