#include "datasets/labelled_corpus.h"

#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/ranges.h>

#include "core/error.h"

namespace recur {

namespace {

constexpr char kRS = '\x1e';
constexpr size_t kMaxLabelBytes = 64;

struct RawDocument {
  std::string_view label, text;
  int64_t offset = 0;  // of the document
};

// Splits the file into documents and each into LABEL and TEXT, checking the format.
std::vector<RawDocument> parse(const std::string& path, std::string_view all) {
  std::vector<RawDocument> out;
  size_t begin = 0;
  while (begin < all.size()) {
    size_t end = all.find(kRS, begin);
    if (end == std::string_view::npos) end = all.size();
    const std::string_view doc = all.substr(begin, end - begin);
    const int64_t number = static_cast<int64_t>(out.size()) + 1;
    const size_t tab = doc.find('\t');
    RECUR_CHECK(tab != std::string_view::npos,
                "{}: document {} (byte {}): expected LABEL<TAB>TEXT, found no TAB", path, number,
                begin);
    const std::string_view label = doc.substr(0, tab);
    RECUR_CHECK(!label.empty(), "{}: document {} (byte {}): expected a label before the TAB", path,
                number, begin);
    RECUR_CHECK(label.size() <= kMaxLabelBytes,
                "{}: document {} (byte {}): expected a label of at most {} bytes, got {}", path,
                number, begin, kMaxLabelBytes, label.size());
    for (char ch : label)
      RECUR_CHECK(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f,
                  "{}: document {} (byte {}): expected a label without control characters "
                  "(is this a labelled corpus, LABEL<TAB>TEXT per document?)",
                  path, number, begin);
    RECUR_CHECK(tab + 1 < doc.size(),
                "{}: document {} (byte {}, label '{}'): expected text after "
                "the TAB, got none",
                path, number, begin, label);
    out.push_back({label, doc.substr(tab + 1), static_cast<int64_t>(begin)});
    begin = end + 1;
  }
  return out;
}

}  // namespace

LabelledCorpus::LabelledCorpus(const std::string& path, std::vector<std::string> labels)
    : file_(path), labels_(std::move(labels)) {
  RECUR_CHECK(file_.size() > 0,
              "{}: expected a labelled corpus (LABEL<TAB>TEXT documents "
              "separated by RS), got an empty file",
              path);
  const std::string_view all(reinterpret_cast<const char*>(file_.data()), file_.size());
  const std::vector<RawDocument> raw = parse(path, all);
  if (labels_.empty()) {
    for (const RawDocument& d : raw) labels_.emplace_back(d.label);
    std::sort(labels_.begin(), labels_.end());
    labels_.erase(std::unique(labels_.begin(), labels_.end()), labels_.end());
  }
  std::map<std::string_view, int64_t> index;
  for (size_t i = 0; i < labels_.size(); ++i) index[labels_[i]] = static_cast<int64_t>(i);
  docs_.reserve(raw.size());
  for (const RawDocument& d : raw) {
    auto it = index.find(d.label);
    RECUR_CHECK(it != index.end(),
                "{}: document {} (byte {}): label '{}' is not one of the {} "
                "labels of the model ({})",
                path, docs_.size() + 1, d.offset, d.label, labels_.size(),
                fmt::join(labels_, ", "));
    const int64_t text_offset = d.offset + static_cast<int64_t>(d.label.size()) + 1;
    docs_.push_back({it->second, text_offset, d.text});
  }
}

namespace {

ClassBatch make_batch(const std::vector<std::string_view>& texts,
                      const std::vector<int64_t>& labels, int64_t max_len) {
  RECUR_CHECK(max_len >= 1, "classifier batch: expected max_len >= 1, got {}", max_len);
  const int64_t B = static_cast<int64_t>(texts.size());
  RECUR_CHECK(B >= 1, "classifier batch: expected at least one document");
  std::vector<int64_t> lengths(texts.size());
  int64_t T = 0;
  for (size_t b = 0; b < texts.size(); ++b) {
    lengths[b] = std::min<int64_t>(static_cast<int64_t>(texts[b].size()), max_len);
    RECUR_CHECK(lengths[b] >= 1, "classifier batch: document {} of the batch is empty", b);
    T = std::max(T, lengths[b]);
  }
  ClassBatch batch;
  batch.inputs = Tensor::zeros({B, T}, DType::i64);
  int64_t* tokens = batch.inputs.data<int64_t>();
  for (size_t b = 0; b < texts.size(); ++b)
    for (int64_t t = 0; t < lengths[b]; ++t)
      tokens[static_cast<int64_t>(b) * T + t] = static_cast<unsigned char>(texts[b][t]);
  batch.lengths = Tensor::from_vector(lengths, {B});
  batch.targets = Tensor::from_vector(labels, {B});
  return batch;
}

}  // namespace

ClassBatch LabelledCorpus::batch(const std::vector<int64_t>& documents, int64_t max_len) const {
  check_items(*this, documents, "classifier batch");
  std::vector<std::string_view> texts;
  std::vector<int64_t> labels;
  for (int64_t i : documents) {
    texts.push_back((*this)[i].text);
    labels.push_back((*this)[i].label);
  }
  return make_batch(texts, labels, max_len);
}

std::vector<std::string_view> text_windows(std::string_view text, int64_t window, int64_t stride) {
  std::vector<std::string_view> windows;
  for (int64_t first : window_starts(static_cast<int64_t>(text.size()), window, stride))
    windows.push_back(text.substr(static_cast<size_t>(first), static_cast<size_t>(window)));
  return windows;
}

void LabelledCorpus::cut_windows(int64_t window, int64_t stride) {
  RECUR_CHECK(!windowed(), "{}: already cut into windows", path());
  std::vector<LabelledDocument> windows;
  for (size_t d = 0; d < docs_.size(); ++d) {
    const LabelledDocument& doc = docs_[d];
    for (std::string_view text : text_windows(doc.text, window, stride)) {
      windows.push_back({doc.label, doc.offset + (text.data() - doc.text.data()), text});
      groups_.push_back(static_cast<int64_t>(d));
    }
  }
  documents_ = static_cast<int64_t>(docs_.size());
  docs_ = std::move(windows);
}

ClassBatch make_texts_batch(const std::vector<std::string_view>& texts, int64_t max_len) {
  return make_batch(texts, std::vector<int64_t>(texts.size(), 0), max_len);
}

ClassBatch make_text_batch(std::string_view text, int64_t max_len) {
  return make_texts_batch({text}, max_len);
}

}  // namespace recur
