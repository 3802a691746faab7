#include "kernels/cpu/gemm_cpu.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/cpu/packed_gemm.h"

namespace recur {

namespace {

// An empty product still has to apply beta to C, which BLAS skips when K == 0 on some builds.
template <class T>
void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
}

// One row (M == 1) is a matrix-vector product, which OpenBLAS's gemv does several times faster
// than its gemm (B = 1 recurrent steps: the weights stream once from cache). Returns false when
// the shape is not a single row.
template <class T, class Gemv>
bool as_gemv(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
             int64_t lda, const T* B, int64_t ldb, T beta, T* C, Gemv gemv) {
  if (M != 1) return false;
  // c[n] = alpha * sum_k a[k] op(B)[k, n]; a's stride is lda when A is stored transposed.
  const int inc_a = trans_a ? static_cast<int>(lda) : 1;
  if (trans_b)  // B stored [N, K]: c = B a
    gemv(CblasRowMajor, CblasNoTrans, static_cast<int>(N), static_cast<int>(K), alpha, B,
         static_cast<int>(ldb), A, inc_a, beta, C, 1);
  else  // B stored [K, N]: c = B^T a
    gemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(N), alpha, B,
         static_cast<int>(ldb), A, inc_a, beta, C, 1);
  return true;
}

}  // namespace

template <>
void gemm_cpu<float>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_c(M, N, beta, C, ldc);
  if (as_gemv(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, cblas_sgemv)) return;
  if (packed_gemm_pays(M, N, K))
    return packed_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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
  if (as_gemv(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, cblas_dgemv)) return;
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(std::max<int64_t>(lda, 1)), B,
              static_cast<int>(std::max<int64_t>(ldb, 1)), beta, C,
              static_cast<int>(std::max<int64_t>(ldc, 1)));
}

}  // namespace recur
