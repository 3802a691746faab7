// `recur anomaly`: trains an LSTM autoencoder (models/seq_autoencoder.h) on windows of the first
// --train values of a series, assumed normal, and flags the later values whose reconstruction
// error (models/anomaly.h) exceeds the largest one seen on the --validation values (the last of
// the training part, not trained on; --quantile lowers it). With --labels (a 0/1 column of the
// CSV) it reports precision and recall, per value and per anomaly, beside a baseline that flags
// jumps from the previous value by the same rule. --column a,b watches several features
// together: one model reads them all, a step's score sums its features' squared errors, and the
// baseline's jump is the length of the step's jump with each feature divided by the standard
// deviation of its jumps. Writes anomalies.json, metrics.jsonl and model.safetensors; with
// --model it scores a series with a trained model and its threshold, and with --data - a live
// stream on stdin, printing each value once its score is final (window - 1 values later).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "apps/recur/commands.h"
#include "apps/recur/window_training.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "datasets/csv.h"
#include "layers/loss.h"
#include "models/anomaly.h"
#include "models/anomaly_stream.h"
#include "train/checkpoint.h"

namespace recur::app {

namespace {

struct AnomalyOptions {
  SeqAutoencoderConfig model;
  WindowTraining training;
  std::string data;
  std::vector<std::string> columns;  // the features; empty: the model's, else the last column
  bool difference = false;
  std::string labels;  // the 0/1 column naming the true anomalies
  std::string out;
  std::string checkpoint;   // --model: use this trained model and its threshold
  int64_t train = -1;       // -1: the first half of the series
  int64_t validation = -1;  // -1: the last fifth of the training part
  double quantile = 1.0;    // of the validation scores: the threshold
  ComputeOptions compute;
};

std::vector<int> read_labels(const std::string& path, const std::string& column, size_t n) {
  const TimeSeries labels = read_time_series(path, column);
  RECUR_CHECK(labels.values.size() == n, "{}: {} labels for {} values", path, labels.values.size(),
              n);
  std::vector<int> out;
  for (size_t i = 0; i < n; ++i) {
    const double v = labels.values[i];
    RECUR_CHECK(v == 0.0 || v == 1.0,
                "{}: label column '{}' holds {} at value {}; expected 0 (normal) or 1 (anomaly)",
                path, column, v, i + 1);
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// Per feature, the standard deviation of its jumps over `columns` (1 where they are constant):
// the jump baseline's scales, so that features in different units weigh alike.
std::vector<double> jump_scales(const SeriesColumns& columns) {
  std::vector<double> scales;
  for (const SeriesScaling& s : fit_scalings(columns, /*difference=*/true))
    scales.push_back(s.scale);
  return scales;
}

double mean_of(const std::vector<double>& v, size_t begin, size_t end) {
  double sum = 0.0;
  for (size_t i = begin; i < end; ++i) sum += v[i];
  return sum / static_cast<double>(std::max<size_t>(1, end - begin));
}

// Trains on windows of the first `fit` values (apps/recur/window_training.h), choosing the
// weights by the mean score of the validation values [fit, train).
TrainedWeights train_autoencoder(SeqAutoencoder& model, const SeriesColumns& columns, size_t fit,
                                 size_t train, const AnomalyOptions& o,
                                 const std::string& metrics) {
  const SeriesColumns seen = series_steps(columns, 0, train);
  const Device device = model.device();
  MeanSquaredError mse;
  WindowModel m;
  m.parameters = model.parameters();
  m.step_loss = [&](const SeriesBatch& b, int64_t step) {
    const Tensor x = device.is_cpu() ? b.x : b.x.to(device);
    model.set_training(true);
    model.zero_grad();
    ForwardOptions keep;
    keep.keep_for_backward = true;
    keep.step = static_cast<uint64_t>(step);
    const double loss = mse.forward(model.forward(x, keep), x);
    model.backward(mse.backward());
    return loss;
  };
  m.validate = [&] { return mean_of(reconstruction_scores(model, seen), fit, train); };
  m.state_dict = [&] { return model.state_dict(); };
  return train_on_windows(m, model_rows(model.config().scaling, series_steps(columns, 0, fit)),
                          model.config().window, o.training, metrics, model.config().features);
}

void save_autoencoder(const std::string& path, SeqAutoencoder& model, double threshold,
                      const AnomalyOptions& o) {
  Checkpoint ck;
  ck.model = model.state_dict();
  ck.config = {{"kind", kSeqAutoencoderKind},
               {"model", model.config().to_json()},
               {"threshold", threshold},
               {"train", o.training.to_json()}};
  ck.config["train"].update(
      {{"train", o.train}, {"validation", o.validation}, {"quantile", o.quantile}});
  save_checkpoint(path, ck);
}

// Flags, and with labels scores, values [begin, n) by one detector; prints one table row.
nlohmann::json detect(const std::string& name, const std::vector<double>& scores, double threshold,
                      const std::vector<int>& labels, int64_t begin) {
  nlohmann::json j = {{"threshold", threshold}};
  std::vector<int64_t> flagged;
  for (auto i = static_cast<size_t>(begin); i < scores.size(); ++i)
    if (scores[i] > threshold) flagged.push_back(static_cast<int64_t>(i));
  j["flagged"] = flagged;
  if (labels.empty()) {
    std::printf("%-22s %8zu\n", name.c_str(), flagged.size());
    return j;
  }
  const DetectionScores s = score_detection(scores, threshold, labels, begin);
  j["scores"] = s.to_json();
  std::printf("%-22s %8lld %10.3f %8.3f %8.3f %8lld/%lld\n", name.c_str(),
              static_cast<long long>(s.flagged), s.precision(), s.recall(), s.f1(),
              static_cast<long long>(s.events_detected), static_cast<long long>(s.events));
  return j;
}

// What a step holds (`row`: its value of each feature), for the list of flagged steps: "27.97"
// or "humidity 45.93, temperature 27.97".
std::string step_values(const std::vector<double>& row, const std::vector<std::string>& names) {
  if (row.size() == 1) return fmt::format("{:.10g}", row[0]);
  std::string out;
  for (size_t f = 0; f < row.size(); ++f)
    out += fmt::format("{}{} {:.10g}", f ? ", " : "", names[f], row[f]);
  return out;
}

// --data -: scores the CSV lines of stdin as they arrive (a header line first), printing each
// step once its score is final (models/anomaly_stream.h), flagged above the model's threshold.
int run_anomaly_stream(const AnomalyOptions& o, const Placement& where) {
  RECUR_CHECK(!o.checkpoint.empty() && o.labels.empty() && o.out.empty(),
              "--data -: scores a stream with a trained model; expected --model and no --labels "
              "or --out");
  SeqAutoencoder model = load_seq_autoencoder(o.checkpoint, where);
  const double threshold = load_checkpoint(o.checkpoint, false).config.value("threshold", 0.0);
  std::vector<std::string> names = o.columns.empty() ? model.config().columns : o.columns;
  std::vector<size_t> index;  // of each feature's field
  size_t fields = 0;
  StreamingScores stream(model);
  std::deque<std::vector<double>> recent;  // the values of the steps not yet printed
  int64_t flagged = 0;
  auto print = [&](const std::vector<StepScore>& scores) {
    for (const StepScore& s : scores) {
      const bool flag = s.score > threshold;
      flagged += flag;
      std::printf("value %lld: %s (score %.6g)%s\n", static_cast<long long>(s.step + 1),
                  step_values(recent.front(), names).c_str(), s.score, flag ? "  ANOMALY" : "");
      recent.pop_front();
    }
    std::fflush(stdout);  // a reader of a live stream sees each step at once
  };
  std::string line;
  int64_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::vector<std::string_view> f = split_csv_fields(line);
    if (fields == 0) {  // the header
      fields = f.size();
      if (names.empty()) names.emplace_back(f.back());
      for (const std::string& name : names) {
        const auto it = std::find(f.begin(), f.end(), name);
        RECUR_CHECK(it != f.end(), "stdin:{}: no column '{}' in the header '{}'", line_no, name,
                    line);
        index.push_back(static_cast<size_t>(it - f.begin()));
      }
      RECUR_CHECK(static_cast<int64_t>(names.size()) == model.config().features,
                  "--model {} reads {} column(s); --column names {}", o.checkpoint,
                  model.config().features, names.size());
      continue;
    }
    RECUR_CHECK(f.size() == fields,
                "stdin:{}: expected {} comma-separated fields like the header, got {}", line_no,
                fields, f.size());
    std::vector<double> values(index.size());
    for (size_t k = 0; k < index.size(); ++k)
      RECUR_CHECK(parse_finite(f[index[k]], values[k]),
                  "stdin:{}: column '{}' holds '{}', expected a finite number", line_no, names[k],
                  f[index[k]]);
    recent.push_back(values);
    print(stream.push(values));
  }
  RECUR_CHECK(fields > 0, "stdin: empty; expected a header line and values");
  print(stream.finish());
  std::fprintf(stderr, "recur anomaly: %lld values of stdin (%s) scored, %lld flagged above %.5g\n",
               static_cast<long long>(stream.steps()),
               fmt::format("{}", fmt::join(names, ", ")).c_str(), static_cast<long long>(flagged),
               threshold);
  return 0;
}

int run_anomaly(AnomalyOptions o) {
  const Placement where = apply_compute_options(o.compute);
  if (o.data == "-") return run_anomaly_stream(o, where);
  const std::string path = resolve_series(o.data);
  const bool training = o.checkpoint.empty();
  std::unique_ptr<SeqAutoencoder> model;
  if (!training)
    model = std::make_unique<SeqAutoencoder>(load_seq_autoencoder(o.checkpoint, where));
  std::vector<std::string> names = o.columns;
  const SeriesColumns columns = read_command_columns(
      path, names, training ? std::vector<std::string>{} : model->config().columns,
      training ? 0 : model->config().features, o.checkpoint);
  const auto F = static_cast<int64_t>(columns.size());
  const auto n = static_cast<int64_t>(columns[0].size());
  const std::string shown = fmt::format("'{}'", fmt::join(names, "', '"));
  const std::vector<int> labels =
      o.labels.empty() ? std::vector<int>{} : read_labels(path, o.labels, columns[0].size());
  RECUR_CHECK(o.quantile >= 0.0 && o.quantile <= 1.0, "--quantile {}: expected a value in [0, 1]",
              o.quantile);

  double threshold = 0.0, jump_threshold = 0.0;
  std::vector<double> jump_scale(static_cast<size_t>(F), 1.0);  // one feature: the raw jump
  int64_t begin = 0;                                            // the first value judged
  const auto start = std::chrono::steady_clock::now();
  if (training) {
    RECUR_CHECK(!o.out.empty(), "recur anomaly: --out DIR is required to train a model");
    if (o.train < 0) o.train = n / 2;
    if (o.validation < 0) o.validation = o.train / 5;
    RECUR_CHECK(o.train < n && o.validation >= 1 && o.validation < o.train,
                "--train {} --validation {}: expected 1 <= validation < train < {} (the values)",
                o.train, o.validation, n);
    const int64_t fit = o.train - o.validation;
    const SeriesColumns fitted = series_steps(columns, 0, static_cast<size_t>(fit));
    o.model.cell = cell_from_name(o.training.cell);
    o.model.features = F;
    o.model.columns = names;
    o.model.scaling = fit_scalings(fitted, o.difference);
    const auto windows = static_cast<int64_t>(model_rows(o.model.scaling, fitted).size()) / F;
    RECUR_CHECK(windows > o.model.window,
                "--window {}: the {} values trained on give {} model-space values; expected more "
                "than the window (lower --window or --validation, or raise --train)",
                o.model.window, fit, windows);
    if (F > 1) jump_scale = jump_scales(fitted);
    model = std::make_unique<SeqAutoencoder>(o.model, o.training.seed);
    model->place(where);
    std::fprintf(stderr,
                 "recur anomaly: %s column%s %s, %lld values: %lld to train on, %lld to set the "
                 "threshold, %lld to judge\n"
                 "model: %s autoencoder, hidden %lld x %lld layer(s), window %lld, %s; %s\n",
                 path.c_str(), F > 1 ? "s" : "", shown.c_str(), static_cast<long long>(n),
                 static_cast<long long>(fit), static_cast<long long>(o.validation),
                 static_cast<long long>(n - o.train), o.training.cell.c_str(),
                 static_cast<long long>(o.model.hidden), static_cast<long long>(o.model.layers),
                 static_cast<long long>(o.model.window),
                 o.difference ? "first differences" : "values", describe_compute(where).c_str());
    std::filesystem::create_directories(o.out);  // only once the input is known to be good
    train_autoencoder(*model, columns, static_cast<size_t>(fit), static_cast<size_t>(o.train), o,
                      o.out + "/metrics.jsonl");
    const SeriesColumns seen = series_steps(columns, 0, static_cast<size_t>(o.train));
    const std::vector<double> validation_scores = reconstruction_scores(*model, seen);
    threshold = quantile({validation_scores.begin() + fit, validation_scores.end()}, o.quantile);
    const std::vector<double> jumps = jump_scores(seen, jump_scale);
    jump_threshold = quantile({jumps.begin() + fit, jumps.end()}, o.quantile);
    save_autoencoder(o.out + "/model.safetensors", *model, threshold, o);
    begin = o.train;
  } else {
    threshold = load_checkpoint(o.checkpoint, false).config.value("threshold", 0.0);
  }

  const std::vector<double> scores = reconstruction_scores(*model, columns);
  std::printf("%s %s: values %lld to %lld judged, flagged above %.5g\n", path.c_str(),
              shown.c_str(), static_cast<long long>(begin + 1), static_cast<long long>(n),
              threshold);
  if (labels.empty())
    std::printf("%-22s %8s\n", "", "flagged");
  else
    std::printf("%-22s %8s %10s %8s %8s %10s\n", "", "flagged", "precision", "recall", "F1",
                "anomalies");
  nlohmann::json report = {{"tool", "recur"},
                           {"data", path},
                           {"column", fmt::format("{}", fmt::join(names, ","))},
                           {"columns", names},
                           {"points", n},
                           {"judged_from", begin},
                           {"model", model->config().to_json()},
                           {"seconds", seconds_since(start)},
                           {"scores", scores}};
  report["autoencoder"] =
      detect("recur " + std::string(cell_name(model->config().cell)) + " autoencoder", scores,
             threshold, labels, begin);
  if (training) {
    report["jump_baseline"] =
        detect("jump baseline", jump_scores(columns, jump_scale), jump_threshold, labels, begin);
    report["jump_baseline"]["scales"] = jump_scale;
  }
  if (!o.out.empty()) {
    std::filesystem::create_directories(o.out);
    const std::string text = report.dump(1) + "\n";
    write_file_atomic(o.out + "/anomalies.json", [&](AtomicFileWriter& f) { f.write(text); });
  }
  for (int64_t i : report["autoencoder"]["flagged"].get<std::vector<int64_t>>()) {
    std::vector<double> row;
    for (const auto& c : columns) row.push_back(c[static_cast<size_t>(i)]);
    std::printf("flagged value %lld: %s (score %.4g)%s\n", static_cast<long long>(i + 1),
                step_values(row, names).c_str(), scores[static_cast<size_t>(i)],
                labels.empty()                   ? ""
                : labels[static_cast<size_t>(i)] ? "  anomaly"
                                                 : "  normal");
  }
  return 0;
}

}  // namespace

std::function<int()> add_anomaly_command(CLI::App& app) {
  auto o = std::make_shared<AnomalyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "anomaly", "Train an LSTM autoencoder on a series' normal start; flag unusual later values");
  cmd->add_option("--data", o->data,
                  "CSV file (a header line, then values), or a named series (co2, nile, ...); - "
                  "reads a live stream from stdin (with --model), each value printed once its "
                  "score is final")
      ->required();
  cmd->add_option("--column", o->columns,
                  "the series' column, or several comma-separated (features observed together); "
                  "default: the last, or with --model the columns it was trained on")
      ->delimiter(',');
  cmd->add_option("--labels", o->labels,
                  "a 0/1 column of true anomalies: report precision and recall");
  cmd->add_option("--out", o->out, "run folder (anomalies.json, metrics.jsonl, model.safetensors)");
  cmd->add_option("--model", o->checkpoint, "use a model trained by recur anomaly (no training)");
  cmd->add_option("--train", o->train,
                  "the first N values are normal: train on them (default: half the series)");
  cmd->add_option("--validation", o->validation,
                  "the last of those, not trained on, set the threshold (default: a fifth)");
  cmd->add_option("--quantile", o->quantile,
                  "threshold: this quantile of the validation scores (1: their largest)")
      ->capture_default_str();
  add_window_training_options(cmd, o->training, o->model.hidden, o->model.layers, o->model.window,
                              o->difference);
  add_compute_options(cmd, o->compute);
  return [o] { return run_anomaly(*o); };
}

}  // namespace recur::app
