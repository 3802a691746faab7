// Mixed-precision GEMM on the CPU (kernels/mixed_gemm.h): the product of the operands rounded to
// bf16/f16, against a naive f64 product of the same rounded values, for every transpose and
// strided operands; the rounding itself (round to nearest even, f16 overflow to inf); the weight
// copies made once; and the tensor-level gemm's checks.
#include "kernels/mixed_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/random.h"
#include "kernels/gemm.h"
#include "support/expect_error.h"

namespace recur {
namespace {

TEST(RoundToPrecision, RoundsToNearestEvenAndOverflowsF16ToInfinity) {
  // bf16 keeps 8 significant bits: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 and goes to even.
  EXPECT_EQ(round_to_precision(1.0f + 0x1p-8f, Precision::bf16), 1.0f);
  EXPECT_EQ(round_to_precision(1.0f + 3 * 0x1p-8f, Precision::bf16), 1.0f + 0x1p-6f);
  EXPECT_EQ(round_to_precision(1.0f + 0x1p-11f, Precision::f16), 1.0f);
  EXPECT_EQ(round_to_precision(1.0f + 0x1p-10f, Precision::f16), 1.0f + 0x1p-10f);
  EXPECT_TRUE(std::isinf(round_to_precision(70000.0f, Precision::f16)));
  EXPECT_EQ(round_to_precision(70000.0f, Precision::bf16), 70144.0f);
  EXPECT_EQ(round_to_precision(1e-9f, Precision::f16), 0.0f);  // below f16's smallest subnormal
  EXPECT_EQ(round_to_precision(0.1f, Precision::f32), 0.1f);
  EXPECT_TRUE(std::isnan(round_to_precision(std::nanf(""), Precision::bf16)));
}

// c = alpha op(a) op(b) + beta c with a, b stored with a leading dimension 3 wider than needed.
void check(Precision precision, bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  const int64_t pad = 3;
  const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
  const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
  Tensor a = Tensor::empty({a_rows, a_cols + pad}, DType::f32);
  Tensor b = Tensor::empty({b_rows, b_cols + pad}, DType::f32);
  Tensor c = Tensor::empty({M, N}, DType::f32);
  fill_uniform(a, -2, 2, 1, 0);
  fill_uniform(b, -2, 2, 2, 0);
  fill_uniform(c, -1, 1, 3, 0);
  const float alpha = 0.75f, beta = 0.5f;
  auto ra = [&](int64_t i, int64_t k) {
    return round_to_precision(
        ta ? a.data<float>()[k * (a_cols + pad) + i] : a.data<float>()[i * (a_cols + pad) + k],
        precision);
  };
  auto rb = [&](int64_t k, int64_t j) {
    return round_to_precision(
        tb ? b.data<float>()[j * (b_cols + pad) + k] : b.data<float>()[k * (b_cols + pad) + j],
        precision);
  };
  std::vector<double> expected(M * N), unrounded(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += static_cast<double>(ra(i, k)) * rb(k, j);
      expected[i * N + j] = alpha * s + beta * c.data<float>()[i * N + j];
    }
  gemm_mixed(Device::cpu(), precision, ta, tb, M, N, K, alpha,
             GemmOperand{a.data<float>(), a_cols + pad}, GemmOperand{b.data<float>(), b_cols + pad},
             beta, c.data<float>(), N);
  for (int64_t i = 0; i < M * N; ++i)
    ASSERT_NEAR(c.data<float>()[i], expected[i], 1e-5 * (K + 1))
        << precision_name(precision) << " ta=" << ta << " tb=" << tb << " at " << i;
}

TEST(MixedGemm, IsTheF32ProductOfTheRoundedOperandsForEveryTranspose) {
  for (Precision p : {Precision::bf16, Precision::f16, Precision::f32})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check(p, ta, tb, 5, 7, 9);
        check(p, ta, tb, 1, 33, 64);
        check(p, ta, tb, 4, 3, 0);  // K = 0 only scales C
      }
}

TEST(MixedGemm, TheRoundingChangesTheResult) {
  Tensor a = Tensor::empty({8, 16}, DType::f32), b = Tensor::empty({16, 8}, DType::f32);
  fill_uniform(a, -1, 1, 4, 0);
  fill_uniform(b, -1, 1, 5, 0);
  Tensor exact = Tensor::zeros({8, 8}, DType::f32), rounded = Tensor::zeros({8, 8}, DType::f32);
  gemm(a, false, b, false, exact);
  gemm(a, false, b, false, rounded, 1.0, 0.0, Precision::bf16);
  double largest = 0;
  for (int64_t i = 0; i < 64; ++i)
    largest =
        std::max<double>(largest, std::fabs(exact.data<float>()[i] - rounded.data<float>()[i]));
  EXPECT_GT(largest, 1e-4);  // bf16's 8 bits are far coarser than f32's 24
  EXPECT_LT(largest, 5e-2);
}

TEST(MixedGemm, RoundedWeightsAreMadeOnceAndFoundByTheirAddress) {
  Tensor w = Tensor::empty({4, 6}, DType::f32), other = Tensor::empty({4, 6}, DType::f32);
  fill_uniform(w, -1, 1, 6, 0);
  Tensor undefined;
  RoundedWeights weights(Precision::f16, {&w, &undefined});
  GemmOperand hit = weights.operand(w.data<float>(), 6);
  EXPECT_TRUE(hit.rounded);
  EXPECT_NE(hit.data, static_cast<const void*>(w.data<float>()));
  const float* copy = static_cast<const float*>(hit.data);
  for (int64_t i = 0; i < 24; ++i)
    EXPECT_EQ(copy[i], round_to_precision(w.data<float>()[i], Precision::f16));
  EXPECT_FALSE(weights.operand(other.data<float>(), 6).rounded);
  EXPECT_FALSE(weights.operand(w.data<float>() + 6, 6).rounded);  // only the first element
  RoundedWeights none(Precision::f32, {&w});
  EXPECT_FALSE(none.operand(w.data<float>(), 6).rounded);
}

TEST(MixedGemm, MixedPrecisionNeedsF32Tensors) {
  Tensor a = Tensor::zeros({2, 2}, DType::f64), c = Tensor::zeros({2, 2}, DType::f64);
  testing::expect_error([&] { gemm(a, false, a, false, c, 1.0, 0.0, Precision::f16); },
                        {"f16 math precision needs f32 tensors", "f64"});
  testing::expect_error([&] { round_for_gemm(a, Precision::bf16); },
                        {"expected a contiguous f32 tensor", "f64"});
}

}  // namespace
}  // namespace recur
