// The small CSV dialect of recur's numeric inputs (datasets/time_series.h,
// datasets/labelled_sequences.h): comma-separated fields, spaces and one pair of surrounding
// double quotes dropped from each field, no quoted commas; values are finite decimal numbers.
#pragma once

#include <string_view>
#include <vector>

namespace recur {

// The fields of one line (without its line break), as views into `line`. A trailing comma
// makes a last, empty field.
std::vector<std::string_view> split_csv_fields(std::string_view line);

// Parses the whole of `text` as a finite number ("1.5", "-2e3", "+4"); false for "", "NA",
// "nan", "inf", "1e999" or trailing characters.
bool parse_finite(std::string_view text, double& value);

}  // namespace recur
