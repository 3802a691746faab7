#include "core/philox.h"

#include <gtest/gtest.h>

#include <cmath>

namespace recur {
namespace {

// Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds).
TEST(Philox, MatchesRandom123KnownAnswers) {
  Philox4 zero = philox4x32_10({{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  Philox4 ones = philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu,
                               0xffffffffu);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);
  Philox4 pi = philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u,
                             0x299f31d0u);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

TEST(Philox, UniformsAreInRangeAndEvenlySpread) {
  const int n = 100000;
  double sum = 0, sum_sq = 0;
  int low_quarter = 0;
  for (int i = 0; i < n; ++i) {
    float u = philox_uniform(1234, 3, 7, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
    sum_sq += u * u;
    low_quarter += u < 0.25f;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.01);
  EXPECT_NEAR(sum_sq / n - (sum / n) * (sum / n), 1.0 / 12, 0.005);
  EXPECT_NEAR(low_quarter / double(n), 0.25, 0.01);
}

TEST(Philox, StreamsStepsAndSeedsDiffer) {
  EXPECT_EQ(philox_uniform(1, 2, 3, 4), philox_uniform(1, 2, 3, 4));
  EXPECT_NE(philox_uniform(1, 2, 3, 4), philox_uniform(2, 2, 3, 4));
  EXPECT_NE(philox_uniform(1, 2, 3, 4), philox_uniform(1, 3, 3, 4));
  EXPECT_NE(philox_uniform(1, 2, 3, 4), philox_uniform(1, 2, 4, 4));
  EXPECT_NE(philox_uniform(1, 2, 3, 4), philox_uniform(1, 2, 3, 5));
  EXPECT_NE(philox_uniform(1ull << 40, 2, 3, 4), philox_uniform(0, 2, 3, 4));
}

}  // namespace
}  // namespace recur
