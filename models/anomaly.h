// Anomaly detection with a SeqAutoencoder (models/seq_autoencoder.h): reconstruction-error
// scores for every value of a series, thresholds, the detections' precision and recall against
// labels, a simple baseline, and checkpoints (`recur anomaly`).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/series_columns.h"
#include "models/seq_autoencoder.h"

namespace recur {

// An autoencoder checkpoint's config (train/checkpoint.h): {"kind": "seq_autoencoder", "model":
// SeqAutoencoderConfig::to_json(), "threshold": the score above which a value is flagged, ...}.
inline constexpr char kSeqAutoencoderKind[] = "seq_autoencoder";

// The model of a checkpoint written by `recur anomaly`, placed at `where`. Throws naming the file
// when it is not an autoencoder checkpoint or its tensors do not fit its config.
SeqAutoencoder load_seq_autoencoder(const std::string& path, const Placement& where = {});

// The anomaly score of every time step (evaluation mode): the model reconstructs every window of
// `window` consecutive model-space rows (stride 1; `batch` windows per forward), and a step's
// score is the smallest, over the windows that hold it, of its row's squared reconstruction
// error in model space (summed over the features): a step is unusual when no window
// reconstructs it well. (The mean would smear one anomaly over every step that shares a window
// with it.) columns [F][n] -> scores [n]; with first differences step 0 has no model-space row
// and scores 0. Needs at least window model-space rows.
std::vector<double> reconstruction_scores(SeqAutoencoder& model, const SeriesColumns& columns,
                                          int64_t batch = 256);
// The squared reconstruction error of every row of `count` windows (evaluation mode): windows
// [count, W, F] model-space rows, row-major -> [count, W], summed over the features.
std::vector<double> window_row_errors(SeqAutoencoder& model, const std::vector<double>& windows,
                                      int64_t count);
// One feature: values [n] -> scores [n].
std::vector<double> reconstruction_scores(SeqAutoencoder& model, const std::vector<double>& values,
                                          int64_t batch = 256);

// The baseline: a step's score is the length of its jump from the step before, each feature
// divided by its `scales` entry: sqrt(sum_f ((v_f,i - v_f,i-1) / scale_f)^2), 0 for the first
// step. One feature and scale 1: |v_i - v_{i-1}|.
std::vector<double> jump_scores(const SeriesColumns& columns, const std::vector<double>& scales);
std::vector<double> jump_scores(const std::vector<double>& values);

// The q-quantile of v (q in [0, 1]; linear interpolation between order statistics, numpy's
// default): q = 1 is the largest value. v must not be empty.
double quantile(std::vector<double> v, double q);

struct DetectionScores {
  int64_t flagged = 0;          // values flagged
  int64_t true_positives = 0;   // flagged values inside a labelled anomaly
  int64_t anomalous = 0;        // values labelled anomalous
  int64_t events = 0;           // labelled anomalies (maximal runs of anomalous values)
  int64_t events_detected = 0;  // those with at least one flagged value

  double precision() const;  // 0 when nothing was flagged
  double recall() const;     // of the anomalous values; 0 when there are none
  double f1() const;
  double event_recall() const;
  nlohmann::json to_json() const;
};

// Scores the flags (scores[i] > threshold) of values [begin, n) against labels (1: anomalous).
DetectionScores score_detection(const std::vector<double>& scores, double threshold,
                                const std::vector<int>& labels, int64_t begin);

}  // namespace recur
