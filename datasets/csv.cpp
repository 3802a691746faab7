#include "datasets/csv.h"

#include <charconv>
#include <cmath>

namespace recur {

namespace {

std::string_view trim_field(std::string_view f) {
  const size_t first = f.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  f = f.substr(first, f.find_last_not_of(" \t") - first + 1);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
  return f;
}

}  // namespace

std::vector<std::string_view> split_csv_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t begin = 0;
  while (true) {
    const size_t comma = line.find(',', begin);
    if (comma == std::string_view::npos) {
      fields.push_back(trim_field(line.substr(begin)));
      return fields;
    }
    fields.push_back(trim_field(line.substr(begin, comma - begin)));
    begin = comma + 1;
  }
}

bool parse_finite(std::string_view text, double& value) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && std::isfinite(value);
}

}  // namespace recur
