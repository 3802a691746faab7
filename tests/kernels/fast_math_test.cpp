// Accuracy of the vectorisable float exp/tanh/sigmoid of the CPU reference against the C
// library in double, over a dense sweep of the range the cells see, plus limits and NaN.
#include "kernels/cpu/fast_math.h"

#include <gtest/gtest.h>

#include <cmath>

namespace recur {
namespace {

// Relative error in units of float epsilon, with values below 1e-30 compared absolutely.
double ulps(double got, double want) {
  return std::fabs(got - want) / std::max(std::fabs(want), 1e-30) / 1.1920929e-7;
}

TEST(FastMath, ExpWithinFourUlpsOverItsRange) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.00137f)
    worst = std::max(worst, ulps(fast_math::exp(x), std::exp(static_cast<double>(x))));
  EXPECT_LT(worst, 4.0);
  EXPECT_EQ(fast_math::exp(0.0f), 1.0f);
}

TEST(FastMath, TanhWithinFourUlpsIncludingNearZero) {
  double worst = 0;
  for (float x = -12.0f; x <= 12.0f; x += 0.000731f)
    worst = std::max(worst, ulps(fast_math::tanh(x), std::tanh(static_cast<double>(x))));
  for (float x = 1e-6f; x < 1.0f; x *= 1.01f) {
    worst = std::max(worst, ulps(fast_math::tanh(x), std::tanh(static_cast<double>(x))));
    worst = std::max(worst, ulps(fast_math::tanh(-x), std::tanh(-static_cast<double>(x))));
  }
  EXPECT_LT(worst, 4.0);
  EXPECT_EQ(fast_math::tanh(0.0f), 0.0f);
  EXPECT_EQ(fast_math::tanh(100.0f), 1.0f);
  EXPECT_EQ(fast_math::tanh(-100.0f), -1.0f);
}

TEST(FastMath, SigmoidWithinFourUlpsAndSaturates) {
  double worst = 0;
  for (float x = -30.0f; x <= 30.0f; x += 0.00093f) {
    double want = 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
    if (want > 1e-30) worst = std::max(worst, ulps(fast_math::sigmoid(x), want));
  }
  EXPECT_LT(worst, 4.0);
  EXPECT_EQ(fast_math::sigmoid(200.0f), 1.0f);
  EXPECT_LT(fast_math::sigmoid(-200.0f), 1e-37f);
}

TEST(FastMath, NanPropagates) {
  const float nan = std::nanf("");
  EXPECT_TRUE(std::isnan(fast_math::exp(nan)));
  EXPECT_TRUE(std::isnan(fast_math::tanh(nan)));
  EXPECT_TRUE(std::isnan(fast_math::sigmoid(nan)));
}

}  // namespace
}  // namespace recur
