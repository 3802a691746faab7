#include "datasets/class_data.h"

#include <algorithm>

#include "core/error.h"
#include "datasets/length_buckets.h"

namespace recur {

std::vector<int64_t> ClassData::count_per_label() const {
  std::vector<int64_t> counts(labels().size(), 0);
  for (int64_t i = 0; i < size(); ++i) ++counts[static_cast<size_t>(label(i))];
  return counts;
}

ClassData::Split ClassData::split(int64_t every) const {
  RECUR_CHECK(every >= 2, "ClassData::split: expected every >= 2, got {}", every);
  std::vector<int64_t> seen(labels().size(), 0);
  Split s;
  bool held_out = false;
  for (int64_t i = 0; i < size(); ++i) {
    if (i == 0 || group(i) != group(i - 1))  // a group's first item decides for all of them
      held_out = seen[static_cast<size_t>(label(i))]++ % every == 0;
    (held_out ? s.validation : s.train).push_back(i);
  }
  return s;
}

std::vector<std::vector<int64_t>> bucket_batches(const ClassData& data, std::vector<int64_t> items,
                                                 int64_t batch, int64_t max_len, uint64_t seed) {
  check_items(data, items, "bucket_batches");
  auto length = [&](int64_t i) { return std::min(data.steps(i), max_len); };
  return length_buckets(std::move(items), length, batch, seed);
}

std::vector<int64_t> window_starts(int64_t steps, int64_t window, int64_t stride) {
  RECUR_CHECK(window >= 1 && stride >= 1 && stride <= window,
              "expected windows of at least 1 step and a stride in [1, window], got window {} and "
              "stride {}",
              window, stride);
  std::vector<int64_t> starts;
  for (int64_t start = 0;; start += stride) {
    const int64_t first = std::max<int64_t>(0, std::min(start, steps - window));
    starts.push_back(first);
    if (first + std::min(window, steps) >= steps) break;
  }
  return starts;
}

void check_items(const ClassData& data, const std::vector<int64_t>& items, const char* what) {
  for (int64_t i : items)
    RECUR_CHECK(i >= 0 && i < data.size(), "{}: sequence {} of {} ({} sequences)", what, i,
                data.path(), data.size());
}

}  // namespace recur
