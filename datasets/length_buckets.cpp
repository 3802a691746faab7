#include "datasets/length_buckets.h"

#include <algorithm>
#include <random>

#include "core/error.h"

namespace recur {

namespace {

// Fisher-Yates with a fixed generator: the same order on every platform.
template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

}  // namespace

std::vector<std::vector<int64_t>> length_buckets(std::vector<int64_t> items,
                                                 const std::function<int64_t(int64_t)>& length,
                                                 int64_t batch, uint64_t seed) {
  RECUR_CHECK(batch >= 1, "length_buckets: expected batch >= 1, got {}", batch);
  constexpr int64_t kWindowBatches = 16;
  std::mt19937_64 rng(seed);
  shuffle(items, rng);
  const int64_t window = batch * kWindowBatches, n = static_cast<int64_t>(items.size());
  std::vector<std::vector<int64_t>> batches;
  for (int64_t w = 0; w < n; w += window) {
    auto first = items.begin() + w, last = items.begin() + std::min(n, w + window);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return length(a) < length(b); });
    for (auto it = first; it < last; it += std::min<int64_t>(batch, last - it))
      batches.emplace_back(it, it + std::min<int64_t>(batch, last - it));
  }
  shuffle(batches, rng);
  return batches;
}

}  // namespace recur
