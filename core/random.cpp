#include "core/random.h"

#include <cmath>

#include "core/philox.h"

namespace recur {

namespace {

template <class F>
void fill_with(Tensor& t, const char* what, F value_of_index) {
  RECUR_CHECK(t.device().is_cpu() && is_floating(t.dtype()),
              "{}: expected a floating CPU tensor, got {} on {}", what, dtype_name(t.dtype()),
              t.device().name());
  Tensor out = Tensor::empty(t.shape(), DType::f64);
  double* p = out.data<double>();
  for (int64_t i = 0; i < out.numel(); ++i) p[i] = value_of_index(static_cast<uint64_t>(i));
  t.copy_from(out);
}

}  // namespace

void fill_uniform(Tensor& t, double low, double high, uint64_t seed, uint32_t stream) {
  fill_with(t, "fill_uniform", [&](uint64_t i) {
    return low + (high - low) * static_cast<double>(philox_uniform(seed, stream, 0, i));
  });
}

void fill_normal(Tensor& t, double mean, double stddev, uint64_t seed, uint32_t stream) {
  const double two_pi = 6.283185307179586;
  fill_with(t, "fill_normal", [&](uint64_t i) {
    // Pair (2k, 2k+1) shares two uniforms; u1 is kept away from 0 for the log.
    double u1 = 1.0 - static_cast<double>(philox_uniform(seed, stream, 1, (i / 2) * 2));
    double u2 = static_cast<double>(philox_uniform(seed, stream, 1, (i / 2) * 2 + 1));
    double r = std::sqrt(-2.0 * std::log(u1));
    return mean + stddev * r * (i % 2 ? std::sin(two_pi * u2) : std::cos(two_pi * u2));
  });
}

}  // namespace recur
