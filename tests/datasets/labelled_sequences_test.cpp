// LabelledSequences (datasets/labelled_sequences.h): the long CSV format of feature sequences,
// its errors, the standardisation, the split and the [B,T,F] batches; and the CSV fields
// (datasets/csv.h) it shares with the time series reader.
#include "datasets/labelled_sequences.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "datasets/csv.h"
#include "support/expect_error.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using testing::expect_error;

// Three sequences: s1 (walk, 3 steps), s2 (sit, 1 step), s3 (walk, 2 steps); features x, y.
constexpr char kThree[] =
    "id,label,x,y\n"
    "s1,walk,1,10\n"
    "s1,walk,2,20\n"
    "s1,walk,3,30\n"
    "s2,sit,4,40\r\n"
    "\n"
    "s3,walk,5,50\n"
    "s3,walk,6,60";  // no final line break

TEST(CsvFields, SplitTrimAndParseFiniteNumbers) {
  EXPECT_EQ(split_csv_fields(" a ,\"b\",,c,"),
            (std::vector<std::string_view>{"a", "b", "", "c", ""}));
  EXPECT_EQ(split_csv_fields("one"), (std::vector<std::string_view>{"one"}));
  double v = 0.0;
  EXPECT_TRUE(parse_finite("1.5", v));
  EXPECT_EQ(v, 1.5);
  EXPECT_TRUE(parse_finite("+4", v));
  EXPECT_EQ(v, 4.0);
  EXPECT_TRUE(parse_finite("-2e3", v));
  EXPECT_EQ(v, -2000.0);
  for (const char* bad : {"", "+", "NA", "nan", "inf", "-inf", "1e999", "1.5x", "1,5", " 1"})
    EXPECT_FALSE(parse_finite(bad, v)) << bad;
}

TEST(LabelledSequences, ReadsSequencesInFileOrderWithSortedLabels) {
  testing::ScratchDir dir("recur_sequences");
  const LabelledSequences data(dir.write("s.csv", kThree));
  EXPECT_EQ(data.labels(), (std::vector<std::string>{"sit", "walk"}));
  EXPECT_EQ(data.features(), (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(data.size(), 3);
  EXPECT_EQ(data.rows(), 6);
  EXPECT_TRUE(data.has_labels());
  EXPECT_EQ(data.id(0), "s1");
  EXPECT_EQ(data.id(2), "s3");
  EXPECT_EQ(data.label(0), 1);
  EXPECT_EQ(data.label(1), 0);
  EXPECT_EQ(data.steps(0), 3);
  EXPECT_EQ(data.steps(1), 1);
  EXPECT_EQ(data.steps(2), 2);
  EXPECT_EQ(data.count_per_label(), (std::vector<int64_t>{1, 2}));
}

TEST(LabelledSequences, BatchesPadTruncateAndStandardise) {
  testing::ScratchDir dir("recur_sequences");
  LabelledSequences data(dir.write("s.csv", kThree));
  const ClassBatch raw = data.batch({2, 1, 0}, 2);  // s1 truncated to 2 steps
  ASSERT_EQ(raw.inputs.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(raw.inputs.dtype(), DType::f32);
  EXPECT_EQ(raw.inputs.to_vector(), (std::vector<double>{5, 50, 6, 60, 4, 40, 0, 0, 1, 10, 2, 20}));
  EXPECT_EQ(raw.lengths.to_vector(), (std::vector<double>{2, 1, 2}));
  EXPECT_EQ(raw.targets.to_vector(), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(data.batch({1}, 8).inputs.shape(), (Shape{1, 1, 2}));  // T: the longest

  // Statistics of s1 and s2 only: x in {1,2,3,4}, y = 10x.
  const Standardisation s = data.fit_standardisation({0, 1});
  const double sd = std::sqrt(1.25);
  ASSERT_EQ(s.mean.size(), 2u);
  EXPECT_DOUBLE_EQ(s.mean[0], 2.5);
  EXPECT_DOUBLE_EQ(s.mean[1], 25.0);
  EXPECT_DOUBLE_EQ(s.std[0], sd);
  EXPECT_DOUBLE_EQ(s.std[1], 10 * sd);
  data.set_standardisation(s);
  const std::vector<double> z = data.batch({2}, 8).inputs.to_vector();
  ASSERT_EQ(z.size(), 4u);
  EXPECT_NEAR(z[0], (5 - 2.5) / sd, 1e-6);
  EXPECT_NEAR(z[1], (50 - 25.0) / (10 * sd), 1e-6);
  EXPECT_NEAR(z[2], (6 - 2.5) / sd, 1e-6);

  // A constant feature gets std 1, not a division by zero.
  const LabelledSequences flat(dir.write("flat.csv", "id,label,c\na,x,7\na,x,7\nb,y,7\n"));
  EXPECT_EQ(flat.fit_standardisation({0, 1}).std, (std::vector<double>{1.0}));
  expect_error([&] { data.set_standardisation({{0.0}, {1.0}}); }, "each of its 2 features");
  expect_error(
      [&] {
        data.set_standardisation({{0.0, 0.0}, {1.0, 0.0}});
      },
      {"feature 'y'", "positive std"});
  expect_error([&] { data.batch({3}, 4); }, "sequence 3 of");
  expect_error([&] { data.batch({0}, 0); }, "max_len >= 1");
}

// An absolute timestamp: a large offset with small steps (float32 spacing at 1.7e9 is 128).
TEST(LabelledSequences, LargeOffsetsKeepTheirDigits) {
  testing::ScratchDir dir("recur_sequences");
  std::string text = "id,label,stamp,x\n";
  constexpr int kRows = 9;
  for (int k = 0; k < kRows; ++k)
    text += fmt::format("{},a,{:.3f},{}\n", k < 5 ? "p" : "q", 1700000000.125 + 0.25 * k, k);
  LabelledSequences data(dir.write("t.csv", text));
  const Standardisation s = data.fit_standardisation({0, 1});
  const double sd = 0.25 * std::sqrt((kRows * kRows - 1) / 12.0);  // of 0.25 k, k in [0, 9)
  EXPECT_DOUBLE_EQ(s.mean[0], 1700000000.125 + 0.25 * 4);
  EXPECT_NEAR(s.std[0], sd, 1e-12);
  EXPECT_NEAR(s.std[1], sd * 4, 1e-12);
  data.set_standardisation(s);
  const std::vector<double> z = data.batch({1}, 8).inputs.to_vector();  // q: k = 5..8
  ASSERT_EQ(z.size(), 8u);
  for (int k = 5; k < kRows; ++k) {
    EXPECT_NEAR(z[2 * (k - 5)], 0.25 * (k - 4) / sd, 1e-6) << k;
    EXPECT_NEAR(z[2 * (k - 5) + 1], z[2 * (k - 5)], 1e-6) << k;  // x = k: the same z
  }
  // Unstandardised, the values are as written, to float32's precision at their size.
  EXPECT_EQ(LabelledSequences(data.path()).batch({0}, 1).inputs.to_vector()[0],
            static_cast<double>(static_cast<float>(1700000000.125)));
}

TEST(LabelledSequences, SplitHoldsOutEveryNthSequenceOfEachLabel) {
  testing::ScratchDir dir("recur_sequences");
  std::string text = "id,label,v\n";
  for (int i = 0; i < 12; ++i)
    text += "q" + std::to_string(i) + "," + (i % 3 == 0 ? "b" : "a") + ",1\n";
  const LabelledSequences data(dir.write("s.csv", text));
  const ClassData::Split s = data.split(5);
  // a: 1 2 4 5 7 8 10 11 -> validation its 1st and 6th, 1 and 8; b: 0 3 6 9 -> its 1st, 0.
  EXPECT_EQ(s.validation, (std::vector<int64_t>{0, 1, 8}));
  EXPECT_EQ(s.train.size(), 9u);
}

// Windows: every step read, the last window ending at the sequence's end; each window keeps its
// sequence's label and group, and the split never puts one sequence's windows on both sides.
TEST(LabelledSequences, CutWindowsKeepSequencesTogether) {
  testing::ScratchDir dir("recur_sequences");
  std::string text = "id,label,v\n";
  for (int i = 0; i < 12; ++i)  // q_i: 3 + i steps, values 100 i + t
    for (int t = 0; t < 3 + i; ++t)
      text += fmt::format("q{},{},{}\n", i, i % 3 == 0 ? "b" : "a", 100 * i + t);
  LabelledSequences data(dir.write("s.csv", text));
  const ClassData::Split by_sequence = data.split(5);
  data.cut_windows(4, 3);
  EXPECT_TRUE(data.windowed());
  EXPECT_STREQ(data.noun(), "windows");
  EXPECT_EQ(data.groups(), 12);
  // q0 (3 steps): one short window; q1 (4): one; q2 (5): @0 @1; q4 (7): @0 @3; q5 (8): @0 @3 @4.
  std::vector<std::string> ids;
  for (int64_t i = 0; i < data.size(); ++i)
    if (data.group(i) <= 5) ids.push_back(data.id(i));
  EXPECT_EQ(ids, (std::vector<std::string>{"q0@0", "q1@0", "q2@0", "q2@1", "q3@0", "q3@2", "q4@0",
                                           "q4@3", "q5@0", "q5@3", "q5@4"}));
  EXPECT_EQ(data.steps(0), 3);
  EXPECT_EQ(data.steps(3), 4);
  EXPECT_EQ(data.sequence_id(data.group(3)), "q2");
  EXPECT_EQ(data.label(4), 1);  // q3: b
  EXPECT_EQ(data.batch({9}, 4).inputs.to_vector(), (std::vector<double>{503, 504, 505, 506}));
  for (int64_t i = 0; i < data.size(); ++i) {  // windows in order, consecutive per sequence
    ASSERT_GE(data.group(i), i == 0 ? 0 : data.group(i - 1));
    EXPECT_EQ(data.id(i).rfind(data.sequence_id(data.group(i)) + "@", 0), 0u) << data.id(i);
  }
  const ClassData::Split by_window = data.split(5);
  std::vector<int64_t> held;  // the sequences of the validation windows
  for (int64_t i : by_window.validation)
    if (held.empty() || held.back() != data.group(i)) held.push_back(data.group(i));
  EXPECT_EQ(held, by_sequence.validation);
  for (int64_t i : by_window.train)
    EXPECT_EQ(std::count(held.begin(), held.end(), data.group(i)), 0) << data.id(i);
  EXPECT_EQ(by_window.train.size() + by_window.validation.size(), static_cast<size_t>(data.size()));

  expect_error([&] { data.cut_windows(4, 3); }, "already cut");
  LabelledSequences again(data.path());
  expect_error([&] { again.cut_windows(4, 5); },
               "stride in [1, window], got window 4 and stride 5");
  expect_error([&] { again.cut_windows(0, 1); }, "window 0");
  expect_error([&] { again.sequence_id(12); }, "sequence 12 of 12");
}

TEST(LabelledSequences, ChosenColumnsAndTheModelsLabels) {
  testing::ScratchDir dir("recur_sequences");
  const std::string path = dir.write("s.csv", "t,kind,x,seq,y\n0,b,1,A,2\n1,b,3,A,4\n0,a,5,B,6\n");
  const LabelledSequences data(path, {"seq", "kind", {"y", "t"}}, {"b", "a"});
  EXPECT_EQ(data.features(), (std::vector<std::string>{"y", "t"}));
  EXPECT_EQ(data.labels(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(data.label(0), 0);
  EXPECT_EQ(data.batch({0}, 9).inputs.to_vector(), (std::vector<double>{2, 0, 4, 1}));
  // Without a label column, given the model's labels: data to predict.
  const LabelledSequences unlabelled(dir.write("u.csv", "id,x\nA,1\nB,2\nB,3\n"),
                                     {"id", "label", {"x"}}, {"a", "b"});
  EXPECT_FALSE(unlabelled.has_labels());
  EXPECT_EQ(unlabelled.size(), 2);
  EXPECT_EQ(unlabelled.steps(1), 2);
  expect_error([&] { LabelledSequences(dir.write("u2.csv", "id,x\nA,1\n")); },
               {"u2.csv:1", "label column 'label'"});
}

TEST(LabelledSequences, MalformedFilesNameTheLineAndWhatWasExpected) {
  testing::ScratchDir dir("recur_sequences");
  auto read = [&](const std::string& text) { LabelledSequences(dir.write("bad.csv", text)); };
  expect_error([&] { read(""); }, {"bad.csv", "empty file"});
  expect_error([&] { read("id,label,x\n"); }, "expected rows after the header");
  expect_error([&] { read("label,x\na,1\n"); }, {"bad.csv:1", "id column 'id'"});
  expect_error([&] { read("id,label\na,b\n"); }, "at least one feature column");
  expect_error([&] { read("id,label,x,x\na,b,1,2\n"); }, "column 'x' appears twice");
  expect_error([&] { read("id,label,x\na,b,1\na,b\n"); },
               {"bad.csv:3", "expected 3 comma-separated fields", "got 2"});
  expect_error([&] { read("id,label,x\na,b,1\na,b,NA\n"); },
               {"bad.csv:3", "column 'x' holds 'NA'", "finite number"});
  expect_error([&] { read("id,label,x\na,b,nan\n"); }, {"bad.csv:2", "'nan'"});
  expect_error([&] { read("id,label,x\n,b,1\n"); }, {"bad.csv:2", "empty id"});
  expect_error([&] { read("id,label,x\na,,1\n"); }, {"bad.csv:2", "empty label"});
  expect_error([&] { read("id,label,x\na,b,1\nc,b,1\na,b,1\n"); },
               {"bad.csv:4", "sequence 'a' continues after other sequences"});
  expect_error([&] { read("id,label,x\na,b,1\na,c,1\n"); },
               {"bad.csv:3", "changes its label from 'b' to 'c'"});
  expect_error(
      [&] {
        LabelledSequences(dir.write("m.csv", "id,label,x\na,z,1\n"), {}, {"a", "b"});
      },
      {"label 'z' is not one of the 2 labels of the model (a, b)"});
  expect_error(
      [&] {
        LabelledSequences(dir.write("f.csv", "id,label,x\na,b,1\n"), {"id", "label", {"y"}});
      },
      {"f.csv:1", "feature column 'y'"});
  expect_error([&] { LabelledSequences(dir.file("missing.csv")); }, "missing.csv");
}

}  // namespace
}  // namespace recur
