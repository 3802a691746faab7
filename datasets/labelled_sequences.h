// LabelledSequences: numeric feature sequences with a class label, for sequence classification
// (`recur classify --data FILE.csv`): the kind of sensor behind a signal, the activity behind an
// accelerometer's readings, a garment from the rows of its picture.
//
// Format: a CSV file (datasets/csv.h) in long form, one time step per line:
//   id,label,x,y,z
//   walk-001,walking,0.12,-0.98,0.05      <- sequence walk-001, step 1
//   walk-001,walking,0.15,-0.97,0.02      <- step 2
//   sit-007,sitting,0.01,-1.00,0.00
// Column `id` names the sequence, column `label` its class; the feature columns are every other
// column in header order, or those a trained model names. The rows of a sequence are
// consecutive, in time order, and carry one label. Every feature value is a finite number:
// anything else is an error naming the line and the column, never silently filled.
//
// The model reads standardised values, (value - mean) / std per feature, with the mean and the
// standard deviation of the training sequences' rows (Standardisation::fit), kept in the model's
// config so that `recur predict` reads new data the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/class_data.h"

namespace recur {

struct SequenceColumns {
  std::string id = "id";
  std::string label = "label";
  std::vector<std::string> features;  // empty: every column but id and label, in header order
};

// Per feature: the model reads (value - mean[f]) / std[f].
struct Standardisation {
  std::vector<double> mean, std;
  bool empty() const { return mean.empty(); }
};

class LabelledSequences : public ClassData {
 public:
  // Reads `path`. labels: the class names in index order (a trained model's); empty means the
  // distinct labels of the file, sorted. With the model's labels given the label column may be
  // absent (data to predict; has_labels() is false, every label 0). Throws recur::Error naming
  // the path and line: a missing or empty file, a header without the id, label or a feature
  // column, a line with another number of fields than the header, an empty id or label, a value
  // that is not a finite number, a sequence whose rows are not consecutive or whose label
  // changes, a label not in `labels`, no feature column.
  explicit LabelledSequences(const std::string& path, const SequenceColumns& columns = {},
                             std::vector<std::string> labels = {});

  const std::string& path() const override { return path_; }
  const std::vector<std::string>& labels() const override { return labels_; }
  int64_t size() const override { return static_cast<int64_t>(sequences_.size()); }
  int64_t label(int64_t i) const override { return sequences_[static_cast<size_t>(i)].label; }
  int64_t steps(int64_t i) const override { return sequences_[static_cast<size_t>(i)].steps; }
  // inputs [B,T,F] f32: the first min(steps, max_len) rows of each sequence, standardised
  // (set_standardisation; none set: the raw values), then zeros.
  ClassBatch batch(const std::vector<int64_t>& items, int64_t max_len) const override;
  const char* noun() const override { return windowed() ? "windows" : "sequences"; }
  const char* group_noun() const override { return "sequences"; }
  int64_t group(int64_t i) const override { return sequences_[static_cast<size_t>(i)].group; }
  int64_t groups() const override {
    return windowed() ? static_cast<int64_t>(sequence_ids_.size()) : size();
  }

  bool has_labels() const { return has_labels_; }
  // Item i's id: a sequence's, or a window's "ID@FIRST" (its first step, counted from 0).
  const std::string& id(int64_t i) const { return sequences_[static_cast<size_t>(i)].id; }
  // The id of the file's sequence `group` (group() of its items).
  const std::string& sequence_id(int64_t group) const;
  const std::vector<std::string>& features() const { return features_; }
  int64_t rows() const { return static_cast<int64_t>(values_.size() / features_.size()); }

  // The mean and (population) standard deviation of each feature over every row of `items`;
  // a feature constant there gets std 1.
  Standardisation fit_standardisation(const std::vector<int64_t>& items) const;
  // Throws unless there is one finite mean and one positive finite std per feature.
  void set_standardisation(Standardisation s);

  // Cuts every sequence into windows of `window` steps, one starting every `stride` steps
  // (1 <= stride <= window) and the last ending at the sequence's end, so that every step is
  // read; a sequence of at most `window` steps stays one window. From then on the items are the
  // windows, in file order: size(), steps(), label(), id() and batch() are theirs, group() is
  // the index of their sequence. Fit the standardisation before (overlapping windows would count
  // rows twice). Throws on a bad window or stride, or when the data is already cut.
  void cut_windows(int64_t window, int64_t stride);
  bool windowed() const { return !sequence_ids_.empty(); }

 private:
  struct Sequence {
    std::string id;
    int64_t label = 0;
    int64_t first_row = 0;
    int64_t steps = 0;
    int64_t group = 0;  // the index of the file's sequence it is (or was cut from)
  };
  std::string path_;
  std::vector<std::string> labels_;
  std::vector<std::string> features_;
  bool has_labels_ = true;
  std::vector<Sequence> sequences_;        // the items: the file's sequences, or their windows
  std::vector<std::string> sequence_ids_;  // cut_windows: the ids of the file's sequences
  // [rows, features]: each value less its feature's value in the first row (offsets_), so a
  // feature with a large offset and small steps (an absolute timestamp) keeps its digits in f32.
  std::vector<float> values_;
  std::vector<double> offsets_;  // [features]
  Standardisation standardisation_;
};

}  // namespace recur
