// Tests for TbpttBatcher. The property harness derives, from the file's bytes alone, what each
// row must see over its shard (every input token once, in order, with the token after it in the
// file as target, and where documents start) and checks every batch of several passes against it:
// chunks never cross an RS, stop early only where a document ends, reset exactly at shard starts,
// after each RS and at wraps, padding is (0, -1), epochs count completed passes. Run over byte
// and character vocabularies with multi-byte UTF-8, shards starting mid-document, documents
// shorter and longer than T, corpora without RS, B = 1 and T = 1. Then: an exact hand-worked
// example, the errors for tiny ranges, resuming from state(), and the cost of next().
#include "datasets/tbptt_batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
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

// ---------------------------------------------------------------- the reference, from the bytes

struct FileToken {
  int64_t offset;
  int64_t id;
  bool separator;
};

// The tokens of text[begin, end): one per byte, or one per UTF-8 sequence (its width read off
// the lead byte) with the id the vocabulary gives it.
std::vector<FileToken> tokens_of(const std::string& text, TextRange range, const Vocabulary& v) {
  std::vector<FileToken> out;
  for (int64_t p = range.begin; p < range.end;) {
    const auto lead = static_cast<uint8_t>(text[p]);
    const int64_t width = v.is_bytes()  ? 1
                          : lead < 0x80 ? 1
                          : lead < 0xE0 ? 2
                          : lead < 0xF0 ? 3
                                        : 4;
    const std::string symbol = text.substr(p, width);
    const int64_t id = v.is_bytes() ? lead : v.encode(symbol).at(0);
    out.push_back({p, id, symbol == kRS});
    p += width;
  }
  return out;
}

// One step a row must emit: an input, its target, and whether a document (or the shard) starts
// at it / ends after it.
struct Step {
  int64_t input;
  int64_t target;
  bool starts;
  bool ends;
};

// A row's steps over one pass of its shard: every token that is not RS and has a successor in
// the shard is an input, with that successor as target.
std::vector<Step> steps_of(const std::vector<FileToken>& shard) {
  std::vector<Step> steps;
  for (size_t i = 0; i + 1 < shard.size(); ++i) {
    if (shard[i].separator) continue;
    const bool starts = i == 0 || shard[i - 1].separator;
    const bool ends = shard[i + 1].separator || i + 2 == shard.size();
    steps.push_back({shard[i].id, shard[i + 1].id, starts, ends});
  }
  return steps;
}

// Shard bounds computed independently of the batcher: r*len/B snapped past UTF-8 continuation
// bytes.
std::vector<TextRange> expected_shards(const std::string& text, TextRange range, int64_t B,
                                       bool bytes) {
  std::vector<int64_t> bounds;
  for (int64_t r = 0; r <= B; ++r) {
    int64_t p = range.begin + r * range.bytes() / B;
    while (!bytes && p < range.end && (static_cast<uint8_t>(text[p]) & 0xC0) == 0x80) ++p;
    bounds.push_back(p);
  }
  std::vector<TextRange> shards;
  for (int64_t r = 0; r < B; ++r) shards.push_back({bounds[r], bounds[r + 1]});
  return shards;
}

// Reads batches until every row has made `passes` passes (plus a few batches more) and checks
// each against the reference.
void check_batches(const TextCorpus& corpus, const std::string& text, TextRange range, int64_t B,
                   int64_t T, int passes = 2) {
  TbpttBatcher batcher(corpus, range, B, T);
  const std::vector<TextRange> shards = batcher.shards();
  EXPECT_EQ(shards, expected_shards(text, range, B, corpus.vocabulary().is_bytes()));
  std::vector<std::vector<Step>> steps(B);
  for (int64_t b = 0; b < B; ++b) {
    steps[b] = steps_of(tokens_of(text, shards[b], corpus.vocabulary()));
    EXPECT_FALSE(steps[b].empty());
  }
  std::vector<size_t> at(B, 0);          // each row's position in its steps
  std::vector<int64_t> completed(B, 0);  // each row's completed passes
  int64_t batches = 0, extra = 3;
  while (*std::min_element(completed.begin(), completed.end()) < passes || extra-- > 0) {
    const TextBatch batch = batcher.next();
    ++batches;
    EXPECT_EQ(batch.inputs.shape(), (Shape{B, T}));
    EXPECT_EQ(batch.targets.shape(), (Shape{B, T}));
    EXPECT_EQ(batch.lengths.shape(), (Shape{B}));
    EXPECT_EQ(batch.inputs.dtype(), DType::i64);
    EXPECT_EQ(batch.targets.dtype(), DType::i64);
    EXPECT_EQ(batch.lengths.dtype(), DType::i64);
    EXPECT_EQ(batch.reset.size(), static_cast<size_t>(B));
    const int64_t* inputs = batch.inputs.data<int64_t>();
    const int64_t* targets = batch.targets.data<int64_t>();
    const int64_t* lengths = batch.lengths.data<int64_t>();
    int64_t tokens = 0;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t L = lengths[b];
      tokens += L;
      EXPECT_GE(L, 1);
      EXPECT_LE(L, T);
      const std::vector<Step>& s = steps[b];
      // A chunk starts a document exactly when it must reset.
      EXPECT_EQ(batch.reset[b], s[at[b]].starts ? 1 : 0) << "row " << b << " batch " << batches;
      for (int64_t t = 0; t < T; ++t) {
        const int64_t i = b * T + t;
        if (t >= L) {
          EXPECT_EQ(inputs[i], 0);
          EXPECT_EQ(targets[i], -1);
          continue;
        }
        ASSERT_LT(at[b] + t, s.size()) << "row " << b << " runs past the end of its shard";
        const Step& step = s[at[b] + t];
        ASSERT_EQ(inputs[i], step.input) << "row " << b << " batch " << batches << " t " << t;
        ASSERT_EQ(targets[i], step.target) << "row " << b << " batch " << batches << " t " << t;
        if (t + 1 < L) {
          EXPECT_FALSE(step.ends) << "a chunk crosses the end of a document";
        }
      }
      // A chunk stops early only where its document ends.
      if (L < T) {
        EXPECT_TRUE(s[at[b] + L - 1].ends);
      }
      at[b] += static_cast<size_t>(L);
      if (at[b] == s.size()) {
        at[b] = 0;
        ++completed[b];
      }
    }
    EXPECT_EQ(batch.tokens, tokens);
    EXPECT_EQ(batcher.rows_epochs(), completed);
    EXPECT_EQ(batcher.epoch(), *std::min_element(completed.begin(), completed.end()));
  }
}

class TbpttTest : public ::testing::Test {
 protected:
  std::string file(const std::string& bytes) {
    const std::string path = dir_.file("corpus" + std::to_string(files_++) + ".txt");
    write_text_file(path, bytes);
    return path;
  }
  ScratchDir dir_{"tbptt"};
  int files_ = 0;
};

// ---------------------------------------------------------------- properties

TEST_F(TbpttTest, ByteCorporaOfShortAndLongDocuments) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    for (int max_len : {3, 40}) {
      const std::string text = testing::random_corpus(seed, 60, max_len, testing::ascii_pool());
      TextCorpus corpus(file(text));
      for (int64_t B : {1, 3, 8})
        for (int64_t T : {1, 2, 5, 16}) {
          SCOPED_TRACE(::testing::Message()
                       << "seed " << seed << " max_len " << max_len << " B " << B << " T " << T);
          check_batches(corpus, text, corpus.all(), B, T);
        }
    }
  }
}

TEST_F(TbpttTest, ByteVocabularyOverMultiByteText) {
  const std::string text = testing::random_corpus(11, 40, 20, testing::multibyte_pool());
  TextCorpus corpus(file(text));  // é, 中, 😀 are 2-4 byte tokens each here
  for (int64_t B : {1, 5})
    for (int64_t T : {1, 7}) check_batches(corpus, text, corpus.all(), B, T);
}

TEST_F(TbpttTest, CharVocabularyWithMultiByteCharacters) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    for (int max_len : {2, 30}) {
      const std::string text = testing::random_corpus(seed, 50, max_len, testing::multibyte_pool());
      TextCorpus corpus = TextCorpus::with_char_vocabulary(file(text));
      ASSERT_EQ(corpus.vocabulary().size(), 8);  // the 7 symbols and RS
      for (int64_t B : {1, 4, 9})
        for (int64_t T : {1, 3, 12}) {
          SCOPED_TRACE(::testing::Message()
                       << "seed " << seed << " max_len " << max_len << " B " << B << " T " << T);
          check_batches(corpus, text, corpus.all(), B, T);
        }
    }
  }
}

TEST_F(TbpttTest, ShardsStartMidDocumentAndMidCharacter) {
  // Long documents of 3- and 4-byte characters: most shard cuts fall inside a document, many
  // inside a UTF-8 sequence.
  const std::string text =
      testing::random_corpus(5, 6, 60, {"\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xc3\xa9", "z"});
  TextCorpus corpus = TextCorpus::with_char_vocabulary(file(text));
  TbpttBatcher batcher(corpus, corpus.all(), 7, 4);
  int mid_document = 0;
  for (const TextRange& shard : batcher.shards()) {
    EXPECT_TRUE(corpus.is_token_boundary(shard.begin));
    if (shard.begin > 0 && text[shard.begin - 1] != kRS[0]) ++mid_document;
  }
  EXPECT_GE(mid_document, 4);
  check_batches(corpus, text, corpus.all(), 7, 4, 3);
}

TEST_F(TbpttTest, CorpusWithoutSeparators) {
  std::string text = testing::random_corpus(3, 1, 200, testing::multibyte_pool(), false);
  text += "end";
  ASSERT_EQ(text.find(kRS), std::string::npos);
  TextCorpus bytes(file(text));
  TextCorpus chars = TextCorpus::with_char_vocabulary(file(text));
  EXPECT_EQ(chars.vocabulary().separator(), -1);
  for (int64_t B : {1, 4})
    for (int64_t T : {1, 8, 64}) {
      check_batches(bytes, text, bytes.all(), B, T);
      check_batches(chars, text, chars.all(), B, T);
    }
}

TEST_F(TbpttTest, CorpusWithoutFinalSeparatorAndSubRanges) {
  const std::string text = testing::random_corpus(9, 30, 12, testing::multibyte_pool(), false);
  TextCorpus corpus = TextCorpus::with_char_vocabulary(file(text));
  auto [train, val] = corpus.split(0.3);
  check_batches(corpus, text, train, 3, 5);
  check_batches(corpus, text, val, 2, 5);
  check_batches(corpus, text, val, 1, 1);
}

TEST_F(TbpttTest, SeparatorRunsAndLoneSeparators) {
  // Empty documents everywhere, including at shard starts and at the very start.
  const std::string text =
      kRS + kRS + "ab" + kRS + kRS + kRS + "c" + kRS + "d" + kRS + kRS + "efg" + kRS + kRS + "h";
  TextCorpus corpus(file(text));
  for (int64_t B : {1, 2, 3})
    for (int64_t T : {1, 2, 3}) check_batches(corpus, text, corpus.all(), B, T, 3);
}

// ---------------------------------------------------------------- an exact example

TEST_F(TbpttTest, HandWorkedExample) {
  // tokens: a b RS c RS RS d e f  (f ends the shard without RS: only a target)
  TextCorpus corpus(file("ab" + kRS + "c" + kRS + kRS + "def"));
  TbpttBatcher batcher(corpus, corpus.all(), 1, 2);
  struct Expected {
    std::vector<double> inputs, targets;
    int64_t length;
    uint8_t reset;
    int64_t epoch;
  };
  const std::vector<Expected> expected = {
      {{'a', 'b'}, {'b', 0x1E}, 2, 1, 0},
      {{'c', 0}, {0x1E, -1}, 1, 1, 0},
      {{'d', 'e'}, {'e', 'f'}, 2, 1, 1},   // the pass completes with this batch
      {{'a', 'b'}, {'b', 0x1E}, 2, 1, 1},  // the wrap resets
  };
  for (const Expected& e : expected) {
    const TextBatch batch = batcher.next();
    EXPECT_EQ(batch.inputs.to_vector(), e.inputs);
    EXPECT_EQ(batch.targets.to_vector(), e.targets);
    EXPECT_EQ(batch.lengths.item({0}), e.length);
    EXPECT_EQ(batch.reset[0], e.reset);
    EXPECT_EQ(batch.tokens, e.length);
    EXPECT_EQ(batcher.epoch(), e.epoch);
  }
  // A document longer than T continues without reset.
  TextCorpus longer(file("abcde" + kRS));
  TbpttBatcher two(longer, longer.all(), 1, 2);
  EXPECT_EQ(two.next().inputs.to_vector(), (std::vector<double>{'a', 'b'}));
  const TextBatch second = two.next();
  EXPECT_EQ(second.inputs.to_vector(), (std::vector<double>{'c', 'd'}));
  EXPECT_EQ(second.targets.to_vector(), (std::vector<double>{'d', 'e'}));
  EXPECT_EQ(second.reset[0], 0);
  const TextBatch third = two.next();
  EXPECT_EQ(third.inputs.to_vector(), (std::vector<double>{'e', 0}));
  EXPECT_EQ(third.targets.to_vector(), (std::vector<double>{0x1E, -1}));
  EXPECT_EQ(third.reset[0], 0);
  EXPECT_EQ(two.epoch(), 1);
}

// ---------------------------------------------------------------- errors

TEST_F(TbpttTest, TinyRangesAndBadArguments) {
  TextCorpus corpus(file("0123456789"));
  expect_error([&] { TbpttBatcher b(corpus, corpus.all(), 64, 8); },
               {"range of 10 bytes is too small for B=64 streams"});
  expect_error([&] { TbpttBatcher b(corpus, corpus.all(), 6, 8); },
               {"too small for B=6 streams", "stream 0 gets bytes [0, 1)"});
  TbpttBatcher five(corpus, corpus.all(), 5, 8);  // 2 bytes per shard: one input each
  EXPECT_EQ(five.next().tokens, 5);
  expect_error([&] { TbpttBatcher b(corpus, {3, 4}, 1, 8); }, {"range of 1 bytes"});
  expect_error([&] { TbpttBatcher b(corpus, {0, 0}, 1, 8); }, {"non-empty range"});
  expect_error([&] { TbpttBatcher b(corpus, {0, 11}, 1, 8); }, {"within [0, 10)", "got [0, 11)"});
  expect_error([&] { TbpttBatcher b(corpus, {-1, 5}, 1, 8); }, {"got [-1, 5)"});
  expect_error([&] { TbpttBatcher b(corpus, corpus.all(), 0, 8); }, {"got B=0 T=8"});
  expect_error([&] { TbpttBatcher b(corpus, corpus.all(), 2, 0); }, {"got B=2 T=0"});

  TextCorpus separators(file("a" + kRS + kRS + kRS + kRS + "bc"));
  expect_error([&] { TbpttBatcher b(separators, separators.all(), 3, 4); },
               {"too small for B=3 streams", "stream 1 gets bytes [2, 4)"});

  TextCorpus chars =
      TextCorpus::with_char_vocabulary(file("a\xe4\xb8\xad"
                                            "b"));
  expect_error([&] { TbpttBatcher b(chars, {2, 5}, 1, 4); }, {"token boundaries"});
  expect_error([&] { TbpttBatcher b(chars, {0, 3}, 1, 4); }, {"token boundaries"});
}

TEST_F(TbpttTest, ACorpusErrorLeavesTheBatcherWhereItWas) {
  const std::string path = file("abab" + kRS + "ab\xe4\xb8\xad" + "ab" + kRS);
  TextCorpus corpus(path, Vocabulary::chars_of("ab\x1e"));  // 中 is not in the vocabulary
  TbpttBatcher batcher(corpus, corpus.all(), 1, 8);
  batcher.next();
  const nlohmann::json before = batcher.state();
  expect_error([&] { batcher.next(); }, {"symbol '\xe4\xb8\xad' (U+4E2D) at byte 7"});
  EXPECT_EQ(batcher.state(), before);
}

// ---------------------------------------------------------------- resume

TEST_F(TbpttTest, RestoreResumesExactly) {
  const std::string text = testing::random_corpus(21, 40, 25, testing::multibyte_pool());
  TextCorpus corpus = TextCorpus::with_char_vocabulary(file(text));
  const int64_t B = 4, T = 6;
  TbpttBatcher uninterrupted(corpus, corpus.all(), B, T);
  std::vector<TextBatch> batches;
  std::vector<nlohmann::json> states;
  for (int k = 0; k < 60; ++k) {
    states.push_back(uninterrupted.state());
    batches.push_back(uninterrupted.next());
  }
  EXPECT_GE(uninterrupted.epoch(), 1) << "the test should cover a wrap";
  for (size_t k : {size_t{0}, size_t{1}, size_t{7}, size_t{30}, size_t{59}}) {
    TbpttBatcher resumed(corpus, corpus.all(), B, T);
    resumed.restore(nlohmann::json::parse(states[k].dump()));
    EXPECT_EQ(resumed.state(), states[k]);
    for (size_t j = k; j < batches.size(); ++j) {
      const TextBatch batch = resumed.next();
      ASSERT_EQ(batch.inputs.to_vector(), batches[j].inputs.to_vector()) << k << " " << j;
      ASSERT_EQ(batch.targets.to_vector(), batches[j].targets.to_vector());
      ASSERT_EQ(batch.lengths.to_vector(), batches[j].lengths.to_vector());
      ASSERT_EQ(batch.reset, batches[j].reset);
      ASSERT_EQ(batch.tokens, batches[j].tokens);
    }
    EXPECT_EQ(resumed.state(), uninterrupted.state());
    EXPECT_EQ(resumed.rows_epochs(), uninterrupted.rows_epochs());
  }
}

TEST_F(TbpttTest, RestoreRejectsForeignOrBrokenStates) {
  const std::string text = "abc" + kRS + "de\xe4\xb8\xad" + "fg" + kRS + "hij" + kRS;
  TextCorpus corpus = TextCorpus::with_char_vocabulary(file(text));
  TbpttBatcher batcher(corpus, corpus.all(), 2, 3);
  batcher.next();
  const nlohmann::json good = batcher.state();
  const nlohmann::json fresh = TbpttBatcher(corpus, corpus.all(), 2, 3).state();
  auto edited = [&](auto edit) {
    nlohmann::json s = good;
    edit(s);
    return s;
  };
  auto rejects = [&](const nlohmann::json& s, std::initializer_list<std::string> fragments) {
    TbpttBatcher b(corpus, corpus.all(), 2, 3);
    expect_error([&] { b.restore(s); }, fragments);
    EXPECT_EQ(b.state(), fresh) << "a failed restore must change nothing";
  };
  rejects(nlohmann::json::array(), {"expected an object"});
  rejects(edited([](auto& s) { s["version"] = 2; }), {"expected version 1, got 2"});
  rejects(edited([](auto& s) { s.erase("version"); }), {"\"version\"", "got none"});
  rejects(edited([](auto& s) { s["corpus_bytes"] = 5; }), {"corpus of 5 bytes", "has 16 bytes"});
  rejects(edited([](auto& s) { s["vocabulary"] = "bytes"; }), {"\"bytes\" vocabulary"});
  rejects(edited([](auto& s) { s["vocabulary_size"] = 256; }), {"of 256 symbols"});
  rejects(edited([](auto& s) { s["range"] = {0, 10}; }), {"range [0,10]", "range [0,16]"});
  rejects(edited([](auto& s) { s["batch"] = 3; }), {"B=3 T=3, this batcher has B=2 T=3"});
  rejects(edited([](auto& s) { s["bptt"] = "3"; }), {"integer \"bptt\"", "got \"3\""});
  rejects(edited([](auto& s) { s["rows"].erase(1); }), {"\"rows\" of 2 rows"});
  rejects(edited([](auto& s) { s["rows"][0]["epochs"] = -1; }), {"rows[0] has -1 epochs"});
  rejects(edited([](auto& s) { s["rows"][1]["reset"] = 1; }), {"boolean \"reset\" in rows[1]"});
  // Row 1 owns [9, 16): "\xe4\xb8\xad" is at 6..8, in row 0's shard [0, 9).
  rejects(edited([](auto& s) { s["rows"][0]["cursor"] = 7; }),
          {"rows[0] has cursor 7", "token boundary in its shard [0, 9)"});
  rejects(edited([](auto& s) { s["rows"][0]["cursor"] = 9; }), {"rows[0] has cursor 9"});
  rejects(edited([](auto& s) { s["rows"][0]["cursor"] = 3; }),
          {"cursor 3, which is not the start of an input"});  // an RS
  rejects(edited([](auto& s) { s["rows"][1]["cursor"] = 15; }),
          {"rows[1] has cursor 15, which is not"});  // the final RS
}

}  // namespace
}  // namespace recur
