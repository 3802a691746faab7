// LabelledCorpus: documents with a class label, for sequence classification (`recur classify`),
// memory-mapped (never copied into RAM).
//
// Format: documents end with the ASCII record separator RS (0x1E), as in every recur corpus (a
// last document without RS is accepted); each document is LABEL, one TAB, then TEXT:
//   "spam\tSubject: Cheap ...\n..." RS "ham\tSubject: Re: the build\n..." RS
// A label is a short name without control characters; TEXT is any bytes but RS, at least one.
// python_tools/datasets.py writes the `spam` corpus in this format.
//
// Tokens are bytes (256 symbols). A classifier reads the first max_len bytes of each TEXT, or,
// cut into windows (cut_windows), every byte of it. The split, bucketing and evaluation are
// ClassData's (datasets/class_data.h).
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
  const char* noun() const override { return windowed() ? "windows" : "documents"; }
  const char* group_noun() const override { return "documents"; }
  int64_t group(int64_t i) const override {
    return windowed() ? groups_[static_cast<size_t>(i)] : i;
  }
  int64_t groups() const override { return windowed() ? documents_ : size(); }

  // Cuts every document's TEXT into windows of `window` bytes, one every `stride` (window_starts
  // of datasets/class_data.h: the last ends at the text's end, so every byte is read). From then
  // on the items are the windows, in file order, each with its document's label; group() is the
  // index of their document. Throws on a bad window or stride, or when already cut.
  void cut_windows(int64_t window, int64_t stride);
  bool windowed() const { return !groups_.empty(); }

  const LabelledDocument& operator[](int64_t i) const { return docs_[static_cast<size_t>(i)]; }

 private:
  MappedFile file_;
  std::vector<std::string> labels_;
  std::vector<LabelledDocument> docs_;  // the documents, or once cut their windows
  std::vector<int64_t> groups_;         // cut_windows: each window's document
  int64_t documents_ = 0;               // cut_windows: how many documents there were
};

// The byte tokens of unlabelled texts, each truncated to max_len: inputs [B,T] i64 (zeros after
// each length), lengths [B], targets [B] zeros. Throws on an empty text.
ClassBatch make_texts_batch(const std::vector<std::string_view>& texts, int64_t max_len);
ClassBatch make_text_batch(std::string_view text, int64_t max_len);  // one text: [1,T]
// The windows LabelledCorpus::cut_windows cuts `text` into, as views of it.
std::vector<std::string_view> text_windows(std::string_view text, int64_t window, int64_t stride);

}  // namespace recur
