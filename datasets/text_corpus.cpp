// TextCorpus: opening and checking a corpus file, multi-byte tokens, token and document
// boundaries, and the training/validation split.
#include "datasets/text_corpus.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace recur {

namespace {

constexpr int64_t kSniffBytes = int64_t{1} << 20;  // the prefix checked for binary content

}  // namespace

TextCorpus::TextCorpus(const std::string& path, Vocabulary vocabulary)
    : TextCorpus(MappedFile(path), std::move(vocabulary)) {}

TextCorpus::TextCorpus(MappedFile file, Vocabulary vocabulary)
    : file_(std::move(file)), vocabulary_(std::move(vocabulary)) {
  RECUR_CHECK(bytes() > 0, "corpus '{}' is empty", path());
  check_not_binary();
}

TextCorpus TextCorpus::with_char_vocabulary(const std::string& path) {
  // Checked as bytes first, so a binary file fails fast with the clearer message; building the
  // vocabulary then validates the UTF-8 of the whole file.
  TextCorpus corpus(MappedFile(path), Vocabulary::bytes());
  corpus.vocabulary_ = Vocabulary::chars_of(corpus.file_);
  return corpus;
}

void TextCorpus::check_not_binary() const {
  const uint8_t* p = data();
  const int64_t n = bytes();
  const int64_t window = std::min(n, kSniffBytes);
  const void* nul = std::memchr(p, 0, static_cast<size_t>(window));
  RECUR_CHECK(nul == nullptr, "corpus '{}' looks binary: a NUL byte at offset {}", path(),
              static_cast<const uint8_t*>(nul) - p);

  int64_t invalid = 0, first_invalid = -1;
  for (int64_t i = 0; i < window;) {
    uint32_t cp = 0;
    // A sequence that crosses the end of the window is decoded from the file beyond it.
    const int len = utf8_decode(p + i, static_cast<size_t>(n - i), cp);
    if (len > 0) {
      i += len;
      continue;
    }
    if (first_invalid < 0) first_invalid = i;
    ++invalid;
    ++i;
  }
  RECUR_CHECK(invalid * 100 <= window,
              "corpus '{}' looks binary: {} of its first {} bytes are not valid UTF-8 (the first "
              "at offset {})",
              path(), invalid, window, first_invalid);
  RECUR_CHECK(vocabulary_.is_bytes() || invalid == 0,
              "corpus '{}' is not valid UTF-8 at byte {} (0x{:02x}); a character vocabulary "
              "needs UTF-8 text",
              path(), first_invalid, first_invalid >= 0 ? p[first_invalid] : 0);
}

std::string_view TextCorpus::text(TextRange range) const {
  RECUR_CHECK(0 <= range.begin && range.begin <= range.end && range.end <= bytes(),
              "corpus '{}': expected a range within [0, {}], got [{}, {})", path(), bytes(),
              range.begin, range.end);
  return {reinterpret_cast<const char*>(data()) + range.begin, static_cast<size_t>(range.bytes())};
}

Token TextCorpus::next_multibyte(int64_t& cursor) const {
  uint32_t cp = 0;
  const int len = utf8_decode_slow(data() + cursor, static_cast<size_t>(bytes() - cursor), cp);
  RECUR_CHECK(len > 0, "corpus '{}' is not valid UTF-8 at byte {} (0x{:02x})", path(), cursor,
              data()[cursor]);
  const int64_t id = vocabulary_.id_of(cp);
  if (id < 0) unknown_symbol(cursor, cp);
  cursor += len;
  return {id, false};
}

void TextCorpus::unknown_symbol(int64_t offset, uint32_t symbol) const {
  RECUR_FAIL("corpus '{}': symbol {} at byte {} is not in the vocabulary of {} characters", path(),
             describe_code_point(symbol), offset, vocabulary_.size());
}

bool TextCorpus::is_token_boundary(int64_t offset) const {
  RECUR_CHECK(0 <= offset && offset <= bytes(), "corpus '{}': offset {} is outside [0, {}]", path(),
              offset, bytes());
  return offset == bytes() || vocabulary_.is_bytes() || utf8_is_lead(data()[offset]);
}

int64_t TextCorpus::token_boundary_at_or_after(int64_t offset) const {
  offset = std::clamp<int64_t>(offset, 0, bytes());
  if (vocabulary_.is_bytes()) return offset;
  while (offset < bytes() && !utf8_is_lead(data()[offset])) ++offset;
  return offset;
}

int64_t TextCorpus::document_start_at_or_after(int64_t offset, int64_t limit) const {
  offset = std::max<int64_t>(offset, 0);
  limit = std::min(limit, bytes());
  if (offset >= limit) return -1;
  if (offset == 0 || data()[offset - 1] == kRecordSeparator) return offset;
  // An RS at q < limit - 1 starts a document at q + 1 < limit.
  const void* rs =
      std::memchr(data() + offset, kRecordSeparator, static_cast<size_t>(limit - 1 - offset));
  return rs == nullptr ? -1 : static_cast<const uint8_t*>(rs) - data() + 1;
}

std::pair<TextRange, TextRange> TextCorpus::split(double val_fraction) const {
  RECUR_CHECK(std::isfinite(val_fraction) && val_fraction > 0 && val_fraction < 1,
              "corpus split: expected a validation fraction in (0, 1), got {}", val_fraction);
  const int64_t n = bytes();
  const int64_t raw_start = n - std::llround(val_fraction * static_cast<double>(n));
  int64_t start = -1;
  if (raw_start > 0 && raw_start < n) {
    start = document_start_at_or_after(raw_start, n);
    if (start < 0) start = token_boundary_at_or_after(raw_start);
  }
  RECUR_CHECK(start > 0 && start < n,
              "corpus '{}' of {} bytes is too small to split off {} for validation: both the "
              "training and the validation part must be non-empty",
              path(), n, val_fraction);
  return {TextRange{0, start}, TextRange{start, n}};
}

}  // namespace recur
