#include "datasets/sine_mixture.h"

#include <cmath>

#include "core/philox.h"

namespace recur {

SeriesBatch sine_mixture_batch(int64_t batch, int64_t steps, uint64_t seed, uint64_t index,
                               double noise) {
  RECUR_CHECK(batch >= 1 && steps >= 1,
              "sine_mixture_batch: expected batch, steps >= 1, got {}, {}", batch, steps);
  SeriesBatch out{Tensor::empty({batch, steps, 1}, DType::f32),
                  Tensor::empty({batch, steps, 1}, DType::f32)};
  float* x = out.x.data<float>();
  float* y = out.y.data<float>();
  const uint32_t stream = static_cast<uint32_t>(index);
  const uint32_t high = static_cast<uint32_t>(index >> 32);
  auto uniform = [&](uint64_t i) {
    return static_cast<double>(philox_uniform(seed, stream, high, i));
  };
  for (int64_t b = 0; b < batch; ++b) {
    const uint64_t base = static_cast<uint64_t>(b) * (steps + 8);
    const double f1 = 0.1 + 0.3 * uniform(base), f2 = 0.02 + 0.1 * uniform(base + 1);
    const double p1 = 6.2832 * uniform(base + 2), p2 = 6.2832 * uniform(base + 3);
    auto value = [&](int64_t t) {
      double clean = 0.6 * std::sin(f1 * t + p1) + 0.4 * std::sin(f2 * t + p2);
      return clean + noise * (2.0 * uniform(base + 8 + t) - 1.0);
    };
    double v = value(0);
    for (int64_t t = 0; t < steps; ++t) {
      double next = value(t + 1);
      x[b * steps + t] = static_cast<float>(v);
      y[b * steps + t] = static_cast<float>(next);
      v = next;
    }
  }
  return out;
}

double persistence_mse(const SeriesBatch& batch) {
  const float* x = batch.x.data<float>();
  const float* y = batch.y.data<float>();
  double sum = 0;
  for (int64_t i = 0; i < batch.x.numel(); ++i) sum += (y[i] - x[i]) * double(y[i] - x[i]);
  return sum / static_cast<double>(batch.x.numel());
}

}  // namespace recur
