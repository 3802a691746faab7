// LabelledCorpus (datasets/labelled_corpus.h): the LABEL<TAB>TEXT format, its errors, the
// stratified split, the batches a classifier reads, and documents cut into windows.
#include "datasets/labelled_corpus.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "support/expect_error.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using testing::expect_error;

TEST(LabelledCorpus, ReadsLabelsAndTextsWithSortedLabelNames) {
  testing::ScratchDir dir("recur_labelled");
  // The last document has no RS: accepted. A TAB inside the text belongs to the text.
  const std::string path =
      dir.write("c.txt", "spam\tBuy now\x1eham\tMeeting at 3\tpm\x1espam\tFree!");
  const LabelledCorpus corpus(path);
  ASSERT_EQ(corpus.labels(), (std::vector<std::string>{"ham", "spam"}));
  ASSERT_EQ(corpus.size(), 3);
  EXPECT_EQ(corpus[0].label, 1);
  EXPECT_EQ(corpus[0].text, "Buy now");
  EXPECT_EQ(corpus[0].offset, 5);
  EXPECT_EQ(corpus[1].label, 0);
  EXPECT_EQ(corpus[1].text, "Meeting at 3\tpm");
  EXPECT_EQ(corpus[2].text, "Free!");
  EXPECT_EQ(corpus.count_per_label(), (std::vector<int64_t>{1, 2}));
  // A model's label order is kept, even where it is not sorted.
  const LabelledCorpus ordered(path, {"spam", "ham"});
  EXPECT_EQ(ordered[0].label, 0);
  EXPECT_EQ(ordered[1].label, 1);
}

TEST(LabelledCorpus, MalformedFilesNameTheDocumentAndWhatWasExpected) {
  testing::ScratchDir dir("recur_labelled");
  expect_error([&] { LabelledCorpus(dir.write("empty.txt", "")); },
               {"empty.txt", "expected a labelled corpus", "empty file"});
  expect_error([&] { LabelledCorpus(dir.write("notab.txt", "a\tx\x1eno tab here\x1e")); },
               {"notab.txt", "document 2 (byte 4)", "expected LABEL<TAB>TEXT, found no TAB"});
  expect_error([&] { LabelledCorpus(dir.write("nolabel.txt", "\ttext\x1e")); },
               {"document 1", "expected a label before the TAB"});
  expect_error(
      [&] {
        LabelledCorpus(dir.write("notext.txt",
                                 "a\tx\x1e"
                                 "b\t\x1e"));
      },
      {"document 2", "label 'b'", "expected text after the TAB"});
  expect_error([&] { LabelledCorpus(dir.write("ctrl.txt", "line\nbreak\ttext\x1e")); },
               {"document 1", "without control characters"});
  expect_error([&] { LabelledCorpus(dir.write("long.txt", std::string(65, 'x') + "\tt\x1e")); },
               {"at most 64 bytes, got 65"});
  expect_error(
      [&] {
        LabelledCorpus(dir.write("other.txt", "cat\tmeow\x1e"), {"a", "b"});
      },
      {"label 'cat' is not one of the 2 labels of the model (a, b)"});
  expect_error([&] { LabelledCorpus(dir.file("missing.txt")); }, "missing.txt");
}

TEST(LabelledCorpus, SplitHoldsOutEveryNthDocumentOfEachLabel) {
  testing::ScratchDir dir("recur_labelled");
  std::string bytes;
  for (int i = 0; i < 30; ++i) bytes += std::string(i % 3 == 0 ? "a" : "b") + "\tdoc\x1e";
  const LabelledCorpus corpus(dir.write("c.txt", bytes));
  const LabelledCorpus::Split s = corpus.split(5);
  // 10 documents of a (0, 3, ..., 27) and 20 of b: the 1st, 6th, ... of each label is held out.
  EXPECT_EQ(s.validation, (std::vector<int64_t>{0, 1, 8, 15, 16, 23}));
  EXPECT_EQ(s.train.size() + s.validation.size(), 30u);
  std::vector<int64_t> all = s.train;
  all.insert(all.end(), s.validation.begin(), s.validation.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  expect_error([&] { corpus.split(1); }, "every >= 2");
}

TEST(LabelledCorpus, BatchesTruncatePadAndCarryLengthsAndTargets) {
  testing::ScratchDir dir("recur_labelled");
  const LabelledCorpus corpus(dir.write("c.txt", "y\tabcdef\x1en\tAB\x1ey\t\xff\x01\x1e"));
  const ClassBatch b = corpus.batch({0, 1, 2}, 4);
  ASSERT_EQ(b.inputs.shape(), (Shape{3, 4}));
  EXPECT_EQ(b.inputs.to_vector(),
            (std::vector<double>{'a', 'b', 'c', 'd', 'A', 'B', 0, 0, 255, 1, 0, 0}));
  EXPECT_EQ(b.lengths.to_vector(), (std::vector<double>{4, 2, 2}));
  EXPECT_EQ(b.targets.to_vector(), (std::vector<double>{1, 0, 1}));
  // T is the longest document of the batch, not max_len.
  EXPECT_EQ(corpus.batch({1, 2}, 512).inputs.shape(), (Shape{2, 2}));
  const ClassBatch one = make_text_batch("hello", 3);
  EXPECT_EQ(one.inputs.to_vector(), (std::vector<double>{'h', 'e', 'l'}));
  expect_error([&] { corpus.batch({3}, 4); }, "sequence 3 of");
}

TEST(LabelledCorpus, BucketBatchesCoverEveryDocumentOnceAndRepeatForASeed) {
  testing::ScratchDir dir("recur_labelled");
  std::string bytes;
  for (int i = 0; i < 203; ++i) bytes += "l\t" + std::string(1 + (i * 37) % 90, 'x') + "\x1e";
  const LabelledCorpus corpus(dir.write("c.txt", bytes));
  std::vector<int64_t> docs(203);
  for (int64_t i = 0; i < 203; ++i) docs[static_cast<size_t>(i)] = i;
  const auto batches = bucket_batches(corpus, docs, 8, 64, 7);
  std::vector<int64_t> seen;
  int64_t padded = 0, real = 0;
  for (const auto& b : batches) {
    EXPECT_LE(b.size(), 8u);
    seen.insert(seen.end(), b.begin(), b.end());
    const ClassBatch cb = corpus.batch(b, 64);
    padded += cb.inputs.numel();
    for (double n : cb.lengths.to_vector()) real += static_cast<int64_t>(n);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, docs);
  EXPECT_LT(static_cast<double>(padded), 1.15 * static_cast<double>(real));  // little padding
  EXPECT_EQ(bucket_batches(corpus, docs, 8, 64, 7), batches);
  EXPECT_NE(bucket_batches(corpus, docs, 8, 64, 8), batches);
}

TEST(LabelledCorpus, CutWindowsReadEveryByteAndKeepDocumentsTogether) {
  testing::ScratchDir dir("recur_labelled");
  // d_i: label a or b, text of 3 + i bytes 'A' + i, 'A' + i + 1, ...
  std::string bytes;
  for (int i = 0; i < 12; ++i) {
    bytes += i % 3 == 0 ? "b\t" : "a\t";
    for (int t = 0; t < 3 + i; ++t) bytes += static_cast<char>('A' + i + t);
    bytes += "\x1e";
  }
  LabelledCorpus corpus(dir.write("c.txt", bytes));
  const ClassData::Split by_document = corpus.split(5);
  corpus.cut_windows(4, 3);
  EXPECT_TRUE(corpus.windowed());
  EXPECT_STREQ(corpus.noun(), "windows");
  EXPECT_STREQ(corpus.group_noun(), "documents");
  EXPECT_EQ(corpus.groups(), 12);
  // d0 (3 bytes): one short window; d1 (4): one; d2 (5): @0 @1; d5 (8): @0 @3 @4.
  std::vector<std::string> texts;
  for (int64_t i = 0; i < corpus.size(); ++i)
    if (corpus.group(i) == 0 || corpus.group(i) == 2 || corpus.group(i) == 5)
      texts.emplace_back(corpus[i].text);
  EXPECT_EQ(texts, (std::vector<std::string>{"ABC", "CDEF", "DEFG", "FGHI", "IJKL", "JKLM"}));
  const int64_t last = corpus.size() - 1;  // d11's last window: its last 4 bytes
  EXPECT_EQ(corpus[last].text, "VWXY");
  EXPECT_EQ(corpus[last].label, 0);  // a
  EXPECT_EQ(bytes.substr(static_cast<size_t>(corpus[last].offset), 4), "VWXY");
  EXPECT_EQ(corpus.batch({last}, 4).inputs.to_vector(), (std::vector<double>{'V', 'W', 'X', 'Y'}));
  // Every window of a held-out document is held out, and no other.
  const ClassData::Split by_window = corpus.split(5);
  std::vector<int64_t> held;
  for (int64_t i : by_window.validation)
    if (held.empty() || held.back() != corpus.group(i)) held.push_back(corpus.group(i));
  EXPECT_EQ(held, by_document.validation);
  for (int64_t i : by_window.train)
    EXPECT_EQ(std::count(held.begin(), held.end(), corpus.group(i)), 0);
  EXPECT_EQ(by_window.train.size() + by_window.validation.size(),
            static_cast<size_t>(corpus.size()));
  // An unlabelled text is cut the same way.
  EXPECT_EQ(text_windows("FGHIJKLM", 4, 3),
            (std::vector<std::string_view>{"FGHI", "IJKL", "JKLM"}));
  const ClassBatch windows = make_texts_batch(text_windows("FGHIJ", 4, 4), 4);
  EXPECT_EQ(windows.inputs.to_vector(),
            (std::vector<double>{'F', 'G', 'H', 'I', 'G', 'H', 'I', 'J'}));

  expect_error([&] { corpus.cut_windows(4, 3); }, "already cut");
  LabelledCorpus again(corpus.path());
  expect_error([&] { again.cut_windows(4, 5); },
               "stride in [1, window], got window 4 and stride 5");
}

}  // namespace
}  // namespace recur
