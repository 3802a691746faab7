// TextCorpus: a UTF-8 text file, memory-mapped (never copied into RAM), read as tokens of a
// Vocabulary through byte cursors.
//
// Documents end with the ASCII record separator RS (0x1E): one RS after each document; a file
// without RS is one document. Tokens have variable width under a character vocabulary (1-4
// bytes of UTF-8), so positions are byte offsets: next(cursor) decodes the token at a cursor and
// advances it. RS is one byte in either vocabulary and never occurs inside a multi-byte UTF-8
// sequence, so documents can be found by looking at bytes alone.
//
// Opening validates what can be validated cheaply (the file exists, is not empty, and its first
// MiB does not look binary); a file is never read whole at open. Under a character vocabulary,
// invalid UTF-8 or a symbol outside the vocabulary further in is reported by next(), with its
// byte offset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/mapped_file.h"
#include "datasets/vocabulary.h"

namespace recur {

// Bytes [begin, end) of a corpus.
struct TextRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t bytes() const { return end - begin; }
  bool operator==(const TextRange& o) const { return begin == o.begin && end == o.end; }
  bool operator!=(const TextRange& o) const { return !(*this == o); }
};

// One token read from a corpus.
struct Token {
  int64_t id = 0;          // in [0, vocabulary.size())
  bool separator = false;  // the token is RS (the end of a document)
};

class TextCorpus {
 public:
  // Maps `path` and checks it (messages name the path): a missing or unreadable file (with the
  // system's reason), an empty file, a NUL byte in the first MiB, more than 1% of the first MiB
  // not valid UTF-8 (byte vocabulary) or any invalid UTF-8 there (character vocabulary).
  explicit TextCorpus(const std::string& path, Vocabulary vocabulary = Vocabulary::bytes());
  // A corpus read with the character vocabulary of its own text (one streaming pass over the
  // file, which also validates all of its UTF-8).
  static TextCorpus with_char_vocabulary(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const Vocabulary& vocabulary() const { return vocabulary_; }
  int64_t bytes() const { return static_cast<int64_t>(file_.size()); }
  TextRange all() const { return {0, bytes()}; }
  // The bytes of a range, viewed in the mapping (no copy); valid while the corpus lives.
  std::string_view text(TextRange range) const;
  uint8_t byte_at(int64_t offset) const { return data()[offset]; }

  // Decodes the token at `cursor` (which must be a token boundary below bytes()) and moves the
  // cursor past it: one byte (byte vocabulary) or one UTF-8 sequence (character vocabulary).
  // Throws recur::Error naming the offset on invalid UTF-8 or a symbol outside the vocabulary.
  Token next(int64_t& cursor) const {
    const uint8_t byte = data()[cursor];
    if (vocabulary_.is_bytes() || byte < 0x80) {
      const int64_t id = vocabulary_.id_of(byte);
      if (id < 0) unknown_symbol(cursor, byte);
      ++cursor;
      return {id, byte == kRecordSeparator};
    }
    return next_multibyte(cursor);
  }

  // True when a token starts at `offset` (0 <= offset <= bytes(); bytes() counts as one): every
  // offset for the byte vocabulary, a UTF-8 lead byte for a character vocabulary.
  bool is_token_boundary(int64_t offset) const;
  // The first token boundary at or after `offset`, at most bytes().
  int64_t token_boundary_at_or_after(int64_t offset) const;
  // The first document start p in [offset, limit): p == 0 or the byte before p is RS.
  // Returns -1 when there is none.
  int64_t document_start_at_or_after(int64_t offset, int64_t limit) const;

  // Splits off the last `val_fraction` of the bytes for validation: {training, validation}.
  // The validation start is snapped forward to the next document start when one lies in that
  // region, else to the next token boundary; training is everything before it. Throws when
  // val_fraction is not in (0, 1) or either part would be empty.
  std::pair<TextRange, TextRange> split(double val_fraction) const;

 private:
  TextCorpus(MappedFile file, Vocabulary vocabulary);
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(file_.data()); }
  void check_not_binary() const;
  Token next_multibyte(int64_t& cursor) const;
  [[noreturn]] void unknown_symbol(int64_t offset, uint32_t symbol) const;

  MappedFile file_;
  Vocabulary vocabulary_;
};

}  // namespace recur
