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

std::vector<double> reconstruction_scores(SeqAutoencoder& model, const std::vector<double>& values,
                                          int64_t batch) {
  const SeqAutoencoderConfig& c = model.config();
  RECUR_CHECK(c.features == 1, "reconstruction_scores: expected a 1-feature model, got {}",
              c.features);
  RECUR_CHECK(batch >= 1, "reconstruction_scores: expected batch >= 1, got {}", batch);
  const std::vector<double> z = c.scaling.to_model(values);
  const auto n = static_cast<int64_t>(z.size()), W = c.window;
  RECUR_CHECK(n >= W, "anomaly scores: a window of {} needs at least {} values, got {}", W,
              W + (c.scaling.difference ? 1 : 0), values.size());
  std::vector<double> best(static_cast<size_t>(n), INFINITY);
  model.set_training(false);
  const int64_t windows = n - W + 1;
  for (int64_t first = 0; first < windows; first += batch) {
    const int64_t B = std::min(batch, windows - first);
    std::vector<double> x(static_cast<size_t>(B * W));
    for (int64_t b = 0; b < B; ++b) std::copy_n(z.begin() + first + b, W, x.begin() + b * W);
    Tensor input = Tensor::from_vector(x, {B, W, 1}).to(model.dtype());
    if (!model.device().is_cpu()) input = input.to(model.device());
    const std::vector<double> y = model.forward(input).to(Device::cpu()).to_vector();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < W; ++t) {
        const size_t k = static_cast<size_t>(b * W + t), i = static_cast<size_t>(first + b + t);
        best[i] = std::min(best[i], (y[k] - x[k]) * (y[k] - x[k]));
      }
  }
  std::vector<double> scores(values.size(), 0.0);
  const size_t offset = values.size() - z.size();
  for (size_t i = 0; i < z.size(); ++i) scores[i + offset] = best[i];
  return scores;
}

std::vector<double> jump_scores(const std::vector<double>& values) {
  std::vector<double> scores(values.size(), 0.0);
  for (size_t i = 1; i < values.size(); ++i) scores[i] = std::fabs(values[i] - values[i - 1]);
  return scores;
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
