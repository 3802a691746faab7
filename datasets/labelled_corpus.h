// LabelledCorpus: documents with a class label, for sequence classification (`recur classify`),
// memory-mapped (never copied into RAM).
//
// Format: documents end with the ASCII record separator RS (0x1E), as in every recur corpus (a
// last document without RS is accepted); each document is LABEL, one TAB, then TEXT:
//   "spam\tSubject: Cheap ...\n..." RS "ham\tSubject: Re: the build\n..." RS
// A label is a short name without control characters; TEXT is any bytes but RS, at least one.
// python_tools/datasets.py writes the `spam` corpus in this format.
//
// Tokens are bytes (256 symbols). A classifier reads the first max_len bytes of each TEXT.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace recur {

struct LabelledDocument {
  int64_t label = 0;      // index into LabelledCorpus::labels()
  int64_t offset = 0;     // byte offset of TEXT in the file
  std::string_view text;  // TEXT, viewed in the mapping
};

class LabelledCorpus {
 public:
  // Maps and indexes `path`. labels: the class names in index order (a trained model's); empty
  // means the distinct labels of the file, sorted. Throws recur::Error naming the path, the
  // document's number and byte offset: an empty file, a document without TAB, an empty label or
  // text, a label with control characters or over 64 bytes, a label not in `labels`.
  explicit LabelledCorpus(const std::string& path, std::vector<std::string> labels = {});

  const std::string& path() const { return file_.path(); }
  const std::vector<std::string>& labels() const { return labels_; }
  int64_t size() const { return static_cast<int64_t>(docs_.size()); }
  const LabelledDocument& operator[](int64_t i) const { return docs_[static_cast<size_t>(i)]; }
  std::vector<int64_t> count_per_label() const;

  // A split that keeps the label proportions: of each label's documents in file order, every
  // `every`-th (the 1st, the every+1-th, ...) goes to validation, the rest to training. Indices
  // into this corpus, in file order.
  struct Split {
    std::vector<int64_t> train, validation;
  };
  Split split(int64_t every) const;

 private:
  MappedFile file_;
  std::vector<std::string> labels_;
  std::vector<LabelledDocument> docs_;
};

// Documents as a padded batch of byte tokens.
struct ClassBatch {
  Tensor tokens;   // [B,T] i64: the first min(bytes, max_len) bytes of each TEXT, then zeros
  Tensor lengths;  // [B] i64 in [1,T]; T is the longest of them
  Tensor targets;  // [B] i64: the labels
};
ClassBatch make_class_batch(const LabelledCorpus& corpus, const std::vector<int64_t>& documents,
                            int64_t max_len);

// One epoch's batches of `documents` (indices into the corpus), in an order drawn from `seed`:
// shuffled, then sorted by length within windows of 16 batches (so a batch pads little),
// the batches shuffled again. Every document once; the last batch may be smaller.
std::vector<std::vector<int64_t>> bucket_batches(const LabelledCorpus& corpus,
                                                 std::vector<int64_t> documents, int64_t batch,
                                                 int64_t max_len, uint64_t seed);

// The byte tokens of one unlabelled text, truncated to max_len: [1,T] i64 and lengths [1].
ClassBatch make_text_batch(std::string_view text, int64_t max_len);

}  // namespace recur
