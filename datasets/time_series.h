// A univariate time series for `recur forecast` and `recur anomaly` (which reads one per
// feature): read from a CSV file, moved into the space the model works in (optionally first
// differences, then standardised), and cut into training windows.
//
// CSV: a header line naming the columns, then one observation per line, comma-separated (double
// quotes around a header name are dropped); one column is the series, the others (dates) are
// ignored. Every value of that column must be a finite number: missing values are an error
// naming the line, never silently filled.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "datasets/sine_mixture.h"

namespace recur {

struct TimeSeries {
  std::string path;
  std::string column;  // the header name of the series' column
  std::vector<double> values;
};

// Reads `column` of the CSV at `path` ("": the last column). Throws recur::Error naming the file
// and line for: a missing or empty file, an unknown column, a line with too few fields, a value
// that is not a finite number ("", "NA", "nan", "1e999"); and when there are fewer than 2 values.
TimeSeries read_time_series(const std::string& path, const std::string& column = "");

// The map between values and the model's space. With `difference`, the model sees first
// differences d_t = v_t - v_{t-1} (a trend becomes a level); either way standardised:
// z = (d - mean) / scale, with mean and scale those of the training part.
struct SeriesScaling {
  bool difference = false;
  double mean = 0.0;
  double scale = 1.0;

  // Fits mean and scale (the standard deviation; 1 for a constant) on `values`, which needs at
  // least 2 values with difference, 1 without.
  static SeriesScaling fit(const std::vector<double>& values, bool difference);
  // values [n] -> z [n - 1] with difference, [n] without.
  std::vector<double> to_model(const std::vector<double>& values) const;
  // The model-space value of `value`, observed after `previous`.
  double model_value(double previous, double value) const {
    return ((difference ? value - previous : value) - mean) / scale;
  }
  // The value after `last` when the model predicts z.
  double next_value(double last, double z) const {
    return (difference ? last : 0.0) + z * scale + mean;
  }

  nlohmann::json to_json() const;
  static SeriesScaling from_json(const nlohmann::json& j);
};

// `batch` training windows of `window` consecutive model-space values z: x [B,W,F] =
// z[s .. s+W-1], y [B,W,F] = z[s+1 .. s+W], with every start s drawn uniformly from
// [0, m - W - 1] by Philox(seed, index): a pure function of its arguments. z holds m rows of
// `features` values each, row-major ([m][F]; one feature: the series itself).
SeriesBatch series_windows(const std::vector<double>& z, int64_t window, int64_t batch,
                           uint64_t seed, uint64_t index, DType dtype = DType::f32,
                           int64_t features = 1);

}  // namespace recur
