// Filling tensors with reproducible random numbers from Philox: the same (seed, stream) always
// gives the same values, whatever the thread count.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recur {

// Uniform in [low, high), element i drawn from philox_uniform(seed, stream, 0, i). CPU, floating.
void fill_uniform(Tensor& t, double low, double high, uint64_t seed, uint32_t stream);
// Standard normal (Box-Muller over pairs of Philox uniforms) times stddev, plus mean.
void fill_normal(Tensor& t, double mean, double stddev, uint64_t seed, uint32_t stream);

}  // namespace recur
