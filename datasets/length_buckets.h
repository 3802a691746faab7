// One epoch's batches of variable-length items, in an order drawn from a seed: the items
// shuffled, then sorted by length within windows of 16 batches (so a batch pads little), the
// batches shuffled again. Every item once; the last batch may be smaller. Fisher-Yates over
// std::mt19937_64, so the order is the same on every platform. Shared by `recur classify`
// (datasets/labelled_corpus.h) and `recur translate` (datasets/parallel_corpus.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace recur {

// items: indices into the caller's data; length(i): what item i pads to.
std::vector<std::vector<int64_t>> length_buckets(std::vector<int64_t> items,
                                                 const std::function<int64_t(int64_t)>& length,
                                                 int64_t batch, uint64_t seed);

}  // namespace recur
