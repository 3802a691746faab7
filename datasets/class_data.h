// ClassData: what a sequence classifier (models/seq_classifier.h) learns from: labelled
// sequences of variable length. Two kinds: byte documents (datasets/labelled_corpus.h: spam or
// ham mail, reviews) and numeric feature sequences (datasets/labelled_sequences.h: a sensor's
// readings, one row of values per time step), either of them possibly cut into windows. The
// split, the length-bucketed batches and the evaluation are written once, against this
// interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace recur {

// A padded batch of sequences.
struct ClassBatch {
  // Byte documents: [B,T] i64 tokens, zeros after each length. Feature sequences: [B,T,F] f32
  // standardised values, zeros after each length.
  Tensor inputs;
  Tensor lengths;  // [B] i64 in [1,T]; T is the longest of them
  Tensor targets;  // [B] i64: the labels (0 where the data has none)
};

class ClassData {
 public:
  virtual ~ClassData() = default;

  virtual const std::string& path() const = 0;
  // The class names, in index order.
  virtual const std::vector<std::string>& labels() const = 0;
  // Number of sequences.
  virtual int64_t size() const = 0;
  // The label index of sequence i, in [0, labels().size()).
  virtual int64_t label(int64_t i) const = 0;
  // The number of time steps of sequence i (bytes of a document, rows of a feature sequence).
  virtual int64_t steps(int64_t i) const = 0;
  // `items` (indices into this data) as one batch, each truncated to its first max_len steps.
  // Throws naming the index when one is out of range.
  virtual ClassBatch batch(const std::vector<int64_t>& items, int64_t max_len) const = 0;
  // What its items are called in messages: "documents", "sequences", "windows".
  virtual const char* noun() const = 0;
  // What its groups are called: "documents" or "sequences" (what the windows were cut from).
  virtual const char* group_noun() const = 0;
  // The document or sequence item i was cut from (the cut_windows of LabelledCorpus and
  // LabelledSequences), in [0, groups()); the items of a group are consecutive. Uncut data:
  // every item its own group.
  virtual int64_t group(int64_t i) const { return i; }
  virtual int64_t groups() const { return size(); }

  std::vector<int64_t> count_per_label() const;

  // A split that keeps the label proportions: of each label's groups (sequences) in order, every
  // `every`-th (the 1st, the every+1-th, ...) goes to validation with all its items, the rest to
  // training, so windows of one sequence are never on both sides. Indices, in order.
  struct Split {
    std::vector<int64_t> train, validation;
  };
  Split split(int64_t every) const;
};

// One epoch's batches of `items` (indices into `data`), in an order drawn from `seed`: shuffled,
// then sorted by min(steps, max_len) within windows of 16 batches (so a batch pads little), the
// batches shuffled again (datasets/length_buckets.h). Every item once; the last batch may be
// smaller.
std::vector<std::vector<int64_t>> bucket_batches(const ClassData& data, std::vector<int64_t> items,
                                                 int64_t batch, int64_t max_len, uint64_t seed);

// Where the windows of `window` steps, one every `stride` (1 <= stride <= window), start in a
// sequence of `steps` steps: 0, stride, 2*stride, ..., and the last ends at the sequence's end
// (so every step is read; it may overlap the one before more than the others do); one window,
// from 0, when the sequence has at most `window` steps. Each window holds min(window, steps)
// steps. Throws on a bad window or stride.
std::vector<int64_t> window_starts(int64_t steps, int64_t window, int64_t stride);

// Throws unless `items` are indices of `data`; `what` names the caller in the message.
void check_items(const ClassData& data, const std::vector<int64_t>& items, const char* what);

}  // namespace recur
