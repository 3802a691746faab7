// Vocabulary and the strict UTF-8 decoder: building a character vocabulary by one streaming
// pass over a text, encoding and decoding symbols, and the validated JSON form.
#include "datasets/vocabulary.h"

#include <algorithm>
#include <array>

#include "core/error.h"
#include "core/mapped_file.h"

namespace recur {

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kDenseLimit = 0x10000;  // code points below this are looked up in a table

bool is_scalar_value(uint64_t code_point) {
  return code_point <= kMaxCodePoint && !(code_point >= 0xD800 && code_point <= 0xDFFF);
}

// The code points of n bytes of UTF-8 at p, sorted; `what` names the text in errors.
std::vector<uint32_t> collect_code_points(const uint8_t* p, size_t n, const std::string& what) {
  RECUR_CHECK(n > 0, "cannot build a character vocabulary of {}: expected text, got 0 bytes", what);
  std::array<bool, 128> ascii{};
  std::vector<uint64_t> seen((kMaxCodePoint + 1) / 64, 0);  // one bit per code point: 136 KiB
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ascii[p[i]] = true;
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const int len = utf8_decode_slow(p + i, n - i, cp);
    RECUR_CHECK(len > 0, "{} is not valid UTF-8 at byte {} (0x{:02x})", what, i, p[i]);
    seen[cp / 64] |= uint64_t{1} << (cp % 64);
    i += static_cast<size_t>(len);
  }
  std::vector<uint32_t> code_points;
  for (uint32_t c = 0; c < 128; ++c)
    if (ascii[c]) code_points.push_back(c);
  for (uint32_t word = 0; word < seen.size(); ++word)
    for (uint64_t bits = seen[word]; bits != 0; bits &= bits - 1)
      code_points.push_back(word * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)));
  return code_points;
}

}  // namespace

int utf8_decode_slow(const uint8_t* p, size_t n, uint32_t& code_point) {
  const uint8_t lead = p[0];
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  int len;
  uint32_t cp;
  if (lead < 0xC2) return 0;  // a continuation byte, or C0/C1 (always overlong)
  if (lead < 0xE0) {
    len = 2, cp = lead & 0x1Fu;
  } else if (lead < 0xF0) {
    len = 3, cp = lead & 0x0Fu;
  } else if (lead < 0xF5) {
    len = 4, cp = lead & 0x07u;
  } else {
    return 0;  // F5..FF would encode beyond U+10FFFF
  }
  if (n < static_cast<size_t>(len)) return 0;
  for (int k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3Fu);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > kMaxCodePoint)) return 0;
  code_point = cp;
  return len;
}

std::string utf8_encode(uint32_t cp) {
  RECUR_CHECK(is_scalar_value(cp), "utf8_encode: expected a Unicode scalar value, got 0x{:x}", cp);
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

std::string describe_code_point(uint32_t cp) {
  std::string shown;
  if (cp < 0x20 || cp == 0x7F) {
    shown = fmt::format("\\x{:02x}", cp);
  } else if ((cp >= 0x80 && cp < 0xA0) || !is_scalar_value(cp)) {
    shown = fmt::format("\\u{{{:x}}}", cp);
  } else {
    shown = utf8_encode(cp);
  }
  return fmt::format("'{}' (U+{:04X})", shown, cp);
}

Vocabulary Vocabulary::bytes() {
  return Vocabulary();
}

Vocabulary Vocabulary::chars_of(const MappedFile& corpus) {
  return chars(collect_code_points(reinterpret_cast<const uint8_t*>(corpus.data()), corpus.size(),
                                   fmt::format("corpus '{}'", corpus.path())));
}

Vocabulary Vocabulary::chars_of(std::string_view corpus) {
  return chars(collect_code_points(reinterpret_cast<const uint8_t*>(corpus.data()), corpus.size(),
                                   "the text"));
}

Vocabulary Vocabulary::chars(std::vector<uint32_t> code_points) {
  RECUR_CHECK(!code_points.empty(),
              "character vocabulary: expected at least one code point, got none");
  for (size_t i = 0; i < code_points.size(); ++i) {
    RECUR_CHECK(is_scalar_value(code_points[i]),
                "character vocabulary: code point {} is 0x{:x}, expected a Unicode scalar value "
                "(0..0x10FFFF, no surrogates)",
                i, code_points[i]);
    RECUR_CHECK(i == 0 || code_points[i - 1] < code_points[i],
                "character vocabulary: expected strictly ascending code points, got U+{:04X} "
                "after U+{:04X} at index {}",
                code_points[i], code_points[i - 1], i);
  }
  Vocabulary v;
  v.bytes_ = false;
  v.code_points_ = std::move(code_points);
  const uint32_t dense = std::min(v.code_points_.back() + 1, kDenseLimit);
  v.dense_ids_.assign(dense, -1);
  for (size_t id = 0; id < v.code_points_.size() && v.code_points_[id] < dense; ++id)
    v.dense_ids_[v.code_points_[id]] = static_cast<int32_t>(id);
  v.separator_ = v.id_of(kRecordSeparator);
  return v;
}

int64_t Vocabulary::id_of_sparse(uint32_t code_point) const {
  auto it = std::lower_bound(code_points_.begin(), code_points_.end(), code_point);
  if (it == code_points_.end() || *it != code_point) return -1;
  return it - code_points_.begin();
}

std::vector<int64_t> Vocabulary::encode(std::string_view utf8) const {
  const auto* p = reinterpret_cast<const uint8_t*>(utf8.data());
  const size_t n = utf8.size();
  std::vector<int64_t> ids;
  ids.reserve(n);
  if (bytes_) {
    for (size_t i = 0; i < n; ++i) ids.push_back(p[i]);
    return ids;
  }
  for (size_t i = 0; i < n;) {
    uint32_t cp = 0;
    const int len = utf8_decode(p + i, n - i, cp);
    RECUR_CHECK(len > 0, "cannot encode the text: invalid UTF-8 at byte {} (0x{:02x})", i, p[i]);
    const int64_t id = id_of(cp);
    RECUR_CHECK(id >= 0, "symbol {} is not in the vocabulary of {} characters",
                describe_code_point(cp), size());
    ids.push_back(id);
    i += static_cast<size_t>(len);
  }
  return ids;
}

std::string Vocabulary::decode(int64_t id) const {
  RECUR_CHECK(id >= 0 && id < size(), "cannot decode token id {}: the vocabulary has {} {}", id,
              size(), bytes_ ? "bytes (ids 0..255)" : "characters");
  if (bytes_) return std::string(1, static_cast<char>(static_cast<uint8_t>(id)));
  return utf8_encode(code_points_[static_cast<size_t>(id)]);
}

nlohmann::json Vocabulary::to_json() const {
  if (bytes_) return {{"kind", "bytes"}};
  return {{"kind", "chars"}, {"code_points", code_points_}};
}

Vocabulary Vocabulary::from_json(const nlohmann::json& json) {
  RECUR_CHECK(json.is_object(), "vocabulary JSON: expected an object, got {}", json.type_name());
  RECUR_CHECK(json.contains("kind") && json["kind"].is_string(),
              "vocabulary JSON: expected a string \"kind\" (\"bytes\" or \"chars\"), got {}",
              json.dump());
  const std::string kind = json["kind"].get<std::string>();
  if (kind == "bytes") {
    RECUR_CHECK(!json.contains("code_points"),
                "vocabulary JSON: a \"bytes\" vocabulary takes no \"code_points\"");
    return bytes();
  }
  RECUR_CHECK(kind == "chars", "vocabulary JSON: expected kind \"bytes\" or \"chars\", got \"{}\"",
              kind);
  RECUR_CHECK(json.contains("code_points") && json["code_points"].is_array(),
              "vocabulary JSON: a \"chars\" vocabulary needs an array \"code_points\"");
  const nlohmann::json& array = json["code_points"];
  std::vector<uint32_t> code_points;
  code_points.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    const nlohmann::json& v = array[i];
    RECUR_CHECK(
        v.is_number_integer() && v.get<int64_t>() >= 0 && is_scalar_value(v.get<uint64_t>()),
        "vocabulary JSON: code_points[{}] is {}, expected a Unicode scalar value "
        "(an integer in 0..1114111, no surrogates)",
        i, v.dump());
    code_points.push_back(v.get<uint32_t>());
  }
  return chars(std::move(code_points));
}

}  // namespace recur
