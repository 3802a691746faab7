// Inference with a CharLM: scoring a text in bits per symbol, and generating text one symbol at a
// time with the recurrent state kept (stateful inference) and reproducible sampling.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "models/char_lm.h"

namespace recur {

// Mean over positions 1..n-1 of -log2 p(ids[i] | ids[0..i-1]), the sequence read once from a
// zero state (in chunks of `chunk` with the state carried, which is the same computation).
double bits_per_symbol(CharLM& model, const std::vector<int64_t>& ids, int64_t chunk = 1024);

struct SamplingOptions {
  double temperature = 0.8;  // 0: always the likeliest symbol
  int64_t top_k = 0;         // sample among the k likeliest; 0: all
  uint64_t seed = 1;         // the i-th symbol draws philox_uniform(seed, 0, 0, i)
};

// Draws a symbol from logits [V] given a uniform u in [0, 1).
int64_t sample_symbol(const float* logits, int64_t V, const SamplingOptions& options, double u);

// Feeds `prime` (at least one symbol), then samples up to `length` symbols, calling
// on_symbol(id) for each as soon as it is drawn. Stops early, without emitting it, at `stop_id`
// (e.g. the end-of-document separator; -1: never).
void generate(CharLM& model, const std::vector<int64_t>& prime, int64_t length,
              const SamplingOptions& options, int64_t stop_id,
              const std::function<void(int64_t)>& on_symbol);

}  // namespace recur
