// Rounding in vectors and the single-row mixed-precision product (kernels/cpu/rounded_gemv.h):
// round_floats is round_to_precision bit for bit over every bf16 and f16 rounding boundary
// (ties, carries into the exponent, f16's subnormals and overflow, infinities, NaN); rounded_gemv
// against an f64 sum of the rounded operands, both layouts of W, tails of the 16 lanes and of the
// 4-row and 128-column blocks, strides, alpha and beta; independent of the thread count; a NaN
// or infinite weight reaches its output.
#include "kernels/cpu/rounded_gemv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/random.h"
#include "core/tensor.h"

namespace recur {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

TEST(RoundFloats, IsRoundToPrecisionBitForBit) {
  // Every top 16 bits (every sign, exponent and the bf16 mantissa), each with low halves on
  // both sides of bf16's and f16's rounding points; an odd count, so the tail runs too.
  std::vector<float> src;
  for (uint32_t high = 0; high < 0x10000u; ++high)
    for (uint32_t low : {0x0000u, 0x0fffu, 0x1000u, 0x1001u, 0x2000u, 0x5a5au, 0x7fffu, 0x8000u,
                         0x8001u, 0xe000u, 0xffffu})
      src.push_back(from_bits(high << 16 | low));
  src.push_back(from_bits(0x477fefffu));  // just below f16's 65520: 65504
  src.push_back(from_bits(0x477ff000u));  // 65520: f16's infinity
  for (Precision precision : {Precision::bf16, Precision::f16, Precision::f32}) {
    std::vector<float> got(src.size());
    round_floats(src.data(), static_cast<int64_t>(src.size()), precision, got.data());
    for (size_t i = 0; i < src.size(); ++i)
      ASSERT_EQ(bits(got[i]), bits(round_to_precision(src[i], precision)))
          << precision_name(precision) << " of 0x" << std::hex << bits(src[i]);
  }
}

TEST(RoundFloats, RoundsInPlace) {
  std::vector<float> v = {1.00390625f, 3.14159265f, -2.0f, 1e-6f, 70000.0f};
  std::vector<float> want(v.size());
  for (size_t i = 0; i < v.size(); ++i) want[i] = round_to_precision(v[i], Precision::f16);
  round_floats(v.data(), static_cast<int64_t>(v.size()), Precision::f16, v.data());
  EXPECT_EQ(v, want);
  EXPECT_TRUE(std::isinf(v[4]));
}

struct Gemv {
  int64_t N, K;
  bool trans_w;
  int64_t inc_a = 1, pad = 0;  // a's stride; extra columns of W's row stride
};

struct GemvOperands {
  Tensor a, w, c;  // a [K * inc_a], w [N, K+pad] (trans_w) or [K, N+pad], c [N]
};

GemvOperands gemv_operands(const Gemv& g) {
  GemvOperands o;
  o.a = Tensor::empty({std::max<int64_t>(g.K * g.inc_a, 1)}, DType::f32);
  o.w = g.trans_w ? Tensor::empty({g.N, g.K + g.pad}, DType::f32)
                  : Tensor::empty({g.K, g.N + g.pad}, DType::f32);
  o.c = Tensor::empty({g.N}, DType::f32);
  fill_uniform(o.a, -2, 2, 1, 0);
  fill_uniform(o.w, -2, 2, 2, 0);
  fill_uniform(o.c, -1, 1, 3, 0);
  return o;
}

std::vector<double> run_gemv(const Gemv& g, const GemvOperands& o, Precision precision, float alpha,
                             float beta) {
  Tensor c = o.c.clone();
  rounded_gemv(precision, g.trans_w, g.N, g.K, alpha, o.a.data<float>(), g.inc_a, o.w.data<float>(),
               o.w.size(1), beta, c.data<float>());
  return c.to_vector();
}

void expect_gemv(const Gemv& g, Precision precision, float alpha, float beta) {
  SCOPED_TRACE(::testing::Message() << precision_name(precision) << " N=" << g.N << " K=" << g.K
                                    << " trans_w=" << g.trans_w << " inc_a=" << g.inc_a
                                    << " pad=" << g.pad << " alpha=" << alpha << " beta=" << beta);
  const GemvOperands o = gemv_operands(g);
  const std::vector<double> got = run_gemv(g, o, precision, alpha, beta);
  const int64_t ldw = o.w.size(1);
  const float* a = o.a.data<float>();
  const float* w = o.w.data<float>();
  for (int64_t n = 0; n < g.N; ++n) {
    double s = 0;
    for (int64_t k = 0; k < g.K; ++k) {
      const float wk = g.trans_w ? w[n * ldw + k] : w[k * ldw + n];
      s +=
          double(round_to_precision(a[k * g.inc_a], precision)) * round_to_precision(wk, precision);
    }
    const double want = alpha * s + (beta == 0.0f ? 0.0 : beta * o.c.item({n}));
    // The products are exact in f32; only the f32 sums round.
    ASSERT_NEAR(got[n], want, 1e-6 * (g.K + 1) * 4) << "output " << n;
  }
}

TEST(RoundedGemv, IsTheF32ProductOfTheRoundedOperands) {
  for (Precision precision : {Precision::bf16, Precision::f16})
    for (bool trans_w : {true, false}) {
      for (int64_t N : {1, 3, 4, 5, 15, 16, 17, 128, 129, 300})
        for (int64_t K : {1, 15, 16, 17, 200}) expect_gemv({N, K, trans_w}, precision, 1.0f, 0.0f);
      expect_gemv({257, 100, trans_w, 3, 5}, precision, -0.5f, 2.0f);  // strides, alpha, beta
      expect_gemv({64, 0, trans_w}, precision, 1.0f, 0.5f);            // no terms: beta * c
    }
}

// Each output is summed by one thread in an order fixed by the shape (2048 x 512 is threaded).
TEST(RoundedGemv, ResultsDoNotDependOnTheThreadCount) {
  const int threads = num_threads();
  for (bool trans_w : {true, false}) {
    const Gemv g{2048 + 7, 512 + 3, trans_w};
    const GemvOperands o = gemv_operands(g);
    set_num_threads(1);
    const std::vector<double> one = run_gemv(g, o, Precision::bf16, 0.7f, 0.3f);
    set_num_threads(3);
    EXPECT_EQ(one, run_gemv(g, o, Precision::bf16, 0.7f, 0.3f)) << "trans_w=" << trans_w;
  }
  set_num_threads(threads);
}

// A NaN or infinite weight is not rounded into a finite number (bf16's carry would turn some
// NaNs into -0 or infinity): its output is NaN or infinite, the others stay finite.
TEST(RoundedGemv, NonFiniteWeightsReachTheirOutput) {
  for (Precision precision : {Precision::bf16, Precision::f16})
    for (bool trans_w : {true, false}) {
      const Gemv g{40, 33, trans_w};
      GemvOperands o = gemv_operands(g);
      const int64_t ldw = o.w.size(1);
      auto at = [&](int64_t n, int64_t k) -> float& {
        return o.w.data<float>()[trans_w ? n * ldw + k : k * ldw + n];
      };
      at(3, 5) = from_bits(0x7fffffffu);    // a NaN whose rounding would carry into the sign
      at(17, 20) = from_bits(0x7f800001u);  // a NaN whose rounding would carry to infinity
      at(21, 2) = INFINITY;
      fill_uniform(o.a, 0.5, 1.0, 4, 0);  // no zero to multiply infinity by
      const std::vector<double> c = run_gemv(g, o, precision, 1.0f, 0.0f);
      for (int64_t n = 0; n < g.N; ++n) {
        if (n == 3 || n == 17)
          EXPECT_TRUE(std::isnan(c[n])) << precision_name(precision) << " output " << n;
        else if (n == 21)
          EXPECT_TRUE(std::isinf(c[n])) << precision_name(precision) << " output " << n;
        else
          EXPECT_TRUE(std::isfinite(c[n])) << precision_name(precision) << " output " << n;
      }
    }
}

TEST(RoundedGemv, F32IsAnError) {
  std::vector<float> a(4, 1.0f), w(16, 1.0f), c(4);
  EXPECT_THROW(
      rounded_gemv(Precision::f32, true, 4, 4, 1.0f, a.data(), 1, w.data(), 4, 0.0f, c.data()),
      Error);
}

}  // namespace
}  // namespace recur
