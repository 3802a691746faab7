// Time series (datasets/time_series.h): the CSV reader and its errors, the scaling into the
// model's space and back, and the training windows.
#include "datasets/time_series.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "support/expect_error.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using testing::expect_error;

std::string write_file(const testing::ScratchDir& dir, const std::string& bytes) {
  const std::string path = dir.file("series.csv");
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(TimeSeries, ReadsTheLastColumnByDefaultAndANamedOne) {
  testing::ScratchDir dir("recur_series");
  // Quoted header names (statsmodels' sunspots.csv), CRLF, spaces and a trailing blank line.
  const std::string path =
      write_file(dir, "\"YEAR\",\"SUNACTIVITY\"\r\n1700, 5\r\n1701,11\r\n1702,1.6e1\r\n\r\n");
  const TimeSeries last = read_time_series(path);
  EXPECT_EQ(last.column, "SUNACTIVITY");
  EXPECT_EQ(last.values, (std::vector<double>{5, 11, 16}));
  const TimeSeries year = read_time_series(path, "YEAR");
  EXPECT_EQ(year.column, "YEAR");
  EXPECT_EQ(year.values, (std::vector<double>{1700, 1701, 1702}));
}

TEST(TimeSeries, BadFilesNameTheLineAndWhatWasExpected) {
  testing::ScratchDir dir("recur_series");
  expect_error([&] { read_time_series(dir.file("missing.csv")); }, {"missing.csv", "CSV"});
  expect_error([&] { read_time_series(write_file(dir, "")); }, "empty file");
  expect_error([&] { read_time_series(write_file(dir, "date,co2\n1,2\n2,3\n"), "CO2"); },
               {"series.csv:1", "no column 'CO2'"});
  // statsmodels' weekly co2 has empty values: an error, never a silent zero or skip.
  expect_error([&] { read_time_series(write_file(dir, "date,co2\n1,316.1\n2,\n3,317\n")); },
               {"series.csv:3", "column 'co2'", "finite number"});
  for (const char* bad : {"NA", "nan", "inf", "1e999", "3.5x", "--1"})
    expect_error(
        [&] { read_time_series(write_file(dir, std::string("t,v\n1,2\n2,") + bad + "\n")); },
        {"series.csv:3", std::string("'") + bad + "'"});
  expect_error([&] { read_time_series(write_file(dir, "t,v,w\n1,2,3\n2,3\n"), "w"); },
               {"series.csv:3", "expected 3 comma-separated fields"});
  expect_error([&] { read_time_series(write_file(dir, "t,v\n1,2\n")); }, "at least 2 values");
}

TEST(SeriesScaling, StandardisesValuesOrDifferencesAndInverts) {
  const std::vector<double> v{1, 3, 4, 8};
  const SeriesScaling level = SeriesScaling::fit(v, false);
  EXPECT_DOUBLE_EQ(level.mean, 4.0);
  EXPECT_DOUBLE_EQ(level.scale, std::sqrt((9 + 1 + 0 + 16) / 4.0));
  const std::vector<double> z = level.to_model(v);
  ASSERT_EQ(z.size(), 4u);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(level.next_value(123.0, z[i]), v[i], 1e-12);

  const SeriesScaling diff = SeriesScaling::fit(v, true);  // differences 2, 1, 4
  EXPECT_DOUBLE_EQ(diff.mean, 7.0 / 3.0);
  const std::vector<double> dz = diff.to_model(v);
  ASSERT_EQ(dz.size(), 3u);
  for (size_t i = 1; i < v.size(); ++i) {
    EXPECT_NEAR(diff.next_value(v[i - 1], dz[i - 1]), v[i], 1e-12);
    EXPECT_DOUBLE_EQ(diff.model_value(v[i - 1], v[i]), dz[i - 1]);
  }
  // A constant series scales by 1, not by 0.
  EXPECT_EQ(SeriesScaling::fit({2, 2, 2}, false).scale, 1.0);
  expect_error([] { SeriesScaling::fit({5}, true); }, "at least 2 values");

  const SeriesScaling back = SeriesScaling::from_json(diff.to_json());
  EXPECT_EQ(back.difference, true);
  EXPECT_EQ(back.mean, diff.mean);
  EXPECT_EQ(back.scale, diff.scale);
  expect_error(
      [] {
        SeriesScaling::from_json({{"difference", false}, {"mean", 0}, {"scale", 0}});
      },
      "positive scale");
}

TEST(SeriesWindows, TargetsAreTheInputsOneStepLaterAndReproducible) {
  std::vector<double> z(40);
  for (size_t i = 0; i < z.size(); ++i) z[i] = static_cast<double>(i);
  const SeriesBatch a = series_windows(z, 10, 64, 7, 3, DType::f64);
  ASSERT_EQ(a.x.shape(), (Shape{64, 10, 1}));
  ASSERT_EQ(a.y.shape(), (Shape{64, 10, 1}));
  bool first_start = false, last_start = false;
  for (int64_t b = 0; b < 64; ++b) {
    const double s = a.x.item({b, 0, 0});
    EXPECT_GE(s, 0);
    EXPECT_LE(s, 29);  // the window's target z[s+10] must exist
    first_start |= s == 0;
    last_start |= s == 29;
    for (int64_t t = 0; t < 10; ++t) {
      EXPECT_EQ(a.x.item({b, t, 0}), s + static_cast<double>(t));
      EXPECT_EQ(a.y.item({b, t, 0}), s + static_cast<double>(t) + 1);
    }
  }
  EXPECT_TRUE(first_start || last_start) << "64 draws over 30 starts reach neither end";
  const SeriesBatch again = series_windows(z, 10, 64, 7, 3, DType::f64);
  EXPECT_EQ(again.x.to_vector(), a.x.to_vector());
  EXPECT_NE(series_windows(z, 10, 64, 7, 4, DType::f64).x.to_vector(), a.x.to_vector());
  EXPECT_EQ(series_windows(z, 39, 2, 1, 1).x.item({1, 0, 0}), 0.0);  // one start only
  expect_error([&] { series_windows(z, 40, 2, 1, 1); }, "needs at least 41 training values");

  // Rows of two features (z[2r] = r, z[2r+1] = -r): whole rows, the same starts as one feature.
  std::vector<double> rows;
  for (int r = 0; r < 40; ++r) rows.insert(rows.end(), {double(r), -double(r)});
  const SeriesBatch two = series_windows(rows, 10, 64, 7, 3, DType::f64, 2);
  ASSERT_EQ(two.x.shape(), (Shape{64, 10, 2}));
  for (int64_t b = 0; b < 64; ++b)
    for (int64_t t = 0; t < 10; ++t) {
      EXPECT_EQ(two.x.item({b, t, 0}), a.x.item({b, t, 0}));
      EXPECT_EQ(two.x.item({b, t, 1}), -a.x.item({b, t, 0}));
      EXPECT_EQ(two.y.item({b, t, 1}), -a.y.item({b, t, 0}));
    }
  expect_error(
      [&] {
        series_windows({1, 2, 3}, 1, 1, 1, 1, DType::f32, 2);
      },
      "rows of 2 features, got 3 values");
}

}  // namespace
}  // namespace recur
