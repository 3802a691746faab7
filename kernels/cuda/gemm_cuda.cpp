// Row-major GEMM through cuBLAS (gemm_cuda.h). cuBLAS is column-major: a row-major C [M,N] is a
// column-major C^T [N,M], and C^T = op(B)^T op(A)^T, so we ask cuBLAS for that product with the
// operands swapped. No data moves.
#include "kernels/cuda/gemm_cuda.h"

#include <cublas_v2.h>

#include <algorithm>

#include "core/cuda/context.h"
#include "core/cuda/cuda_check.h"

namespace recur {

namespace {

cublasOperation_t op(bool trans) {
  return trans ? CUBLAS_OP_T : CUBLAS_OP_N;
}

// ASSUMPTION: every dimension and leading dimension fits cuBLAS's int (checked, not truncated).
int to_int(int64_t v, const char* what) {
  RECUR_CHECK(v >= 0 && v <= INT32_MAX, "gemm_cuda: {} = {} is outside cuBLAS's int range", what,
              v);
  return static_cast<int>(v);
}

template <class T>
cudaDataType_t cuda_type() {
  if constexpr (std::is_same_v<T, bf16>) return CUDA_R_16BF;
  if constexpr (std::is_same_v<T, f16>) return CUDA_R_16F;
  if constexpr (std::is_same_v<T, double>) return CUDA_R_64F;
  return CUDA_R_32F;
}

}  // namespace

template <class T>
void gemm_cuda(int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               gemm_scalar_t<T> alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
               gemm_scalar_t<T> beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  CudaContext& ctx = cuda_context(device);
  cublasHandle_t handle = ctx.cublas();
  DeviceGuard guard(device);
  const int m = to_int(N, "N"), n = to_int(M, "M"), k = to_int(K, "K");
  // With K = 0 an untransposed operand has rows of length 0; cuBLAS still wants ld >= 1.
  const int la = std::max(1, to_int(lda, "lda")), lb = std::max(1, to_int(ldb, "ldb"));
  const int lc = to_int(ldc, "ldc");
  if constexpr (std::is_same_v<T, float>) {
    RECUR_CUBLAS_CHECK(
        cublasSgemm(handle, op(trans_b), op(trans_a), m, n, k, &alpha, B, lb, A, la, &beta, C, lc));
  } else if constexpr (std::is_same_v<T, double>) {
    RECUR_CUBLAS_CHECK(
        cublasDgemm(handle, op(trans_b), op(trans_a), m, n, k, &alpha, B, lb, A, la, &beta, C, lc));
  } else {
    RECUR_CUBLAS_CHECK(cublasGemmEx(
        handle, op(trans_b), op(trans_a), m, n, k, &alpha, B, cuda_type<T>(), lb, A, cuda_type<T>(),
        la, &beta, C, cuda_type<T>(), lc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT_TENSOR_OP));
  }
}

template <class T>
void gemm_cuda_strided_batched(int device, bool trans_a, bool trans_b, int64_t G, int64_t M,
                               int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                               int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta,
                               T* C, int64_t ldc, int64_t stride_c) {
  if (G == 0 || M == 0 || N == 0) return;
  cublasHandle_t handle = cuda_context(device).cublas();
  DeviceGuard guard(device);
  const int m = to_int(N, "N"), n = to_int(M, "M"), k = to_int(K, "K"), groups = to_int(G, "G");
  const int la = std::max(1, to_int(lda, "lda")), lb = std::max(1, to_int(ldb, "ldb"));
  const int lc = to_int(ldc, "ldc");
  // The operands swap as in gemm_cuda: cuBLAS's A is our B.
  if constexpr (std::is_same_v<T, float>) {
    RECUR_CUBLAS_CHECK(cublasSgemmStridedBatched(handle, op(trans_b), op(trans_a), m, n, k, &alpha,
                                                 B, lb, stride_b, A, la, stride_a, &beta, C, lc,
                                                 stride_c, groups));
  } else {
    RECUR_CUBLAS_CHECK(cublasDgemmStridedBatched(handle, op(trans_b), op(trans_a), m, n, k, &alpha,
                                                 B, lb, stride_b, A, la, stride_a, &beta, C, lc,
                                                 stride_c, groups));
  }
}

void gemm_cuda_mixed(int device, Precision precision, bool trans_a, bool trans_b, int64_t M,
                     int64_t N, int64_t K, float alpha, const void* A, int64_t lda, const void* B,
                     int64_t ldb, float beta, float* C, int64_t ldc) {
  RECUR_CHECK(precision != Precision::f32, "gemm_cuda_mixed: expected bf16 or f16 operands");
  if (M == 0 || N == 0) return;
  cublasHandle_t handle = cuda_context(device).cublas();
  DeviceGuard guard(device);
  const int m = to_int(N, "N"), n = to_int(M, "M"), k = to_int(K, "K");
  const int la = std::max(1, to_int(lda, "lda")), lb = std::max(1, to_int(ldb, "ldb"));
  const int lc = to_int(ldc, "ldc");
  const cudaDataType_t in = precision == Precision::bf16 ? CUDA_R_16BF : CUDA_R_16F;
  RECUR_CUBLAS_CHECK(cublasGemmEx(handle, op(trans_b), op(trans_a), m, n, k, &alpha, B, in, lb, A,
                                  in, la, &beta, C, CUDA_R_32F, lc, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT_TENSOR_OP));
}

template void gemm_cuda_strided_batched<float>(int, bool, bool, int64_t, int64_t, int64_t, int64_t,
                                               float, const float*, int64_t, int64_t, const float*,
                                               int64_t, int64_t, float, float*, int64_t, int64_t);
template void gemm_cuda_strided_batched<double>(int, bool, bool, int64_t, int64_t, int64_t, int64_t,
                                                double, const double*, int64_t, int64_t,
                                                const double*, int64_t, int64_t, double, double*,
                                                int64_t, int64_t);
template void gemm_cuda<float>(int, bool, bool, int64_t, int64_t, int64_t, float, const float*,
                               int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_cuda<double>(int, bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                int64_t, const double*, int64_t, double, double*, int64_t);
template void gemm_cuda<bf16>(int, bool, bool, int64_t, int64_t, int64_t, float, const bf16*,
                              int64_t, const bf16*, int64_t, float, bf16*, int64_t);
template void gemm_cuda<f16>(int, bool, bool, int64_t, int64_t, int64_t, float, const f16*, int64_t,
                             const f16*, int64_t, float, f16*, int64_t);

}  // namespace recur
