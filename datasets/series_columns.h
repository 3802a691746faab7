// Several time series observed together (`recur forecast --column a,b`, `recur anomaly --column
// a,b`): one column per feature, each read like a univariate series (datasets/time_series.h),
// scaled on its own, and interleaved into the rows a model reads ([steps][features]).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/time_series.h"

namespace recur {

// A series of F features observed together: columns[f][i] is feature f at time i; every column
// has the same length n.
using SeriesColumns = std::vector<std::vector<double>>;

// The columns' common length; throws naming `what` unless there are `features` (>= 1) columns
// of one length.
size_t series_length(const SeriesColumns& columns, size_t features, const char* what);

// Reads the columns `names` of the CSV at `path` (none named: the last column) by
// read_time_series; on return `names` holds the header names read.
SeriesColumns read_series_columns(const std::string& path, std::vector<std::string>& names);

// Steps [begin, end) of every column.
SeriesColumns series_steps(const SeriesColumns& columns, size_t begin, size_t end);

// One SeriesScaling per column, fitted on it.
std::vector<SeriesScaling> fit_scalings(const SeriesColumns& columns, bool difference);

// The model-space rows of `columns` by the per-feature `scaling`: [m][F] row-major, m = n - 1
// with first differences, else n. Throws unless there is one scaling per column and the columns
// have one length.
std::vector<double> model_rows(const std::vector<SeriesScaling>& scaling,
                               const SeriesColumns& columns);

// Throws, naming the model (`what`), unless there is one scaling per feature (at least one), all
// in first differences or none, and one column name per feature or none (unrecorded).
void check_feature_scaling(const std::vector<SeriesScaling>& scaling,
                           const std::vector<std::string>& columns, int64_t features,
                           const char* what);

// A checkpoint's "scaling": one object for one feature (as before there were more), else an
// array with one object per feature. from_json reads both.
nlohmann::json scalings_to_json(const std::vector<SeriesScaling>& scaling);
std::vector<SeriesScaling> scalings_from_json(const nlohmann::json& j);

}  // namespace recur
