// Anomaly scores of a live stream (`recur anomaly --model M --stream`): the steps of a series
// arrive one at a time, and each step's score (models/anomaly.h's reconstruction_scores: the
// smallest squared reconstruction error over the windows that hold it) is given as soon as it
// is final, which is when the last window holding it has arrived: window - 1 steps later. One
// forward of one window per step; the scores are those of scoring the whole series at once.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "models/anomaly.h"

namespace recur {

struct StepScore {
  int64_t step = 0;    // 0-based index of the step in the stream
  double score = 0.0;  // final
};

class StreamingScores {
 public:
  // The model must outlive this.
  explicit StreamingScores(SeqAutoencoder& model);

  // Adds the next step's values [F] (raw, as in the CSV); returns the steps whose scores became
  // final, in order (none until a whole window has arrived; with first differences the first
  // step at once, scoring 0). Throws unless there are F finite values.
  std::vector<StepScore> push(const std::vector<double>& values);
  // The stream ended: the final scores of the steps still pending, in order. Throws when fewer
  // steps arrived than one window needs (no score can be given).
  std::vector<StepScore> finish();

  int64_t steps() const { return steps_; }

 private:
  SeqAutoencoder& model_;
  int64_t steps_ = 0;                        // steps pushed
  std::optional<std::vector<double>> last_;  // the previous step's values (first differences)
  std::deque<std::vector<double>> window_;   // the last (up to) W model-space rows [F]
  std::deque<double> pending_;               // best scores so far of the steps not yet final
  int64_t first_pending_ = 0;                // the step of pending_.front()
};

}  // namespace recur
