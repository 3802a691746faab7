#include "models/anomaly_stream.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace recur {

StreamingScores::StreamingScores(SeqAutoencoder& model) : model_(model) {}

std::vector<StepScore> StreamingScores::push(const std::vector<double>& values) {
  const SeqAutoencoderConfig& c = model_.config();
  const auto F = static_cast<size_t>(c.features), W = static_cast<size_t>(c.window);
  RECUR_CHECK(values.size() == F, "step {}: expected {} value(s), got {}", steps_ + 1, F,
              values.size());
  for (double v : values)
    RECUR_CHECK(std::isfinite(v), "step {}: expected finite values, got {}", steps_ + 1, v);
  std::vector<StepScore> out;
  const int64_t step = steps_++;
  if (c.difference() && !last_) {  // no model-space row: scores 0, like the whole series
    last_ = values;
    first_pending_ = step + 1;
    out.push_back({step, 0.0});
    return out;
  }
  std::vector<double> row(F);
  for (size_t f = 0; f < F; ++f)
    row[f] = c.scaling[f].model_value(last_ ? (*last_)[f] : 0.0, values[f]);
  last_ = values;
  window_.push_back(std::move(row));
  pending_.push_back(INFINITY);
  if (window_.size() > W) window_.pop_front();
  if (window_.size() < W) return out;
  std::vector<double> x;
  x.reserve(W * F);
  for (const auto& r : window_) x.insert(x.end(), r.begin(), r.end());
  const std::vector<double> errors = window_row_errors(model_, x, 1);
  // The window holds the last W pending steps (pending_ never exceeds W here).
  const size_t offset = pending_.size() - W;
  for (size_t t = 0; t < W; ++t) pending_[offset + t] = std::min(pending_[offset + t], errors[t]);
  // The window starting at the oldest pending step has arrived: it is final.
  out.push_back({first_pending_++, pending_.front()});
  pending_.pop_front();
  return out;
}

std::vector<StepScore> StreamingScores::finish() {
  const SeqAutoencoderConfig& c = model_.config();
  const auto rows = static_cast<int64_t>(window_.size());
  RECUR_CHECK(rows >= c.window, "anomaly scores: a window of {} needs at least {} values, got {}",
              c.window, c.window + (c.difference() ? 1 : 0), steps_);
  std::vector<StepScore> out;
  for (double best : pending_) out.push_back({first_pending_++, best});
  pending_.clear();
  return out;
}

}  // namespace recur
