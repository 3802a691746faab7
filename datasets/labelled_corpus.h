// LabelledCorpus: documents with a class label, for sequence classification (`recur classify`),
// memory-mapped (never copied into RAM).
//
// Format: documents end with the ASCII record separator RS (0x1E), as in every recur corpus (a
// last document without RS is accepted); each document is LABEL, one TAB, then TEXT:
//   "spam\tSubject: Cheap ...\n..." RS "ham\tSubject: Re: the build\n..." RS
// A label is a short name without control characters; TEXT is any bytes but RS, at least one.
// python_tools/datasets.py writes the `spam` corpus in this format.
//
// Tokens are bytes (256 symbols). A classifier reads the first max_len bytes of each TEXT. The
// split, bucketing and evaluation are ClassData's (datasets/class_data.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "datasets/class_data.h"

namespace recur {

struct LabelledDocument {
  int64_t label = 0;      // index into LabelledCorpus::labels()
  int64_t offset = 0;     // byte offset of TEXT in the file
  std::string_view text;  // TEXT, viewed in the mapping
};

class LabelledCorpus : public ClassData {
 public:
  // Maps and indexes `path`. labels: the class names in index order (a trained model's); empty
  // means the distinct labels of the file, sorted. Throws recur::Error naming the path, the
  // document's number and byte offset: an empty file, a document without TAB, an empty label or
  // text, a label with control characters or over 64 bytes, a label not in `labels`.
  explicit LabelledCorpus(const std::string& path, std::vector<std::string> labels = {});

  const std::string& path() const override { return file_.path(); }
  const std::vector<std::string>& labels() const override { return labels_; }
  int64_t size() const override { return static_cast<int64_t>(docs_.size()); }
  int64_t label(int64_t i) const override { return (*this)[i].label; }
  int64_t steps(int64_t i) const override { return static_cast<int64_t>((*this)[i].text.size()); }
  // inputs [B,T] i64: the first min(bytes, max_len) bytes of each TEXT, then zeros.
  ClassBatch batch(const std::vector<int64_t>& documents, int64_t max_len) const override;
  const char* noun() const override { return "documents"; }

  const LabelledDocument& operator[](int64_t i) const { return docs_[static_cast<size_t>(i)]; }

 private:
  MappedFile file_;
  std::vector<std::string> labels_;
  std::vector<LabelledDocument> docs_;
};

// The byte tokens of one unlabelled text, truncated to max_len: inputs [1,T] i64, lengths [1].
ClassBatch make_text_batch(std::string_view text, int64_t max_len);

}  // namespace recur
