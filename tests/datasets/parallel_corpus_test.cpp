// datasets/parallel_corpus.h: reading SOURCE<TAB>TARGET lines, the errors for malformed files,
// and the token layout of a batch; datasets/length_buckets.h: every item once, batches of
// similar length.
#include "datasets/parallel_corpus.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "datasets/length_buckets.h"
#include "support/expect_error.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using testing::expect_error;

std::string write(const testing::ScratchDir& dir, const std::string& name,
                  const std::string& bytes) {
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(ParallelCorpus, ReadsPairsLineByLine) {
  testing::ScratchDir dir("recur_parallel");
  const auto pairs =
      read_parallel_corpus(write(dir, "a.tsv", "Open file\tDatei öffnen\nQuit\tBeenden"));
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].source, "Open file");
  EXPECT_EQ(pairs[0].target, "Datei öffnen");
  EXPECT_EQ(pairs[1].target, "Beenden") << "a last line without newline";
}

TEST(ParallelCorpus, NamesTheLineOfEveryMalformedPair) {
  testing::ScratchDir dir("recur_parallel");
  expect_error([&] { read_parallel_corpus(write(dir, "e.tsv", "")); }, "the file is empty");
  expect_error([&] { read_parallel_corpus(write(dir, "n.tsv", "a\tb\nno tab\n")); },
               {"n.tsv: line 2", "exactly one TAB, got none"});
  expect_error([&] { read_parallel_corpus(write(dir, "t.tsv", "a\tb\tc\n")); },
               {"line 1", "got more"});
  expect_error([&] { read_parallel_corpus(write(dir, "s.tsv", "\tb\n")); }, "the source is empty");
  expect_error([&] { read_parallel_corpus(write(dir, "g.tsv", "a\t\n")); }, "the target is empty");
  expect_error([&] { read_parallel_corpus(write(dir, "c.tsv", "a\tb\r\n")); },
               {"line 1", "target holds control character 0x0d at byte 1"});
  expect_error([&] { read_parallel_corpus(dir.file("missing.tsv")); }, "missing.tsv");
}

TEST(ParallelCorpus, BatchesHoldBosTargetsEosAndPadding) {
  const std::vector<TranslationPair> pairs = {{"ab", "xyz"}, {"cde", "w"}};
  const TranslationBatch b = make_translation_batch(pairs, {1, 0});
  EXPECT_EQ(b.source.shape(), (Shape{2, 3}));
  EXPECT_EQ(b.source.to_vector(), (std::vector<double>{'c', 'd', 'e', 'a', 'b', 0}));
  EXPECT_EQ(b.source_lengths.to_vector(), (std::vector<double>{3, 2}));
  EXPECT_EQ(b.target_in.to_vector(), (std::vector<double>{kBos, 'w', 0, 0, kBos, 'x', 'y', 'z'}));
  EXPECT_EQ(b.target_out.to_vector(),
            (std::vector<double>{'w', kEos, kIgnoredTarget, kIgnoredTarget, 'x', 'y', 'z', kEos}));
  EXPECT_EQ(b.target_lengths.to_vector(), (std::vector<double>{2, 4}));
  EXPECT_EQ(b.target_tokens, 6);
  expect_error([&] { make_translation_batch(pairs, {2}); }, "pair 2 of a corpus of 2");
  expect_error([&] { make_translation_batch(pairs, {}); }, "at least one pair");
}

TEST(LengthBuckets, EveryItemOnceInBatchesOfSimilarLength) {
  std::vector<int64_t> items(100);
  for (int64_t i = 0; i < 100; ++i) items[i] = i;
  auto length = [](int64_t i) { return (i * 37) % 50; };
  const auto batches = length_buckets(items, length, 8, 5);
  EXPECT_EQ(batches.size(), 13u);
  std::multiset<int64_t> seen;
  for (const auto& batch : batches) {
    seen.insert(batch.begin(), batch.end());
    for (size_t k = 1; k < batch.size(); ++k) EXPECT_LE(length(batch[k - 1]), length(batch[k]));
  }
  EXPECT_EQ(seen, std::multiset<int64_t>(items.begin(), items.end()));
  EXPECT_EQ(length_buckets(items, length, 8, 5), batches) << "one seed, one order";
  EXPECT_NE(length_buckets(items, length, 8, 6), batches);
}

}  // namespace
}  // namespace recur
