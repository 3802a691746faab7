// `recur forecast`: trains a Forecaster (models/forecaster.h) on a time series (a CSV column, or
// a named series: co2, sunspots, elec_equip, nile, macro) with its last --test values held out,
// then forecasts those values two ways, beside the naive baselines: all of them at once from the
// end of the training part (each forecast fed back), and one step ahead as each true value
// arrives. The --validation values just before the test ones are not trained on: they choose the
// weights kept (early stopping). Writes forecast.json (python_tools/arima_reference.py writes the
// same layout for ARIMA; var_reference.py that of several columns for a VAR), metrics.jsonl and
// model.safetensors. With --model it uses a trained model instead of training one; --horizon
// forecasts past the end of the data. --column a,b forecasts several series observed together:
// one model reads every column as the features of a step and forecasts them all (each forecast
// row fed back ahead), and each column is scored on its own.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <fmt/ranges.h>

#include "apps/recur/commands.h"
#include "apps/recur/window_training.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "layers/loss.h"
#include "models/feed_back.h"
#include "models/forecast.h"
#include "train/checkpoint.h"

namespace recur::app {

namespace {

struct ForecastOptions {
  ForecasterConfig model;
  WindowTraining training;
  std::string data;
  std::vector<std::string> columns;  // empty: the model's, else the last column
  bool difference = false;
  std::string out;
  std::string checkpoint;   // --model: use this trained model
  int64_t test = -1;        // -1: a tenth of the series when training, none with --model
  int64_t season = -1;      // -1: from the series' metadata (<csv>.json), else none
  int64_t validation = -1;  // -1: as many as --test (a tenth without); 0: no early stopping
  int64_t horizon = 0;
  double feed_back = 0.0;  // --feed-back: scheduled sampling's p (models/feed_back.h)
  ComputeOptions compute;
};

// The season a named series' metadata gives (series.py writes <csv>.json), else 0.
int64_t season_from_metadata(const std::string& csv) {
  std::ifstream in(csv + ".json");
  if (!in.good()) return 0;
  const nlohmann::json meta = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return meta.is_object() && meta.contains("season") && meta.at("season").is_number_integer()
             ? meta.at("season").get<int64_t>()
             : 0;
}

void save_forecaster(const std::string& path, Forecaster& model, const ForecastOptions& o,
                     const TrainedWeights& trained) {
  Checkpoint ck;
  ck.model = model.state_dict();
  ck.config = {{"kind", kForecasterKind},
               {"model", model.config().to_json()},
               {"train", o.training.to_json()}};
  ck.config["train"]["feed_back"] = o.feed_back;
  ck.extra = {{"step", trained.step}, {"validation_score", trained.score}};
  save_checkpoint(path, ck);
}

// The score a model is chosen by on the validation values: the mean of its RMSE forecasting them
// all ahead and one step ahead, in the series' units; with several columns, the mean over them of
// that score divided by the column's model-space scale (so that no unit dominates).
double validation_score(Forecaster& model, const SeriesColumns& fit,
                        const SeriesColumns& validation) {
  const auto n = static_cast<int64_t>(validation[0].size());
  const SeriesColumns ahead = forecast_ahead(model, fit, n);
  const SeriesColumns one_step = forecast_one_step(model, fit, validation);
  const std::vector<SeriesScaling>& scaling = model.config().scaling;
  double score = 0.0;
  for (size_t f = 0; f < validation.size(); ++f)
    score += (forecast_errors(ahead[f], validation[f]).rmse +
              forecast_errors(one_step[f], validation[f]).rmse) /
             2 / (validation.size() > 1 ? scaling[f].scale : 1.0);
  return score / static_cast<double>(validation.size());
}

// Trains on windows of `fit` (apps/recur/window_training.h), choosing the weights by
// validation_score on the values right after it (none: the last weights).
TrainedWeights train_forecaster(Forecaster& model, const SeriesColumns& fit,
                                const SeriesColumns& validation, const ForecastOptions& o,
                                const std::string& metrics) {
  const Device device = model.device();
  auto on_device = [&](const Tensor& t) { return device.is_cpu() ? t : t.to(device); };
  MeanSquaredError mse;
  WindowModel m;
  m.parameters = model.parameters();
  m.step_loss = [&](const SeriesBatch& b, int64_t step) {
    model.set_training(true);
    model.zero_grad();
    ForwardOptions keep;
    keep.keep_for_backward = true;
    keep.step = static_cast<uint64_t>(step);
    Tensor x = b.x;
    if (o.feed_back > 0.0) {  // the model's own predictions in place of some true inputs
      model.set_training(false);
      const Tensor predicted = model.forward(on_device(b.x)).prediction.to(Device::cpu());
      model.set_training(true);
      x = feed_back_predictions(b.x, predicted, o.feed_back, o.training.seed,
                                static_cast<uint64_t>(step));
    }
    const double loss =
        mse.forward(model.forward(on_device(x), {}, keep).prediction, on_device(b.y));
    model.backward(mse.backward());
    return loss;
  };
  if (!validation[0].empty()) m.validate = [&] { return validation_score(model, fit, validation); };
  m.state_dict = [&] { return model.state_dict(); };
  const ForecasterConfig& c = model.config();
  return train_on_windows(m, model_rows(c.scaling, fit), c.window, o.training, metrics,
                          c.features());
}

nlohmann::json scored(const std::vector<double>& forecast, const std::vector<double>& actual) {
  nlohmann::json j = forecast_errors(forecast, actual).to_json();
  j["forecast"] = forecast;
  return j;
}

// Scores one column's forecasts of its held-out tail `actual` (ahead, one step) beside the
// baselines; prints a table.
nlohmann::json evaluate_column(const std::string& model_name, const std::vector<double>& history,
                               const std::vector<double>& actual, const std::vector<double>& ahead,
                               const std::vector<double>& one_step, int64_t season) {
  const auto n = static_cast<int64_t>(actual.size());
  nlohmann::json result = {
      {"actual", actual}, {"ahead", scored(ahead, actual)}, {"one_step", scored(one_step, actual)}};
  nlohmann::json& baselines = result["baselines"];
  baselines["naive"] = {
      {"ahead", forecast_errors(naive_ahead(history, n), actual).to_json()},
      {"one_step", forecast_errors(naive_one_step(history, actual), actual).to_json()}};
  if (season > 0)
    baselines["seasonal_naive"] = {
        {"ahead", forecast_errors(seasonal_naive_ahead(history, n, season), actual).to_json()},
        {"one_step",
         forecast_errors(seasonal_naive_one_step(history, actual, season), actual).to_json()}};

  std::printf("%-24s %12s %12s %12s %12s\n", "", "ahead RMSE", "ahead MAE", "1-step RMSE",
              "1-step MAE");
  auto row = [](const std::string& name, const nlohmann::json& j) {
    std::printf("%-24s %12.4g %12.4g %12.4g %12.4g\n", name.c_str(),
                j["ahead"]["rmse"].get<double>(), j["ahead"]["mae"].get<double>(),
                j["one_step"]["rmse"].get<double>(), j["one_step"]["mae"].get<double>());
  };
  row(model_name, result);
  row("naive (last value)", baselines["naive"]);
  if (season > 0)
    row("seasonal naive (" + std::to_string(season) + ")", baselines["seasonal_naive"]);
  return result;
}

// Forecasts the held-out tail of every column both ways and scores them: one column's result is
// the report's top level (as before there were more); several go under "forecasts", by name.
nlohmann::json evaluate(Forecaster& model, const SeriesColumns& history,
                        const SeriesColumns& actual, const std::vector<std::string>& names,
                        const std::string& path, int64_t points, int64_t season) {
  const auto n = static_cast<int64_t>(actual[0].size());
  const SeriesColumns ahead = forecast_ahead(model, history, n);
  const SeriesColumns one_step = forecast_one_step(model, history, actual);
  const std::string model_name = "recur " + std::string(cell_name(model.config().cell));
  nlohmann::json report;
  for (size_t f = 0; f < actual.size(); ++f) {
    std::printf("%s%s '%s': the last %lld of %lld values\n", f ? "\n" : "", path.c_str(),
                names[f].c_str(), static_cast<long long>(n), static_cast<long long>(points));
    nlohmann::json column =
        evaluate_column(model_name, history[f], actual[f], ahead[f], one_step[f], season);
    if (actual.size() == 1) return column;
    report["forecasts"][names[f]] = std::move(column);
  }
  return report;
}

int run_forecast(ForecastOptions o) {
  const Placement where = apply_compute_options(o.compute);
  const std::string path = resolve_series(o.data);
  const bool training = o.checkpoint.empty();
  RECUR_CHECK(training || o.feed_back == 0.0,
              "recur forecast --model: --feed-back {} is a training option; the model is trained",
              o.feed_back);
  std::unique_ptr<Forecaster> model;
  if (!training) model = std::make_unique<Forecaster>(load_forecaster(o.checkpoint, where));
  std::vector<std::string> names = o.columns;
  const SeriesColumns series = read_command_columns(
      path, names, training ? std::vector<std::string>{} : model->config().columns,
      training ? 0 : model->config().features(), o.checkpoint);
  const auto F = static_cast<int64_t>(series.size());
  const auto points = static_cast<int64_t>(series[0].size());
  const std::string shown = fmt::format("'{}'", fmt::join(names, "', '"));
  if (o.test < 0) o.test = training ? std::max<int64_t>(1, points / 10) : 0;
  if (o.season < 0) o.season = season_from_metadata(path);
  RECUR_CHECK(o.test < points - 1, "--test {}: the series has only {} values, expected at most {}",
              o.test, points, points - 2);
  RECUR_CHECK(o.horizon >= 0, "--horizon {}: expected >= 0", o.horizon);
  RECUR_CHECK(o.season < points - o.test, "--season {}: expected fewer than the {} training values",
              o.season, points - o.test);
  RECUR_CHECK(training || !o.out.empty() || o.test > 0 || o.horizon > 0,
              "recur forecast --model: nothing to do; give --test N or --horizon H");
  const auto history_steps = static_cast<size_t>(points - o.test);
  const SeriesColumns history = series_steps(series, 0, history_steps);
  const SeriesColumns actual = series_steps(series, history_steps, static_cast<size_t>(points));
  const auto start = std::chrono::steady_clock::now();
  if (training) {
    RECUR_CHECK(!o.out.empty(), "recur forecast: --out DIR is required to train a model");
    if (o.validation < 0)
      o.validation = o.test > 0 ? o.test : static_cast<int64_t>(history_steps) / 10;
    RECUR_CHECK(o.validation < static_cast<int64_t>(history_steps) - 1,
                "--validation {}: only {} values precede the test values", o.validation,
                history_steps);
    const size_t fit_steps = history_steps - static_cast<size_t>(o.validation);
    const SeriesColumns fit = series_steps(series, 0, fit_steps);
    const SeriesColumns validation = series_steps(series, fit_steps, history_steps);
    o.model.cell = cell_from_name(o.training.cell);
    o.model.scaling = fit_scalings(fit, o.difference);
    o.model.columns = names;
    const auto windows = static_cast<int64_t>(model_rows(o.model.scaling, fit).size()) / F;
    RECUR_CHECK(windows > o.model.window,
                "--window {}: the {} values trained on give {} model-space values; expected more "
                "than the window (lower --window, --test or --validation)",
                o.model.window, fit_steps, windows);
    model = std::make_unique<Forecaster>(o.model, o.training.seed);
    model->place(where);
    std::fprintf(stderr,
                 "recur forecast: %s column%s %s, %lld values: %lld to train on, %lld to "
                 "validate, %lld to test\n"
                 "model: %s, hidden %lld x %lld layer(s), window %lld, %s; %s\n",
                 path.c_str(), F > 1 ? "s" : "", shown.c_str(), static_cast<long long>(points),
                 static_cast<long long>(fit_steps), static_cast<long long>(o.validation),
                 static_cast<long long>(o.test), o.training.cell.c_str(),
                 static_cast<long long>(o.model.hidden), static_cast<long long>(o.model.layers),
                 static_cast<long long>(o.model.window),
                 o.difference ? "first differences" : "values", describe_compute(where).c_str());
    std::filesystem::create_directories(o.out);  // only once the input is known to be good
    const TrainedWeights trained =
        train_forecaster(*model, fit, validation, o, o.out + "/metrics.jsonl");
    save_forecaster(o.out + "/model.safetensors", *model, o, trained);
  }
  const double train_seconds = seconds_since(start);

  nlohmann::json report = {{"tool", "recur"},
                           {"data", path},
                           {"points", points},
                           {"train", points - o.test},
                           {"test", o.test},
                           {"season", o.season},
                           {"model", model->config().to_json()},
                           {"seconds", train_seconds}};
  if (F == 1)
    report["column"] = names[0];
  else
    report["columns"] = names;
  if (training) {
    report["train_options"] = o.training.to_json();
    report["train_options"]["validation"] = o.validation;
    report["train_options"]["feed_back"] = o.feed_back;
  }
  if (o.test > 0) report.update(evaluate(*model, history, actual, names, path, points, o.season));
  if (o.horizon > 0) {
    const SeriesColumns future = forecast_ahead(*model, series, o.horizon);
    std::printf("the next %lld values after the data%s:\n", static_cast<long long>(o.horizon),
                F > 1 ? (" (" + fmt::format("{}", fmt::join(names, ", ")) + ")").c_str() : "");
    for (size_t k = 0; k < future[0].size(); ++k) {
      std::printf("%zu", k + 1);
      for (const auto& column : future) std::printf(" %.10g", column[k]);
      std::printf("\n");
    }
    if (F == 1) {
      report["future"] = future[0];
    } else {
      for (int64_t f = 0; f < F; ++f) report["future"][names[f]] = future[f];
    }
  }
  if (!o.out.empty()) {
    std::filesystem::create_directories(o.out);
    const std::string json = o.out + "/forecast.json";
    const std::string text = report.dump(1) + "\n";
    write_file_atomic(json, [&](AtomicFileWriter& f) { f.write(text); });
    if (training)
      std::printf("trained in %.1f s -> %s/model.safetensors, %s\n", train_seconds, o.out.c_str(),
                  json.c_str());
  }
  return 0;
}

}  // namespace

std::function<int()> add_forecast_command(CLI::App& app) {
  auto o = std::make_shared<ForecastOptions>();
  CLI::App* cmd = app.add_subcommand(
      "forecast", "Train an RNN on a time series and forecast its held-out end beside baselines");
  cmd->add_option(
         "--data", o->data,
         "CSV file (a header line, then values), or co2, sunspots, elec_equip, nile, macro")
      ->required();
  cmd->add_option("--column", o->columns,
                  "the series' column, or several comma-separated (series observed together, "
                  "forecast by one model); default: the last, or with --model its columns")
      ->delimiter(',');
  cmd->add_option("--out", o->out, "run folder (forecast.json, metrics.jsonl, model.safetensors)");
  cmd->add_option("--model", o->checkpoint, "use a model trained by recur forecast (no training)");
  cmd->add_option("--test", o->test,
                  "hold out and forecast the last N values (default: a tenth when training)");
  cmd->add_option("--validation", o->validation,
                  "the values before the test ones that pick the best weights (default: as many "
                  "as --test; 0: keep the last weights)");
  cmd->add_option("--season", o->season,
                  "season length for the seasonal naive baseline (default: the series' own)");
  cmd->add_option("--feed-back", o->feed_back,
                  "training: each window step after the first reads, with this probability, the "
                  "model's own prediction of it instead of the true value (scheduled sampling), "
                  "so that it learns to continue from its forecasts, as it does ahead")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--horizon", o->horizon, "also forecast this many values past the data's end")
      ->capture_default_str();
  add_window_training_options(cmd, o->training, o->model.hidden, o->model.layers, o->model.window,
                              o->difference);
  add_compute_options(cmd, o->compute);
  return [o] { return run_forecast(*o); };
}

}  // namespace recur::app
