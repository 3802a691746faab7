// Tests for TextCorpus: the errors for missing, empty and binary files; reading byte and
// multi-byte character tokens through cursors; token and document boundaries; the split.
#include "datasets/text_corpus.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "support/scratch_dir.h"
#include "text_fixtures.h"

namespace recur {
namespace {

using testing::expect_error;
using testing::kRS;
using testing::ScratchDir;
using testing::write_text_file;

const std::string kE = "\xc3\xa9";             // é
const std::string kZhong = "\xe4\xb8\xad";     // 中
const std::string kGrin = "\xf0\x9f\x98\x80";  // 😀

class TextCorpusTest : public ::testing::Test {
 protected:
  std::string file(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.file(name);
    write_text_file(path, bytes);
    return path;
  }
  ScratchDir dir_{"corpus"};
};

TEST_F(TextCorpusTest, MissingFileNamesThePathAndTheReason) {
  const std::string path = dir_.file("nope.txt");
  expect_error([&] { TextCorpus corpus(path); }, {path, "No such file or directory"});
  expect_error([&] { TextCorpus::with_char_vocabulary(path); }, {path, "No such file"});
}

TEST_F(TextCorpusTest, EmptyFileIsAnError) {
  const std::string path = file("empty.txt", "");
  expect_error([&] { TextCorpus corpus(path); }, {"corpus '" + path + "' is empty"});
  expect_error([&] { TextCorpus::with_char_vocabulary(path); }, {"is empty"});
}

TEST_F(TextCorpusTest, BinaryFilesAreRejected) {
  const std::string nul = file("nul.bin", std::string("abc\0def", 7));
  expect_error([&] { TextCorpus corpus(nul); }, {"looks binary", "NUL byte at offset 3"});
  expect_error([&] { TextCorpus::with_char_vocabulary(nul); }, {"looks binary"});

  std::string noise;
  for (int i = 0; i < 4096; ++i) noise += static_cast<char>(0x80 + (i * 37) % 128);
  const std::string binary = file("noise.bin", noise);
  expect_error([&] { TextCorpus corpus(binary); },
               {"looks binary", "of its first 4096 bytes are not valid UTF-8"});
}

TEST_F(TextCorpusTest, AFewInvalidBytesPassAsBytesButNotAsChars) {
  // 1 invalid byte in 200: Latin-1 debris a byte model can read, a char model cannot.
  const std::string path =
      file("mostly.txt", std::string(150, 'a') + "\xe9" + std::string(49, 'b'));
  TextCorpus bytes(path);
  EXPECT_EQ(bytes.bytes(), 200);
  expect_error([&] { TextCorpus corpus(path, Vocabulary::chars_of("ab")); },
               {"not valid UTF-8 at byte 150", "0xe9"});
  expect_error([&] { TextCorpus::with_char_vocabulary(path); }, {"not valid UTF-8 at byte 150"});
}

TEST_F(TextCorpusTest, InvalidUtf8BeyondTheFirstMiBIsReportedWhereItIsRead) {
  const int64_t bad = (int64_t{1} << 20) + 5;
  const std::string path = file("late.txt", std::string(bad, 'a') + "\xff" + "aaa");
  expect_error([&] { TextCorpus::with_char_vocabulary(path); },
               {"not valid UTF-8 at byte " + std::to_string(bad)});
  TextCorpus corpus(path, Vocabulary::chars_of("a"));  // opening reads the first MiB only
  int64_t cursor = bad - 1;
  EXPECT_EQ(corpus.next(cursor).id, 0);
  expect_error([&] { corpus.next(cursor); }, {"not valid UTF-8 at byte " + std::to_string(bad)});
}

TEST_F(TextCorpusTest, NextReadsByteTokens) {
  const std::string text = "a" + kE + kRS + "b";
  TextCorpus corpus(file("t.txt", text));
  EXPECT_EQ(corpus.bytes(), 5);
  EXPECT_EQ(corpus.text(corpus.all()), text);
  int64_t cursor = 0;
  std::vector<int64_t> ids;
  std::vector<bool> separators;
  while (cursor < corpus.bytes()) {
    const Token token = corpus.next(cursor);
    ids.push_back(token.id);
    separators.push_back(token.separator);
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{'a', 0xC3, 0xA9, 0x1E, 'b'}));
  EXPECT_EQ(separators, (std::vector<bool>{false, false, false, true, false}));
}

TEST_F(TextCorpusTest, NextReadsMultiByteCharacters) {
  const std::string text = "a" + kE + kZhong + kRS + kGrin + "b";
  TextCorpus corpus = TextCorpus::with_char_vocabulary(file("t.txt", text));
  const Vocabulary& v = corpus.vocabulary();
  EXPECT_EQ(v, Vocabulary::chars_of(text));
  int64_t cursor = 0;
  std::vector<int64_t> ids, cursors;
  while (cursor < corpus.bytes()) {
    const Token token = corpus.next(cursor);
    EXPECT_EQ(token.separator, token.id == v.separator());
    ids.push_back(token.id);
    cursors.push_back(cursor);
  }
  EXPECT_EQ(ids, v.encode(text));
  EXPECT_EQ(cursors, (std::vector<int64_t>{1, 3, 6, 7, 11, 12}));
}

TEST_F(TextCorpusTest, NextNamesASymbolOutsideTheVocabulary) {
  const std::string path = file("t.txt", "ab" + kZhong + "a");
  TextCorpus corpus(path, Vocabulary::chars_of("ab"));
  int64_t cursor = 2;
  expect_error([&] { corpus.next(cursor); }, {path, "symbol '\xe4\xb8\xad' (U+4E2D) at byte 2",
                                              "not in the vocabulary of 2 characters"});
  EXPECT_EQ(cursor, 2);
  TextCorpus ascii(file("u.txt", "abc"), Vocabulary::chars_of("ab"));
  cursor = 2;
  expect_error([&] { ascii.next(cursor); }, {"symbol 'c' (U+0063) at byte 2"});
}

TEST_F(TextCorpusTest, TokenBoundaries) {
  const std::string text = "a" + kE + kGrin;  // lead bytes at 0, 1, 3; size 7
  TextCorpus chars = TextCorpus::with_char_vocabulary(file("c.txt", text));
  std::vector<int64_t> snapped;
  for (int64_t i = -1; i <= 8; ++i) snapped.push_back(chars.token_boundary_at_or_after(i));
  EXPECT_EQ(snapped, (std::vector<int64_t>{0, 0, 1, 3, 3, 7, 7, 7, 7, 7}));
  EXPECT_TRUE(chars.is_token_boundary(3));
  EXPECT_FALSE(chars.is_token_boundary(4));
  EXPECT_TRUE(chars.is_token_boundary(7));
  expect_error([&] { chars.is_token_boundary(8); }, {"offset 8 is outside [0, 7]"});
  TextCorpus bytes(dir_.file("c.txt"));
  EXPECT_TRUE(bytes.is_token_boundary(4));
  EXPECT_EQ(bytes.token_boundary_at_or_after(4), 4);
}

TEST_F(TextCorpusTest, DocumentStarts) {
  // documents start at 0, 3, 4 (after a lone RS) and 7; the final RS at 9 starts nothing
  const std::string text = "ab" + kRS + kRS + "cd" + kRS + "ef" + kRS;
  TextCorpus corpus(file("d.txt", text));
  EXPECT_EQ(corpus.document_start_at_or_after(0, 10), 0);
  EXPECT_EQ(corpus.document_start_at_or_after(1, 10), 3);
  EXPECT_EQ(corpus.document_start_at_or_after(3, 10), 3);
  EXPECT_EQ(corpus.document_start_at_or_after(4, 10), 4);
  EXPECT_EQ(corpus.document_start_at_or_after(5, 10), 7);
  EXPECT_EQ(corpus.document_start_at_or_after(5, 7), -1);  // limit is exclusive
  EXPECT_EQ(corpus.document_start_at_or_after(5, 8), 7);
  EXPECT_EQ(corpus.document_start_at_or_after(8, 10), -1);
  EXPECT_EQ(corpus.document_start_at_or_after(10, 10), -1);
}

TEST_F(TextCorpusTest, SplitSnapsValidationToADocumentStart) {
  std::string text;
  for (int d = 0; d < 10; ++d) text += std::string(9, static_cast<char>('a' + d)) + kRS;
  TextCorpus corpus(file("s.txt", text));  // 100 bytes, documents start every 10
  auto [train, val] = corpus.split(0.25);  // raw start 75 -> 80
  EXPECT_EQ(train, (TextRange{0, 80}));
  EXPECT_EQ(val, (TextRange{80, 100}));
  std::tie(train, val) = corpus.split(0.3);  // raw start 70 is a document start
  EXPECT_EQ(val, (TextRange{70, 100}));
  // The last RS (byte 99) starts no document: the start falls back to a token boundary.
  std::tie(train, val) = corpus.split(0.05);
  EXPECT_EQ(val, (TextRange{95, 100}));
}

TEST_F(TextCorpusTest, SplitWithoutSeparatorsSnapsToATokenBoundary) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += kZhong;  // 60 bytes
  TextCorpus corpus = TextCorpus::with_char_vocabulary(file("z.txt", text));
  auto [train, val] = corpus.split(0.1);  // raw start 54 is a lead byte
  EXPECT_EQ(val, (TextRange{54, 60}));
  std::tie(train, val) = corpus.split(0.12);  // raw start 53 -> 54
  EXPECT_EQ(train, (TextRange{0, 54}));
  EXPECT_EQ(val, (TextRange{54, 60}));
}

TEST_F(TextCorpusTest, SplitErrors) {
  TextCorpus one(file("one.txt", "a"));
  expect_error([&] { one.split(0.5); }, {"of 1 bytes is too small to split off 0.5"});
  TextCorpus corpus(file("c.txt", "abcdef"));
  for (double bad : {0.0, 1.0, -0.1, 1.5, std::nan("")})
    expect_error([&] { corpus.split(bad); }, {"validation fraction in (0, 1)"});
  expect_error([&] { corpus.split(0.01); }, {"too small"});  // rounds to no validation bytes
  TextCorpus wide = TextCorpus::with_char_vocabulary(file("w.txt", "a" + kGrin));
  expect_error([&] { wide.split(0.5); }, {"too small"});  // snaps to the end: nothing left
}

}  // namespace
}  // namespace recur
