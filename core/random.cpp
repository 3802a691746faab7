#include "core/random.h"

#include <cmath>
#include <cstddef>

#include "core/parallel.h"
#include "core/philox.h"

namespace recur {

namespace {

// Element i of `t` (in row-major order of its shape) gets value i of four_values(i / 4, out),
// lane i % 4: one Philox block gives four elements. Every value depends on its index alone, so
// the blocks are filled in parallel and the thread count changes nothing.
template <class Four>
void fill_blocks(Tensor& t, const char* what, Four four_values) {
  RECUR_CHECK(t.device().is_cpu() && is_floating(t.dtype()),
              "{}: expected a floating CPU tensor, got {} on {}", what, dtype_name(t.dtype()),
              t.device().name());
  Tensor out = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype());
  const int64_t n = out.numel();
  const DType dtype = out.dtype();
  const size_t es = dtype_size(dtype);
  std::byte* base = static_cast<std::byte*>(out.raw_data());
  parallel_for((n + 3) / 4, 4096, [&](int64_t b0, int64_t b1) {
    double v[4];
    for (int64_t k = b0; k < b1; ++k) {
      four_values(static_cast<uint64_t>(k), v);
      for (int64_t i = 4 * k; i < 4 * k + 4 && i < n; ++i)
        store_element(base + i * es, dtype, v[i - 4 * k]);
    }
  });
  if (!t.is_contiguous()) t.copy_from(out);
}

}  // namespace

void fill_uniform(Tensor& t, double low, double high, uint64_t seed, uint32_t stream) {
  fill_blocks(t, "fill_uniform", [&](uint64_t block, double v[4]) {
    float u[4];
    philox_uniform4(seed, stream, 0, block, u);
    for (int lane = 0; lane < 4; ++lane)
      v[lane] = low + (high - low) * static_cast<double>(u[lane]);
  });
}

void fill_normal(Tensor& t, double mean, double stddev, uint64_t seed, uint32_t stream) {
  const double two_pi = 6.283185307179586;
  fill_blocks(t, "fill_normal", [&](uint64_t block, double v[4]) {
    // Elements (2k, 2k+1) share uniforms 2k and 2k+1 of step 1 (one block: two pairs); u1 is
    // kept away from 0 for the log.
    float u[4];
    philox_uniform4(seed, stream, 1, block, u);
    for (int pair = 0; pair < 2; ++pair) {
      const double u1 = 1.0 - static_cast<double>(u[2 * pair]);
      const double u2 = static_cast<double>(u[2 * pair + 1]);
      const double r = std::sqrt(-2.0 * std::log(u1));
      v[2 * pair] = mean + stddev * r * std::cos(two_pi * u2);
      v[2 * pair + 1] = mean + stddev * r * std::sin(two_pi * u2);
    }
  });
}

}  // namespace recur
