#include "models/anomaly.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/checkpoint.h"

namespace recur {

SeqAutoencoder load_seq_autoencoder(const std::string& path, const Placement& where) {
  const Checkpoint ck = load_checkpoint(path, /*with_optimizer=*/false);
  RECUR_CHECK(ck.config.is_object() && ck.config.contains("kind") &&
                  ck.config.at("kind") == kSeqAutoencoderKind && ck.config.contains("model"),
              "{} is not a sequence autoencoder checkpoint (expected config kind '{}')", path,
              kSeqAutoencoderKind);
  SeqAutoencoder model(SeqAutoencoderConfig::from_json(ck.config.at("model")));
  load_state_dict(model.parameters(), ck.model);
  model.place(where);
  return model;
}

std::vector<double> window_row_errors(SeqAutoencoder& model, const std::vector<double>& windows,
                                      int64_t count) {
  const int64_t W = model.config().window, F = model.config().features;
  RECUR_CHECK(count >= 1 && static_cast<int64_t>(windows.size()) == count * W * F,
              "window_row_errors: expected {} windows of {} rows of {} features, got {} values",
              count, W, F, windows.size());
  model.set_training(false);
  Tensor input = Tensor::from_vector(windows, {count, W, F}).to(model.dtype());
  if (!model.device().is_cpu()) input = input.to(model.device());
  const std::vector<double> y = model.forward(input).to(Device::cpu()).to_vector();
  std::vector<double> errors(static_cast<size_t>(count * W), 0.0);
  for (size_t r = 0; r < errors.size(); ++r)
    for (auto k = r * static_cast<size_t>(F); k < (r + 1) * static_cast<size_t>(F); ++k)
      errors[r] += (y[k] - windows[k]) * (y[k] - windows[k]);
  return errors;
}

std::vector<double> reconstruction_scores(SeqAutoencoder& model, const SeriesColumns& columns,
                                          int64_t batch) {
  const SeqAutoencoderConfig& c = model.config();
  RECUR_CHECK(batch >= 1, "reconstruction_scores: expected batch >= 1, got {}", batch);
  const int64_t F = c.features;
  const size_t steps = series_length(columns, static_cast<size_t>(F), "anomaly scores");
  const std::vector<double> z = model_rows(c.scaling, columns);  // [n][F]
  const auto n = static_cast<int64_t>(z.size()) / F, W = c.window;
  RECUR_CHECK(n >= W, "anomaly scores: a window of {} needs at least {} values, got {}", W,
              W + (c.difference() ? 1 : 0), steps);
  std::vector<double> best(static_cast<size_t>(n), INFINITY);
  const int64_t windows = n - W + 1;
  for (int64_t first = 0; first < windows; first += batch) {
    const int64_t B = std::min(batch, windows - first);
    std::vector<double> x(static_cast<size_t>(B * W * F));
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(z.begin() + (first + b) * F, W * F, x.begin() + b * W * F);
    const std::vector<double> errors = window_row_errors(model, x, B);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < W; ++t) {
        const auto i = static_cast<size_t>(first + b + t);
        best[i] = std::min(best[i], errors[static_cast<size_t>(b * W + t)]);
      }
  }
  std::vector<double> scores(steps, 0.0);
  const size_t offset = steps - static_cast<size_t>(n);
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) scores[i + offset] = best[i];
  return scores;
}

std::vector<double> reconstruction_scores(SeqAutoencoder& model, const std::vector<double>& values,
                                          int64_t batch) {
  return reconstruction_scores(model, SeriesColumns{values}, batch);
}

std::vector<double> jump_scores(const SeriesColumns& columns, const std::vector<double>& scales) {
  const size_t n = series_length(columns, scales.size(), "jump_scores");
  for (double s : scales)
    RECUR_CHECK(std::isfinite(s) && s > 0.0, "jump_scores: expected positive scales, got {}", s);
  std::vector<double> scores(n, 0.0);
  for (size_t i = 1; i < n; ++i) {
    double squares = 0.0;
    for (size_t f = 0; f < scales.size(); ++f) {
      const double jump = (columns[f][i] - columns[f][i - 1]) / scales[f];
      squares += jump * jump;
    }
    scores[i] = std::sqrt(squares);
  }
  return scores;
}

std::vector<double> jump_scores(const std::vector<double>& values) {
  return jump_scores(SeriesColumns{values}, {1.0});
}

double quantile(std::vector<double> v, double q) {
  RECUR_CHECK(!v.empty() && q >= 0.0 && q <= 1.0,
              "quantile: expected values and q in [0, 1], got {} values and q = {}", v.size(), q);
  std::sort(v.begin(), v.end());
  const double position = q * static_cast<double>(v.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, v.size() - 1);
  return v[below] + (position - static_cast<double>(below)) * (v[above] - v[below]);
}

double DetectionScores::precision() const {
  return flagged > 0 ? static_cast<double>(true_positives) / static_cast<double>(flagged) : 0.0;
}

double DetectionScores::recall() const {
  return anomalous > 0 ? static_cast<double>(true_positives) / static_cast<double>(anomalous) : 0.0;
}

double DetectionScores::f1() const {
  const double p = precision(), r = recall();
  return p + r > 0.0 ? 2 * p * r / (p + r) : 0.0;
}

double DetectionScores::event_recall() const {
  return events > 0 ? static_cast<double>(events_detected) / static_cast<double>(events) : 0.0;
}

nlohmann::json DetectionScores::to_json() const {
  return {{"flagged", flagged},
          {"true_positives", true_positives},
          {"anomalous", anomalous},
          {"events", events},
          {"events_detected", events_detected},
          {"precision", precision()},
          {"recall", recall()},
          {"f1", f1()},
          {"event_recall", event_recall()}};
}

DetectionScores score_detection(const std::vector<double>& scores, double threshold,
                                const std::vector<int>& labels, int64_t begin) {
  RECUR_CHECK(
      scores.size() == labels.size() && begin >= 0 && begin <= static_cast<int64_t>(scores.size()),
      "score_detection: {} scores, {} labels, from {}", scores.size(), labels.size(), begin);
  DetectionScores s;
  bool in_event = false, event_hit = false;
  for (auto i = static_cast<size_t>(begin); i <= scores.size(); ++i) {
    const bool anomalous = i < scores.size() && labels[i] != 0;
    if (in_event && !anomalous) s.events_detected += event_hit;  // an event ended
    if (i == scores.size()) break;
    const bool flagged = scores[i] > threshold;
    if (anomalous && !in_event) ++s.events, event_hit = false;
    in_event = anomalous;
    event_hit |= anomalous && flagged;
    s.flagged += flagged;
    s.anomalous += anomalous;
    s.true_positives += anomalous && flagged;
  }
  return s;
}

}  // namespace recur
