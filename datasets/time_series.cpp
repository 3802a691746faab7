#include "datasets/time_series.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.h"
#include "core/philox.h"
#include "datasets/csv.h"

namespace recur {

TimeSeries read_time_series(const std::string& path, const std::string& column) {
  std::ifstream in(path, std::ios::binary);
  RECUR_CHECK(in.good(), "{}: cannot open the time series (expected a CSV file)", path);
  TimeSeries series{path, column, {}};
  std::string line;
  int64_t line_no = 0;
  int64_t index = -1;  // of the series' column
  size_t header_fields = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    const std::vector<std::string_view> fields = split_csv_fields(line);
    if (index < 0) {  // the header
      header_fields = fields.size();
      if (column.empty()) {
        index = static_cast<int64_t>(fields.size()) - 1;
        series.column = std::string(fields.back());
      } else {
        for (size_t i = 0; i < fields.size() && index < 0; ++i)
          if (fields[i] == column) index = static_cast<int64_t>(i);
        RECUR_CHECK(index >= 0, "{}:{}: no column '{}' in the header '{}'", path, line_no, column,
                    line);
      }
      continue;
    }
    RECUR_CHECK(static_cast<int64_t>(fields.size()) > index,
                "{}:{}: expected {} comma-separated fields like the header, got {}: '{}'", path,
                line_no, header_fields, fields.size(), line);
    double value = 0.0;
    const std::string_view text = fields[static_cast<size_t>(index)];
    RECUR_CHECK(parse_finite(text, value),
                "{}:{}: column '{}' holds '{}', expected a finite number (fill or drop missing "
                "values first)",
                path, line_no, series.column, text);
    series.values.push_back(value);
  }
  RECUR_CHECK(!in.bad(), "{}: read error after line {}", path, line_no);
  RECUR_CHECK(index >= 0, "{}: empty file; expected a header line and values", path);
  RECUR_CHECK(series.values.size() >= 2, "{}: expected at least 2 values in column '{}', got {}",
              path, series.column, series.values.size());
  return series;
}

SeriesScaling SeriesScaling::fit(const std::vector<double>& values, bool difference) {
  SeriesScaling s;
  s.difference = difference;
  s.mean = 0.0;
  s.scale = 1.0;
  const std::vector<double> d = s.to_model(values);
  RECUR_CHECK(!d.empty(), "series scaling: expected at least {} values, got {}", difference ? 2 : 1,
              values.size());
  double sum = 0.0;
  for (double v : d) sum += v;
  s.mean = sum / static_cast<double>(d.size());
  double squares = 0.0;
  for (double v : d) squares += (v - s.mean) * (v - s.mean);
  const double sd = std::sqrt(squares / static_cast<double>(d.size()));
  s.scale = sd > 0.0 ? sd : 1.0;
  return s;
}

std::vector<double> SeriesScaling::to_model(const std::vector<double>& values) const {
  std::vector<double> z;
  const size_t first = difference ? 1 : 0;
  if (values.size() <= first) return z;
  z.reserve(values.size() - first);
  for (size_t i = first; i < values.size(); ++i)
    z.push_back(model_value(i > 0 ? values[i - 1] : 0.0, values[i]));
  return z;
}

nlohmann::json SeriesScaling::to_json() const {
  return {{"difference", difference}, {"mean", mean}, {"scale", scale}};
}

SeriesScaling SeriesScaling::from_json(const nlohmann::json& j) {
  SeriesScaling s;
  try {
    s.difference = j.at("difference").get<bool>();
    s.mean = j.at("mean").get<double>();
    s.scale = j.at("scale").get<double>();
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("series scaling {}: {}", j.dump(), e.what());
  }
  RECUR_CHECK(std::isfinite(s.mean) && std::isfinite(s.scale) && s.scale > 0.0,
              "series scaling {}: expected a finite mean and a positive scale", j.dump());
  return s;
}

SeriesBatch series_windows(const std::vector<double>& z, int64_t window, int64_t batch,
                           uint64_t seed, uint64_t index, DType dtype, int64_t features) {
  const int64_t F = features;
  RECUR_CHECK(F >= 1 && static_cast<int64_t>(z.size()) % F == 0,
              "series_windows: expected rows of {} features, got {} values", F, z.size());
  const auto n = static_cast<int64_t>(z.size()) / F;
  RECUR_CHECK(window >= 1 && batch >= 1, "series_windows: expected window, batch >= 1, got {}, {}",
              window, batch);
  RECUR_CHECK(n >= window + 1,
              "series_windows: a window of {} needs at least {} training values, got {}", window,
              window + 1, n);
  const int64_t starts = n - window;  // s in [0, n - W - 1]
  std::vector<double> x(static_cast<size_t>(batch * window * F)), y(x.size());
  for (int64_t b = 0; b < batch; ++b) {
    const double u = philox_uniform(seed, static_cast<uint32_t>(index),
                                    static_cast<uint32_t>(index >> 32), static_cast<uint64_t>(b));
    const int64_t s = std::min(starts - 1, static_cast<int64_t>(u * static_cast<double>(starts)));
    std::copy_n(z.begin() + s * F, window * F, x.begin() + b * window * F);  // rows s .. s+W-1
    std::copy_n(z.begin() + (s + 1) * F, window * F, y.begin() + b * window * F);
  }
  return {Tensor::from_vector(x, {batch, window, F}).to(dtype),
          Tensor::from_vector(y, {batch, window, F}).to(dtype)};
}

}  // namespace recur
