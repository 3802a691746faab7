// The CPU GEMM wrapper against a naive triple loop, for every transpose combination and the
// shapes that take special paths (a single row goes through gemv, K = 0 only scales C); the
// batched GEMM against one gemm per group.
#include "kernels/cpu/gemm_cpu.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/random.h"
#include "kernels/gemm.h"

namespace recur {
namespace {

template <class T>
void check(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, T beta) {
  Tensor a = Tensor::empty({ta ? K : M, ta ? M : K}, dtype_of<T>);
  Tensor b = Tensor::empty({tb ? N : K, tb ? K : N}, dtype_of<T>);
  Tensor c = Tensor::empty({M, N}, dtype_of<T>);
  fill_uniform(a, -1, 1, 1, 0);
  fill_uniform(b, -1, 1, 2, 0);
  fill_uniform(c, -1, 1, 3, 0);
  std::vector<double> expected(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += (ta ? a.item({k, i}) : a.item({i, k})) * (tb ? b.item({j, k}) : b.item({k, j}));
      expected[i * N + j] = alpha * s + beta * c.item({i, j});
    }
  gemm_cpu<T>(ta, tb, M, N, K, alpha, a.data<T>(), a.size(1), b.data<T>(), b.size(1), beta,
              c.data<T>(), N);
  std::vector<double> got = c.to_vector();
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
  for (int64_t i = 0; i < M * N; ++i)
    ASSERT_NEAR(got[i], expected[i], tol * (1 + std::fabs(expected[i])))
        << "ta=" << ta << " tb=" << tb << " M=" << M << " N=" << N << " K=" << K << " at " << i;
}

TEST(CpuGemm, MatchesNaiveProductForEveryTransposeAndShape) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto [M, N, K] : {std::tuple{5, 7, 3}, {1, 9, 4}, {1, 1, 6}, {6, 1, 2}, {3, 4, 0}}) {
        check<double>(ta, tb, M, N, K, 1.5, 0.5);
        check<float>(ta, tb, M, N, K, 1.0f, 0.0f);
      }
}

TEST(CpuGemm, TensorGemmChecksShapes) {
  Tensor a = Tensor::zeros({2, 3}, DType::f32), b = Tensor::zeros({4, 5}, DType::f32);
  Tensor c = Tensor::zeros({2, 5}, DType::f32);
  EXPECT_THROW(gemm(a, false, b, false, c), Error);
  Tensor d = Tensor::zeros({2, 3}, DType::f64);
  EXPECT_THROW(gemm(d, false, b, false, c), Error);
}

// Each group of batched_gemm is the gemm of that group's slices, bit for bit.
TEST(CpuGemm, BatchedGemmIsOneGemmPerGroup) {
  const int64_t G = 3, M = 5, N = 4, K = 6;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = Tensor::empty({G, ta ? K : M, ta ? M : K}, DType::f64);
      Tensor b = Tensor::empty({G, tb ? N : K, tb ? K : N}, DType::f64);
      Tensor c = Tensor::empty({G, M, N}, DType::f64);
      fill_uniform(a, -1, 1, 1, 0);
      fill_uniform(b, -1, 1, 2, 0);
      fill_uniform(c, -1, 1, 3, 0);
      Tensor expected = c.clone();
      for (int64_t g = 0; g < G; ++g) {
        Tensor c_g = expected.select(0, g);
        gemm(a.select(0, g), ta, b.select(0, g), tb, c_g, 0.5, 2.0);
      }
      batched_gemm(a, ta, b, tb, c, 0.5, 2.0);
      EXPECT_EQ(c.to_vector(), expected.to_vector()) << "ta=" << ta << " tb=" << tb;
    }
}

TEST(CpuGemm, BatchedGemmChecksShapes) {
  Tensor a = Tensor::zeros({2, 3, 4}, DType::f32), b = Tensor::zeros({2, 4, 5}, DType::f32);
  Tensor c = Tensor::zeros({2, 3, 5}, DType::f32);
  EXPECT_NO_THROW(batched_gemm(a, false, b, false, c));
  Tensor three_groups = Tensor::zeros({3, 4, 5}, DType::f32);
  EXPECT_THROW(batched_gemm(a, false, three_groups, false, c), Error);
  EXPECT_THROW(batched_gemm(a, false, b, true, c), Error);
  Tensor flat = Tensor::zeros({3, 4}, DType::f32);
  EXPECT_THROW(batched_gemm(flat, false, b, false, c), Error);
  EXPECT_THROW(batched_gemm(a.to(DType::f64), false, b, false, c), Error);
}

}  // namespace
}  // namespace recur
