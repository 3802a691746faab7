#include "datasets/series_columns.h"

#include "core/error.h"

namespace recur {

size_t series_length(const SeriesColumns& columns, size_t features, const char* what) {
  RECUR_CHECK(columns.size() == features && !columns.empty(),
              "{}: expected {} feature column(s), got {}", what, features, columns.size());
  for (const auto& c : columns)
    RECUR_CHECK(c.size() == columns[0].size(),
                "{}: expected columns of one length, got {} and {} values", what, c.size(),
                columns[0].size());
  return columns[0].size();
}

SeriesColumns read_series_columns(const std::string& path, std::vector<std::string>& names) {
  if (names.empty()) names.emplace_back();
  SeriesColumns columns;
  for (std::string& name : names) {
    TimeSeries series = read_time_series(path, name);
    name = series.column;
    columns.push_back(std::move(series.values));
  }
  return columns;
}

SeriesColumns series_steps(const SeriesColumns& columns, size_t begin, size_t end) {
  SeriesColumns out;
  for (const auto& c : columns) {
    RECUR_CHECK(begin <= end && end <= c.size(),
                "series_steps: expected a range within the {} steps, got [{}, {})", c.size(), begin,
                end);
    out.emplace_back(c.begin() + static_cast<ptrdiff_t>(begin),
                     c.begin() + static_cast<ptrdiff_t>(end));
  }
  return out;
}

std::vector<SeriesScaling> fit_scalings(const SeriesColumns& columns, bool difference) {
  std::vector<SeriesScaling> scaling;
  for (const auto& c : columns) scaling.push_back(SeriesScaling::fit(c, difference));
  return scaling;
}

std::vector<double> model_rows(const std::vector<SeriesScaling>& scaling,
                               const SeriesColumns& columns) {
  const size_t F = scaling.size();
  series_length(columns, F, "model_rows");
  std::vector<double> rows;
  for (size_t f = 0; f < F; ++f) {
    const std::vector<double> z = scaling[f].to_model(columns[f]);
    if (rows.empty()) rows.resize(z.size() * F);
    for (size_t i = 0; i < z.size(); ++i) rows[i * F + f] = z[i];
  }
  return rows;
}

void check_feature_scaling(const std::vector<SeriesScaling>& scaling,
                           const std::vector<std::string>& columns, int64_t features,
                           const char* what) {
  RECUR_CHECK(features >= 1 && static_cast<int64_t>(scaling.size()) == features,
              "{}: expected a scaling for each of its {} features, got {}", what, features,
              scaling.size());
  for (const SeriesScaling& s : scaling)
    RECUR_CHECK(s.difference == scaling.front().difference,
                "{}: expected first differences of every feature or of none", what);
  RECUR_CHECK(columns.empty() || static_cast<int64_t>(columns.size()) == features,
              "{}: expected a column name for each of its {} features, got {}", what, features,
              columns.size());
}

nlohmann::json scalings_to_json(const std::vector<SeriesScaling>& scaling) {
  if (scaling.size() == 1) return scaling[0].to_json();
  nlohmann::json out = nlohmann::json::array();
  for (const SeriesScaling& s : scaling) out.push_back(s.to_json());
  return out;
}

std::vector<SeriesScaling> scalings_from_json(const nlohmann::json& j) {
  std::vector<SeriesScaling> out;
  if (j.is_array())
    for (const nlohmann::json& s : j) out.push_back(SeriesScaling::from_json(s));
  else
    out.push_back(SeriesScaling::from_json(j));
  return out;
}

}  // namespace recur
