// Row-major GEMM on a GPU through cuBLAS, on the device's recur stream (core/cuda/context.h):
//   C[M,N] = alpha * op(A) * op(B) + beta * C
// op(A) is [M,K] (A stored [M,K] row stride lda, or [K,M] when trans_a); op(B) likewise [K,N].
// Every pointer is device memory on GPU `device`.
//   T = float:  f32 math; TF32 tensor cores only when the context opts in (set_allow_tf32).
//   T = double: f64.
//   T = bf16 or f16: tensor cores with f32 accumulation (cublasGemmEx, CUBLAS_COMPUTE_32F);
//                    alpha and beta are f32.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/half.h"
#include "core/precision.h"

namespace recur {

// The type of alpha and beta: double for f64 GEMMs, float for every other element type.
template <class T>
using gemm_scalar_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <class T>
void gemm_cuda(int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               gemm_scalar_t<T> alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
               gemm_scalar_t<T> beta, T* C, int64_t ldc);

// G products of one shape at once (cublas<S|D>gemmStridedBatched): group g's operands start
// stride_a, stride_b and stride_c elements after group g-1's. T = float (f32 math, TF32 as
// gemm_cuda) or double.
template <class T>
void gemm_cuda_strided_batched(int device, bool trans_a, bool trans_b, int64_t G, int64_t M,
                               int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                               int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta,
                               T* C, int64_t ldc, int64_t stride_c);

// Mixed precision (kernels/mixed_gemm.h): A and B hold operand_dtype(precision) elements (bf16
// or f16), C is f32; tensor cores with f32 accumulation (cublasGemmEx, CUBLAS_COMPUTE_32F).
void gemm_cuda_mixed(int device, Precision precision, bool trans_a, bool trans_b, int64_t M,
                     int64_t N, int64_t K, float alpha, const void* A, int64_t lda, const void* B,
                     int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace recur
