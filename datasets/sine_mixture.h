// A generated sequence task for demos and tests: noisy mixtures of two sine waves with random
// frequencies and phases; the target at each step is the next value (one-step forecasting).
// Every batch is a pure function of (seed, batch index), so runs are reproducible.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recur {

struct SeriesBatch {
  Tensor x;  // [B,T,1] the series at steps 0..T-1
  Tensor y;  // [B,T,1] the series at steps 1..T (what to predict)
};

SeriesBatch sine_mixture_batch(int64_t batch, int64_t steps, uint64_t seed, uint64_t index,
                               double noise = 0.05);

// MSE of the "repeat the last value" forecast, the naive baseline a model has to beat.
double persistence_mse(const SeriesBatch& batch);

}  // namespace recur
