#include "kernels/cpu/gemm_cpu.h"

#include <cblas.h>

#include <algorithm>

namespace recur {

namespace {

// An empty product still has to apply beta to C, which BLAS skips when K == 0 on some builds.
template <class T>
void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
}

}  // namespace

template <>
void gemm_cpu<float>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_c(M, N, beta, C, ldc);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(std::max<int64_t>(lda, 1)), B,
              static_cast<int>(std::max<int64_t>(ldb, 1)), beta, C,
              static_cast<int>(std::max<int64_t>(ldc, 1)));
}

template <>
void gemm_cpu<double>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                      const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
                      double* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_c(M, N, beta, C, ldc);
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(std::max<int64_t>(lda, 1)), B,
              static_cast<int>(std::max<int64_t>(ldb, 1)), beta, C,
              static_cast<int>(std::max<int64_t>(ldc, 1)));
}

}  // namespace recur
