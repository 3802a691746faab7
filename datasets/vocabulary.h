// Vocabulary: the symbols of a byte- or character-level language model and their ids, plus the
// strict UTF-8 coding that character vocabularies (and text corpora) use.
//
//   bytes()     256 symbols, id = byte value (the default). Any file is a byte sequence.
//   chars_of()  the Unicode code points that occur in a text, sorted ascending; id = the rank.
//
// Corpora separate documents with the ASCII record separator RS (0x1E, U+001E). RS is a symbol
// like any other: separator() gives its id, or -1 when a character vocabulary lacks it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace recur {

class MappedFile;

// The record separator that ends each document of a corpus.
inline constexpr uint8_t kRecordSeparator = 0x1E;

// Decodes the UTF-8 sequence at p, of which n >= 1 bytes are readable. Returns its length (1-4)
// and sets `code_point`, or returns 0 when the bytes there are not valid UTF-8: a stray
// continuation byte, a bad lead byte, an overlong form, a surrogate, a value above U+10FFFF or a
// sequence cut short by the end of the n bytes.
int utf8_decode_slow(const uint8_t* p, size_t n, uint32_t& code_point);
inline int utf8_decode(const uint8_t* p, size_t n, uint32_t& code_point) {
  if (*p < 0x80) {  // ASCII: the common case
    code_point = *p;
    return 1;
  }
  return utf8_decode_slow(p, n, code_point);
}
// True for bytes that start a UTF-8 sequence (anything but 10xxxxxx).
inline bool utf8_is_lead(uint8_t byte) {
  return (byte & 0xC0) != 0x80;
}
// The UTF-8 bytes of a code point (which must be a Unicode scalar value).
std::string utf8_encode(uint32_t code_point);
// "'é' (U+00E9)"; control characters are shown escaped: "'\x1e' (U+001E)".
std::string describe_code_point(uint32_t code_point);

class Vocabulary {
 public:
  Vocabulary() = default;  // bytes()
  static Vocabulary bytes();
  // All code points of `corpus` (RS included), sorted ascending. Streams once over the text
  // with constant memory. Throws recur::Error naming the byte offset of invalid UTF-8, or when
  // the text is empty.
  static Vocabulary chars_of(const MappedFile& corpus);
  static Vocabulary chars_of(std::string_view corpus);
  // A character vocabulary of exactly these code points (strictly ascending scalar values).
  static Vocabulary chars(std::vector<uint32_t> code_points);

  int64_t size() const { return bytes_ ? 256 : static_cast<int64_t>(code_points_.size()); }
  bool is_bytes() const { return bytes_; }
  // The id of RS, or -1 when absent.
  int64_t separator() const { return separator_; }
  // Character vocabularies: the code points, id = index. Empty for bytes().
  const std::vector<uint32_t>& code_points() const { return code_points_; }

  // The id of a code point (chars) or byte value (bytes), or -1 when it is not in the vocabulary.
  int64_t id_of(uint32_t symbol) const {
    if (bytes_) return symbol < 256 ? static_cast<int64_t>(symbol) : -1;
    if (symbol < dense_ids_.size()) return dense_ids_[symbol];
    return id_of_sparse(symbol);
  }

  // Text to ids: bytes, one id per byte; chars, one id per code point. Throws recur::Error on
  // invalid UTF-8 (naming the byte offset) and on a code point outside the vocabulary
  // ("symbol 'é' (U+00E9) is not in the vocabulary of 87 characters").
  std::vector<int64_t> encode(std::string_view utf8) const;
  // One symbol as text: the UTF-8 of its code point (chars) or the raw byte (bytes).
  std::string decode(int64_t id) const;

  // {"kind": "bytes"} or {"kind": "chars", "code_points": [10, 30, 32, ...]}.
  nlohmann::json to_json() const;
  // The inverse of to_json; validates every field and throws recur::Error naming the problem.
  static Vocabulary from_json(const nlohmann::json& json);

  bool operator==(const Vocabulary& other) const {
    return bytes_ == other.bytes_ && code_points_ == other.code_points_;
  }
  bool operator!=(const Vocabulary& other) const { return !(*this == other); }

 private:
  int64_t id_of_sparse(uint32_t code_point) const;

  bool bytes_ = true;
  std::vector<uint32_t> code_points_;  // chars: sorted ascending
  // chars: id of each code point below dense_ids_.size() (at most U+10000), -1 where absent;
  // larger code points are found by binary search in code_points_.
  std::vector<int32_t> dense_ids_;
  int64_t separator_ = kRecordSeparator;
};

}  // namespace recur
