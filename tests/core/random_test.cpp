// fill_uniform and fill_normal (core/random.h): element i of a tensor is a pure function of
// (seed, stream, i), whatever the dtype, layout or thread count.
#include "core/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/half.h"
#include "core/parallel.h"
#include "core/philox.h"
#include "support/expect_error.h"

namespace recur {
namespace {

// Element i as the definition says (one Philox draw per element), rounded to `dtype`.
double expected_uniform(double low, double high, uint64_t seed, uint32_t stream, uint64_t i,
                        DType dtype) {
  const double v = low + (high - low) * static_cast<double>(philox_uniform(seed, stream, 0, i));
  if (dtype == DType::f64) return v;
  if (dtype == DType::bf16) return to_float(to_bf16(static_cast<float>(v)));
  return static_cast<float>(v);
}

double expected_normal(double mean, double stddev, uint64_t seed, uint32_t stream, uint64_t i) {
  const double u1 = 1.0 - static_cast<double>(philox_uniform(seed, stream, 1, (i / 2) * 2));
  const double u2 = static_cast<double>(philox_uniform(seed, stream, 1, (i / 2) * 2 + 1));
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double two_pi = 6.283185307179586;
  return static_cast<float>(mean +
                            stddev * r * (i % 2 ? std::sin(two_pi * u2) : std::cos(two_pi * u2)));
}

TEST(Random, UniformElementIsItsOwnPhiloxDrawInEveryDtype) {
  // 4099 elements: the last Philox block is used in part. Above parallel_for's grain of 4096
  // blocks too, so several threads fill it where there are several.
  for (int64_t n : {int64_t{1}, int64_t{4099}, int64_t{70001}})
    for (DType dtype : {DType::f32, DType::f64, DType::bf16}) {
      Tensor t = Tensor::empty({n}, dtype);
      fill_uniform(t, -0.5, 2.0, 77, 3);
      const std::vector<double> got = t.to_vector();
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(got[i], expected_uniform(-0.5, 2.0, 77, 3, i, dtype))
            << dtype_name(dtype) << " n=" << n << " i=" << i;
    }
}

TEST(Random, NormalElementIsItsOwnBoxMullerPair) {
  Tensor t = Tensor::empty({3, 1001}, DType::f32);
  fill_normal(t, 0.5, 2.0, 9, 1);
  const std::vector<double> got = t.to_vector();
  for (int64_t i = 0; i < t.numel(); ++i)
    ASSERT_EQ(got[i], expected_normal(0.5, 2.0, 9, 1, i)) << i;
}

TEST(Random, AViewIsFilledInTheOrderOfItsShapeAndTheRestIsKept) {
  Tensor whole = Tensor::zeros({4, 10}, DType::f32);
  Tensor columns = whole.narrow(1, 3, 5);  // [4, 5], rows 10 apart: not contiguous
  ASSERT_FALSE(columns.is_contiguous());
  fill_uniform(columns, -1, 1, 5, 0);
  const std::vector<double> got = whole.to_vector();
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 10; ++c) {
      const bool inside = c >= 3 && c < 8;
      EXPECT_EQ(got[r * 10 + c],
                inside ? expected_uniform(-1, 1, 5, 0, r * 5 + (c - 3), DType::f32) : 0.0)
          << r << "," << c;
    }
}

TEST(Random, TheThreadCountChangesNothing) {
  const int threads = num_threads();
  Tensor one = Tensor::empty({100003}, DType::f32), many = Tensor::empty({100003}, DType::f32);
  set_num_threads(1);
  fill_normal(one, 0, 1, 4, 2);
  set_num_threads(4);
  fill_normal(many, 0, 1, 4, 2);
  set_num_threads(threads);
  EXPECT_EQ(one.to_vector(), many.to_vector());
}

TEST(Random, IntegerOrGpuTensorsAreErrors) {
  Tensor ints = Tensor::empty({3}, DType::i64);
  testing::expect_error([&] { fill_uniform(ints, 0, 1, 1, 0); },
                        {"fill_uniform", "floating CPU tensor", "i64"});
  testing::expect_error([&] { fill_normal(ints, 0, 1, 1, 0); }, {"fill_normal", "i64"});
}

}  // namespace
}  // namespace recur
