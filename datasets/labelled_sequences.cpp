#include "datasets/labelled_sequences.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include <fmt/ranges.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "datasets/csv.h"

namespace recur {

namespace {

// The header's column positions of what is read.
struct ColumnIndex {
  int64_t id = -1, label = -1;
  std::vector<size_t> features;
  size_t fields = 0;
};

ColumnIndex index_columns(const std::string& path, const std::vector<std::string_view>& header,
                          const SequenceColumns& columns, bool label_optional,
                          std::vector<std::string>& feature_names) {
  ColumnIndex c;
  c.fields = header.size();
  std::map<std::string_view, size_t> position;
  for (size_t i = 0; i < header.size(); ++i) {
    RECUR_CHECK(!header[i].empty(), "{}:1: column {} of the header has no name", path, i + 1);
    RECUR_CHECK(position.emplace(header[i], i).second, "{}:1: column '{}' appears twice", path,
                header[i]);
  }
  auto find = [&](const std::string& name) {
    auto it = position.find(name);
    return it == position.end() ? int64_t{-1} : static_cast<int64_t>(it->second);
  };
  const std::string names = fmt::format("{}", fmt::join(header, ","));
  c.id = find(columns.id);
  RECUR_CHECK(c.id >= 0, "{}:1: expected an id column '{}' naming each row's sequence, got '{}'",
              path, columns.id, names);
  c.label = find(columns.label);
  RECUR_CHECK(c.label >= 0 || label_optional,
              "{}:1: expected a label column '{}' holding each sequence's class, got '{}'", path,
              columns.label, names);
  feature_names = columns.features;
  if (feature_names.empty())
    for (std::string_view name : header)
      if (name != columns.id && name != columns.label) feature_names.emplace_back(name);
  RECUR_CHECK(!feature_names.empty(),
              "{}:1: expected at least one feature column beside '{}' and '{}', got '{}'", path,
              columns.id, columns.label, names);
  for (const std::string& name : feature_names) {
    const int64_t at = find(name);
    RECUR_CHECK(at >= 0, "{}:1: expected a feature column '{}' (the model's), got '{}'", path, name,
                names);
    RECUR_CHECK(at != c.id && at != c.label, "{}:1: column '{}' cannot be both a feature and {}",
                path, name, at == c.id ? "the id" : "the label");
    c.features.push_back(static_cast<size_t>(at));
  }
  return c;
}

}  // namespace

LabelledSequences::LabelledSequences(const std::string& path, const SequenceColumns& columns,
                                     std::vector<std::string> labels)
    : path_(path), labels_(std::move(labels)) {
  const MappedFile file(path);
  const std::string_view all(reinterpret_cast<const char*>(file.data()), file.size());
  const bool label_optional = !labels_.empty();
  ColumnIndex c;
  std::vector<std::string_view> row_labels;  // per sequence, until the label names are known
  std::set<std::string_view> finished;       // ids of sequences that ended (views of the file)
  std::string_view current;                  // the id of the last sequence
  int64_t line_no = 0;
  for (size_t begin = 0; begin < all.size();) {
    size_t end = all.find('\n', begin);
    if (end == std::string_view::npos) end = all.size();
    std::string_view line = all.substr(begin, end - begin);
    begin = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    const std::vector<std::string_view> fields = split_csv_fields(line);
    if (c.fields == 0) {
      c = index_columns(path, fields, columns, label_optional, features_);
      has_labels_ = c.label >= 0;
      continue;
    }
    RECUR_CHECK(fields.size() == c.fields,
                "{}:{}: expected {} comma-separated fields like the header, got {}", path, line_no,
                c.fields, fields.size());
    const std::string_view id = fields[static_cast<size_t>(c.id)];
    RECUR_CHECK(!id.empty(), "{}:{}: empty id (column '{}')", path, line_no, columns.id);
    const std::string_view label = has_labels_ ? fields[static_cast<size_t>(c.label)] : "";
    RECUR_CHECK(!has_labels_ || !label.empty(), "{}:{}: empty label (column '{}')", path, line_no,
                columns.label);
    if (sequences_.empty() || current != id) {
      if (!sequences_.empty()) finished.insert(current);
      current = id;
      RECUR_CHECK(!finished.count(id),
                  "{}:{}: sequence '{}' continues after other sequences; expected the rows of a "
                  "sequence to be consecutive",
                  path, line_no, id);
      sequences_.push_back({std::string(id), 0, rows(), 0, size()});
      row_labels.push_back(label);
    }
    RECUR_CHECK(label == row_labels.back(),
                "{}:{}: sequence '{}' changes its label from '{}' to '{}'; expected one label "
                "per sequence",
                path, line_no, id, row_labels.back(), label);
    for (size_t f = 0; f < c.features.size(); ++f) {
      const std::string_view text = fields[c.features[f]];
      double value = 0.0;
      RECUR_CHECK(parse_finite(text, value),
                  "{}:{}: column '{}' holds '{}', expected a finite number (fill or drop missing "
                  "values first)",
                  path, line_no, features_[f], text);
      if (offsets_.size() < features_.size()) offsets_.push_back(value);  // the first row
      values_.push_back(static_cast<float>(value - offsets_[f]));
    }
    ++sequences_.back().steps;
  }
  RECUR_CHECK(c.fields > 0,
              "{}: empty file; expected a header line (id,label,features...) and rows", path);
  RECUR_CHECK(!sequences_.empty(), "{}: expected rows after the header, got none", path);
  if (labels_.empty()) {
    labels_.assign(row_labels.begin(), row_labels.end());
    std::sort(labels_.begin(), labels_.end());
    labels_.erase(std::unique(labels_.begin(), labels_.end()), labels_.end());
  }
  if (!has_labels_) return;
  std::map<std::string_view, int64_t> index;
  for (size_t i = 0; i < labels_.size(); ++i) index[labels_[i]] = static_cast<int64_t>(i);
  for (size_t s = 0; s < sequences_.size(); ++s) {
    auto it = index.find(row_labels[s]);
    RECUR_CHECK(it != index.end(),
                "{}: sequence '{}': label '{}' is not one of the {} labels of "
                "the model ({})",
                path, sequences_[s].id, row_labels[s], labels_.size(), fmt::join(labels_, ", "));
    sequences_[s].label = it->second;
  }
}

Standardisation LabelledSequences::fit_standardisation(const std::vector<int64_t>& items) const {
  check_items(*this, items, "fit_standardisation");
  const size_t F = features_.size();
  std::vector<double> sum(F, 0.0), squares(F, 0.0);
  int64_t n = 0;
  for (int64_t i : items) {  // two passes: the mean first, then squared deviations
    const Sequence& s = sequences_[static_cast<size_t>(i)];
    for (int64_t r = s.first_row; r < s.first_row + s.steps; ++r)
      for (size_t f = 0; f < F; ++f) sum[f] += values_[static_cast<size_t>(r) * F + f];
    n += s.steps;
  }
  RECUR_CHECK(n > 0, "fit_standardisation: expected at least one row");
  std::vector<double> mean_offset(F);  // the mean of the held values (offset from the first row)
  for (size_t f = 0; f < F; ++f) mean_offset[f] = sum[f] / static_cast<double>(n);
  for (int64_t i : items) {
    const Sequence& s = sequences_[static_cast<size_t>(i)];
    for (int64_t r = s.first_row; r < s.first_row + s.steps; ++r)
      for (size_t f = 0; f < F; ++f) {
        const double d = values_[static_cast<size_t>(r) * F + f] - mean_offset[f];
        squares[f] += d * d;
      }
  }
  Standardisation out;
  for (size_t f = 0; f < F; ++f) {
    out.mean.push_back(offsets_[f] + mean_offset[f]);
    const double sd = std::sqrt(squares[f] / static_cast<double>(n));
    out.std.push_back(sd > 0.0 ? sd : 1.0);
  }
  return out;
}

void LabelledSequences::set_standardisation(Standardisation s) {
  RECUR_CHECK(s.mean.size() == features_.size() && s.std.size() == features_.size(),
              "{}: expected a mean and a std for each of its {} features, got {} and {}", path_,
              features_.size(), s.mean.size(), s.std.size());
  for (size_t f = 0; f < features_.size(); ++f)
    RECUR_CHECK(std::isfinite(s.mean[f]) && std::isfinite(s.std[f]) && s.std[f] > 0.0,
                "{}: feature '{}': expected a finite mean and a positive std, got {} and {}", path_,
                features_[f], s.mean[f], s.std[f]);
  standardisation_ = std::move(s);
}

const std::string& LabelledSequences::sequence_id(int64_t group) const {
  RECUR_CHECK(group >= 0 && group < groups(), "{}: sequence {} of {}", path_, group, groups());
  return windowed() ? sequence_ids_[static_cast<size_t>(group)]
                    : sequences_[static_cast<size_t>(group)].id;
}

void LabelledSequences::cut_windows(int64_t window, int64_t stride) {
  RECUR_CHECK(!windowed(), "{}: already cut into windows", path_);
  std::vector<Sequence> windows;
  for (const Sequence& s : sequences_) {
    const int64_t steps = std::min(window, s.steps);
    for (int64_t first : window_starts(s.steps, window, stride))
      windows.push_back(
          {fmt::format("{}@{}", s.id, first), s.label, s.first_row + first, steps, s.group});
    sequence_ids_.push_back(s.id);
  }
  sequences_ = std::move(windows);
}

ClassBatch LabelledSequences::batch(const std::vector<int64_t>& items, int64_t max_len) const {
  check_items(*this, items, "sequence batch");
  RECUR_CHECK(max_len >= 1, "sequence batch: expected max_len >= 1, got {}", max_len);
  RECUR_CHECK(!items.empty(), "sequence batch: expected at least one sequence");
  const auto B = static_cast<int64_t>(items.size());
  const auto F = static_cast<int64_t>(features_.size());
  std::vector<int64_t> lengths, targets;
  int64_t T = 0;
  for (int64_t i : items) {
    lengths.push_back(std::min(steps(i), max_len));
    targets.push_back(label(i));
    T = std::max(T, lengths.back());
  }
  // value = held + offset, so (value - mean) / std = (held - (mean - offset)) / std
  std::vector<double> shift(offsets_.size()), scale(offsets_.size(), 1.0);
  for (size_t f = 0; f < offsets_.size(); ++f) {
    shift[f] = standardisation_.empty() ? -offsets_[f] : standardisation_.mean[f] - offsets_[f];
    if (!standardisation_.empty()) scale[f] = standardisation_.std[f];
  }
  ClassBatch out;
  out.inputs = Tensor::zeros({B, T, F}, DType::f32);
  float* x = out.inputs.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    const Sequence& s = sequences_[static_cast<size_t>(items[static_cast<size_t>(b)])];
    for (int64_t t = 0; t < lengths[static_cast<size_t>(b)]; ++t)
      for (int64_t f = 0; f < F; ++f) {
        const double held = values_[static_cast<size_t>((s.first_row + t) * F + f)];
        x[(b * T + t) * F + f] = static_cast<float>((held - shift[static_cast<size_t>(f)]) /
                                                    scale[static_cast<size_t>(f)]);
      }
  }
  out.lengths = Tensor::from_vector(lengths, {B});
  out.targets = Tensor::from_vector(targets, {B});
  return out;
}

}  // namespace recur
