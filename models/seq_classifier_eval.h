// Using a SeqClassifier: its checkpoints, its data, class probabilities of a batch, and accuracy,
// mean loss and the confusion matrix over labelled sequences (`recur classify` and
// `recur predict`).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/labelled_corpus.h"
#include "datasets/labelled_sequences.h"
#include "models/seq_classifier.h"

namespace recur {

// A classifier checkpoint's config (train/checkpoint.h): {"kind": "seq_classifier", "model":
// SeqClassifierConfig::to_json(), "train": the training options}.
inline constexpr char kSeqClassifierKind[] = "seq_classifier";

// The model of a checkpoint written by `recur classify`, placed at `where`. Throws naming the
// file when it is not a classifier checkpoint or its tensors do not fit its config.
SeqClassifier load_seq_classifier(const std::string& path, const Placement& where = {});

// The data at `path` as `model` reads it, with the model's labels: byte documents
// (LabelledCorpus), or feature sequences (LabelledSequences: the model's id, label and feature
// columns, standardised as in training, cut into the model's windows if it reads windows; the
// label column may be absent). Throws as those readers do.
std::unique_ptr<ClassData> open_class_data(const std::string& path,
                                           const SeqClassifierConfig& model);

struct ClassifierScores {
  int64_t documents = 0;
  double loss = 0.0;                            // mean cross-entropy, nats
  std::vector<std::vector<int64_t>> confusion;  // [true label][predicted label]

  int64_t correct() const;
  double accuracy() const;
  double precision(int64_t label) const;  // 0 when nothing was predicted as `label`
  double recall(int64_t label) const;     // 0 when no document has `label`
  // {"documents", "loss", "accuracy", "per_label": {name: {"precision", "recall", "count"}},
  //  "confusion": [[...]]}
  nlohmann::json to_json(const std::vector<std::string>& labels) const;
  // A few lines: accuracy, loss, and per label its count of `items` ("documents",
  // ClassData::noun()), precision and recall.
  std::string report(const std::vector<std::string>& labels,
                     const std::string& items = "documents") const;
};

// Softmax of the logits of `batch` (evaluation mode, nothing kept): [B][C] on the host.
std::vector<std::vector<double>> class_probabilities(SeqClassifier& model, const ClassBatch& batch);
// The same for `items` of `data`, `batch` at a time: [items.size()][C], in the order of items.
std::vector<std::vector<double>> class_probabilities(SeqClassifier& model, const ClassData& data,
                                                     const std::vector<int64_t>& items,
                                                     int64_t batch);

// The class probabilities of each group (ClassData::group: the sequence windows were cut from)
// of `items`: its items' `probabilities` ([items.size()][C]) combined by `vote`
// (combine_windows of models/seq_classifier.h). Groups in the order of their first item.
struct GroupProbabilities {
  std::vector<int64_t> groups;                     // [G]
  std::vector<int64_t> labels;                     // [G]: the label of each group's items
  std::vector<std::vector<double>> probabilities;  // [G][C]
};
GroupProbabilities group_probabilities(const ClassData& data, const std::vector<int64_t>& items,
                                       const std::vector<std::vector<double>>& probabilities,
                                       WindowVote vote);

// Accuracy, mean loss and confusion of `probabilities` ([N][C]) against `targets` ([N]).
ClassifierScores score_probabilities(const std::vector<std::vector<double>>& probabilities,
                                     const std::vector<int64_t>& targets, int64_t classes);

struct ClassifierEvaluation {
  ClassifierScores items;      // per item: document, sequence or window
  ClassifierScores sequences;  // per group: the same as items unless the data is cut in windows
  bool windows = false;        // the model reads windows: `sequences` tells more than `items`
  std::string group_noun = "sequences";   // what the groups are: "documents" or "sequences"
  WindowVote vote = WindowVote::mean;     // the model's: how `sequences` combines the windows
  ClassifierScores sequences_other_vote;  // with windows: per group by the other vote, to compare
  WindowVote other_vote() const {
    return vote == WindowVote::mean ? WindowVote::log_mean : WindowVote::mean;
  }

  // items.to_json(), with windows its "sequences": sequences.to_json() (documents or sequences).
  nlohmann::json to_json(const std::vector<std::string>& labels) const;
  // items.report(labels, noun), with windows followed by the report per group (group_noun).
  std::string report(const std::vector<std::string>& labels, const std::string& noun) const;
};

// Scores `items` of `data` (whose labels must be the model's), `batch` at a time, in evaluation
// mode. Leaves the model in evaluation mode.
ClassifierEvaluation evaluate_classifier(SeqClassifier& model, const ClassData& data,
                                         const std::vector<int64_t>& items, int64_t batch);

}  // namespace recur
