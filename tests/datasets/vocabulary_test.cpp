// Tests for Vocabulary and the UTF-8 coding: the byte and character vocabularies, encoding and
// decoding, the invalid-UTF-8 and unknown-symbol errors, and the validated JSON form.
#include "datasets/vocabulary.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "support/scratch_dir.h"
#include "text_fixtures.h"

namespace recur {
namespace {

using testing::expect_error;
using testing::ScratchDir;

const std::string kE = "\xc3\xa9";             // é  U+00E9
const std::string kZhong = "\xe4\xb8\xad";     // 中 U+4E2D
const std::string kGrin = "\xf0\x9f\x98\x80";  // 😀 U+1F600

TEST(Vocabulary, BytesIsTheDefault) {
  const Vocabulary v;
  EXPECT_TRUE(v.is_bytes());
  EXPECT_EQ(v.size(), 256);
  EXPECT_EQ(v.separator(), 0x1E);
  EXPECT_EQ(v, Vocabulary::bytes());
  EXPECT_EQ(v.encode("a" + kE), (std::vector<int64_t>{97, 0xC3, 0xA9}));
  EXPECT_EQ(v.decode(0xC3), "\xc3");
  EXPECT_EQ(v.decode(0), std::string(1, '\0'));
  expect_error([&] { v.decode(256); }, {"token id 256", "256 bytes"});
  expect_error([&] { v.decode(-1); }, {"token id -1"});
}

TEST(Vocabulary, CharsOfSortsCodePointsAndFindsTheSeparator) {
  const std::string text = "b" + kZhong + "a" + kGrin + kE + "\x1e" + "a\n";
  const Vocabulary v = Vocabulary::chars_of(text);
  EXPECT_FALSE(v.is_bytes());
  EXPECT_EQ(v.code_points(), (std::vector<uint32_t>{0x0A, 0x1E, 'a', 'b', 0xE9, 0x4E2D, 0x1F600}));
  EXPECT_EQ(v.size(), 7);
  EXPECT_EQ(v.separator(), 1);
  EXPECT_EQ(v.id_of(0x4E2D), 5);
  EXPECT_EQ(v.id_of(0x1F600), 6);  // beyond the dense table: binary search
  EXPECT_EQ(v.id_of('z'), -1);
  EXPECT_EQ(v.id_of(0x1F601), -1);
  const std::vector<int64_t> ids = v.encode(text);
  EXPECT_EQ(ids, (std::vector<int64_t>{3, 5, 2, 6, 4, 1, 2, 0}));
  std::string round_trip;
  for (int64_t id : ids) round_trip += v.decode(id);
  EXPECT_EQ(round_trip, text);
  EXPECT_EQ(Vocabulary::chars_of("abc").separator(), -1);
}

TEST(Vocabulary, CharsOfMappedFileEqualsCharsOfItsText) {
  ScratchDir dir("vocab");
  const std::string text =
      testing::random_corpus(7, 50, 30, testing::multibyte_pool()) + "\t~" + testing::kRS;
  testing::write_text_file(dir.file("c.txt"), text);
  MappedFile file(dir.file("c.txt"));
  EXPECT_EQ(Vocabulary::chars_of(file), Vocabulary::chars_of(text));
}

TEST(Vocabulary, InvalidUtf8NamesTheByteOffset) {
  expect_error(
      [] {
        Vocabulary::chars_of(
            "ab\xff"
            "cd");
      },
      {"not valid UTF-8 at byte 2", "0xff"});
  expect_error([] { Vocabulary::chars_of("a\xc0\x80"); }, {"at byte 1"});         // overlong
  expect_error([] { Vocabulary::chars_of("ab\xed\xa0\x80"); }, {"at byte 2"});    // surrogate
  expect_error([] { Vocabulary::chars_of("abc\xe4\xb8"); }, {"at byte 3"});       // cut short
  expect_error([] { Vocabulary::chars_of("\xf4\x90\x80\x80"); }, {"at byte 0"});  // > U+10FFFF
  expect_error([] { Vocabulary::chars_of("a\x80"); }, {"at byte 1"});  // stray continuation
  expect_error([] { Vocabulary::chars_of(""); }, {"got 0 bytes"});
  const Vocabulary v = Vocabulary::chars_of("abc");
  expect_error([&] { v.encode("ab\xe4\xb8"); }, {"invalid UTF-8 at byte 2"});
}

TEST(Vocabulary, EncodeNamesAnUnknownSymbol) {
  std::string text;
  for (int c = 33; c < 33 + 87; ++c) text += static_cast<char>(c);
  const Vocabulary v = Vocabulary::chars_of(text);
  ASSERT_EQ(v.size(), 87);
  try {
    v.encode("ab" + kE);
    FAIL() << "expected recur::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "symbol '\xc3\xa9' (U+00E9) is not in the vocabulary of 87 characters");
  }
  expect_error([&] { v.encode("\x1e"); }, {"'\\x1e' (U+001E)"});
  expect_error([&] { v.encode(kGrin); }, {"(U+1F600)"});
}

TEST(Vocabulary, Utf8DecodeInvertsEncodeForEveryScalarValue) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const std::string bytes = utf8_encode(cp);
    uint32_t decoded = 0;
    const int len =
        utf8_decode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), decoded);
    ASSERT_EQ(len, static_cast<int>(bytes.size())) << cp;
    ASSERT_EQ(decoded, cp);
    // A sequence cut short is invalid.
    if (bytes.size() > 1) {
      ASSERT_EQ(
          utf8_decode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size() - 1, decoded),
          0);
    }
  }
  EXPECT_EQ(utf8_encode(0xE9), kE);
  EXPECT_EQ(utf8_encode(0x4E2D), kZhong);
  EXPECT_EQ(utf8_encode(0x1F600), kGrin);
  expect_error([] { utf8_encode(0xD800); }, {"scalar value"});
  expect_error([] { utf8_encode(0x110000); }, {"scalar value"});
}

TEST(Vocabulary, JsonRoundTrips) {
  const Vocabulary bytes = Vocabulary::bytes();
  EXPECT_EQ(bytes.to_json(), nlohmann::json({{"kind", "bytes"}}));
  EXPECT_EQ(Vocabulary::from_json(bytes.to_json()), bytes);
  const Vocabulary chars = Vocabulary::chars_of("ab" + kZhong + kGrin + "\x1e");
  const nlohmann::json j = chars.to_json();
  EXPECT_EQ(j["kind"], "chars");
  EXPECT_EQ(j["code_points"], nlohmann::json({0x1E, 'a', 'b', 0x4E2D, 0x1F600}));
  const Vocabulary back = Vocabulary::from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(back, chars);
  EXPECT_EQ(back.separator(), 0);
  EXPECT_EQ(back.id_of(0x1F600), 4);
}

TEST(Vocabulary, FromJsonRejectsMalformedInput) {
  using nlohmann::json;
  expect_error([] { Vocabulary::from_json(json::array()); }, {"expected an object"});
  expect_error([] { Vocabulary::from_json(json::object()); }, {"\"kind\""});
  expect_error([] { Vocabulary::from_json({{"kind", "words"}}); }, {"got \"words\""});
  expect_error([] { Vocabulary::from_json({{"kind", "chars"}}); }, {"\"code_points\""});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "chars"}, {"code_points", json::array()}});
      },
      {"at least one code point"});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "chars"}, {"code_points", {98, 97}}});
      },
      {"strictly ascending", "index 1"});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "chars"}, {"code_points", {97, 97}}});
      },
      {"strictly ascending"});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "chars"}, {"code_points", {97, 0xD800}}});
      },
      {"code_points[1]", "scalar value"});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "chars"}, {"code_points", {-1}}});
      },
      {"code_points[0] is -1"});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "chars"}, {"code_points", {0x110000}}});
      },
      {"code_points[0]"});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "chars"}, {"code_points", {"a"}}});
      },
      {"code_points[0] is \"a\""});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "chars"}, {"code_points", {97.5}}});
      },
      {"code_points[0] is 97.5"});
  expect_error(
      [] {
        Vocabulary::from_json({{"kind", "bytes"}, {"code_points", {97}}});
      },
      {"takes no"});
}

}  // namespace
}  // namespace recur
