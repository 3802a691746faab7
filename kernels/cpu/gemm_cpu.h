// Row-major GEMM on the CPU through OpenBLAS (cblas), f32 and f64:
//   C[M,N] = alpha * op(A) * op(B) + beta * C
// op(A) is [M,K] (A stored [M,K] row stride lda, or [K,M] when trans_a); op(B) is [K,N] likewise.
#pragma once

#include <cstdint>

namespace recur {

template <class T>
void gemm_cpu(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
              int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace recur
