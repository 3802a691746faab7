// What `recur forecast` and `recur anomaly` share: reading the series' columns, and the training:
// Adam with clipping by global norm on
// random windows of a series (datasets/time_series.h), the lr decaying along a cosine to a tenth,
// and early stopping: every twentieth of the steps a validation score (lower is better) is
// measured, and the weights that scored best are put back at the end.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datasets/series_columns.h"
#include "layers/parameter.h"

namespace recur::app {

struct WindowTraining {
  std::string cell = "lstm";
  int64_t batch = 32;  // windows per step
  int64_t steps = 1000;
  double lr = 3e-3;
  double clip = 1.0;
  uint64_t seed = 1;  // initial weights and windows
  nlohmann::json to_json() const;
};

// Registers --cell, --hidden, --layers, --window, --difference, --batch, --steps, --lr, --clip and
// --seed; the model's own fields hold the shape options (their values now are the defaults).
void add_window_training_options(CLI::App* cmd, WindowTraining& training, int64_t& hidden,
                                 int64_t& layers, int64_t& window, bool& difference);

// Reads the columns `names` of the series file at `path`; none named: those of `trained` (the
// columns a loaded model was trained on), else the last column. With a model
// (`model_features` > 0, loaded from `checkpoint`) their number must be its features'. On return
// `names` holds the header names read.
SeriesColumns read_command_columns(const std::string& path, std::vector<std::string>& names,
                                   const std::vector<std::string>& trained, int64_t model_features,
                                   const std::string& checkpoint);

// What the loop needs of a model.
struct WindowModel {
  ParameterList parameters;  // taken after the model was placed
  // One forward keeping what backward needs (training mode), the loss, and its backward into
  // freshly zeroed gradients; returns the loss.
  std::function<double(const SeriesBatch& batch, int64_t step)> step_loss;
  // The validation score; empty: no early stopping (the last weights stay).
  std::function<double()> validate;
  std::function<TensorMap()> state_dict;
};

struct TrainedWeights {
  int64_t step = 0;    // the step whose weights the model now holds
  double score = 0.0;  // their validation score (0 without validation)
};

// Trains on windows of `window` model-space rows of z ([m][features] row-major,
// series_windows); logs to stderr, one line per report, and appends the same to `metrics` (JSON
// lines: step, loss, lr, seconds, validation_score).
TrainedWeights train_on_windows(const WindowModel& model, const std::vector<double>& z,
                                int64_t window, const WindowTraining& training,
                                const std::string& metrics, int64_t features = 1);

}  // namespace recur::app
