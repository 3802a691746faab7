#include "datasets/parallel_corpus.h"

#include <algorithm>

#include "core/error.h"
#include "core/mapped_file.h"

namespace recur {

namespace {

// Throws naming the first control character of `side`.
void check_text(std::string_view side, const char* name, const std::string& path, int64_t line) {
  RECUR_CHECK(!side.empty(), "{}: line {}: expected SOURCE<TAB>TARGET, the {} is empty", path, line,
              name);
  for (size_t i = 0; i < side.size(); ++i) {
    const auto c = static_cast<unsigned char>(side[i]);
    RECUR_CHECK(c >= 0x20 && c != 0x7f,
                "{}: line {}: the {} holds control character 0x{:02x} at byte {}", path, line, name,
                c, i);
  }
}

// tokens [B,L] and lengths [B] of byte strings, each behind `first` (or nothing when first < 0)
// and before `last` (likewise); padded with `pad`.
void fill_tokens(const std::vector<std::string_view>& texts, int64_t first, int64_t last,
                 int64_t pad, Tensor& tokens, Tensor& lengths) {
  const int64_t extra = (first >= 0) + (last >= 0);
  int64_t longest = 1;
  for (std::string_view t : texts)
    longest = std::max<int64_t>(longest, static_cast<int64_t>(t.size()) + extra);
  const int64_t B = static_cast<int64_t>(texts.size());
  tokens = Tensor::full({B, longest}, static_cast<double>(pad), DType::i64);
  lengths = Tensor::empty({B}, DType::i64);
  for (int64_t b = 0; b < B; ++b) {
    int64_t* row = tokens.data<int64_t>() + b * longest;
    int64_t n = 0;
    if (first >= 0) row[n++] = first;
    for (char c : texts[b]) row[n++] = static_cast<unsigned char>(c);
    if (last >= 0) row[n++] = last;
    lengths.data<int64_t>()[b] = std::max<int64_t>(n, 1);
  }
}

}  // namespace

std::vector<TranslationPair> read_parallel_corpus(const std::string& path) {
  const MappedFile file(path);
  const std::string_view all(reinterpret_cast<const char*>(file.data()), file.size());
  RECUR_CHECK(!all.empty(), "{}: expected SOURCE<TAB>TARGET lines, the file is empty", path);
  std::vector<TranslationPair> pairs;
  size_t begin = 0;
  for (int64_t line = 1; begin < all.size(); ++line) {
    size_t end = all.find('\n', begin);
    if (end == std::string_view::npos) end = all.size();
    const std::string_view text = all.substr(begin, end - begin);
    const size_t tab = text.find('\t');
    RECUR_CHECK(tab != std::string_view::npos && text.find('\t', tab + 1) == std::string_view::npos,
                "{}: line {}: expected SOURCE<TAB>TARGET with exactly one TAB, got {}", path, line,
                tab == std::string_view::npos ? "none" : "more");
    const std::string_view source = text.substr(0, tab), target = text.substr(tab + 1);
    check_text(source, "source", path, line);
    check_text(target, "target", path, line);
    pairs.push_back({std::string(source), std::string(target)});
    begin = end + 1;
  }
  return pairs;
}

TranslationBatch make_translation_batch(const std::vector<TranslationPair>& pairs,
                                        const std::vector<int64_t>& chosen) {
  RECUR_CHECK(!chosen.empty(), "translation batch: expected at least one pair");
  std::vector<std::string_view> sources, targets;
  for (int64_t i : chosen) {
    RECUR_CHECK(i >= 0 && i < static_cast<int64_t>(pairs.size()),
                "translation batch: pair {} of a corpus of {}", i, pairs.size());
    sources.push_back(pairs[static_cast<size_t>(i)].source);
    targets.push_back(pairs[static_cast<size_t>(i)].target);
  }
  TranslationBatch batch = make_source_batch(sources);
  fill_tokens(targets, kBos, -1, 0, batch.target_in, batch.target_lengths);
  Tensor same_lengths;
  fill_tokens(targets, -1, kEos, kIgnoredTarget, batch.target_out, same_lengths);
  for (int64_t b = 0; b < batch.target_lengths.numel(); ++b)
    batch.target_tokens += batch.target_lengths.data<int64_t>()[b];
  return batch;
}

TranslationBatch make_source_batch(const std::vector<std::string_view>& sources) {
  RECUR_CHECK(!sources.empty(), "translation batch: expected at least one source");
  for (std::string_view s : sources)
    RECUR_CHECK(!s.empty(), "translation batch: expected non-empty sources");
  TranslationBatch batch;
  fill_tokens(sources, -1, -1, 0, batch.source, batch.source_lengths);
  return batch;
}

}  // namespace recur
