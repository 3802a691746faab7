// CUDA-on-the-CPU emulation (README.md): cuBLAS (cublasSgemm, Dgemm, their StridedBatched forms,
// GemmEx with bf16/f16 inputs and f32 compute, Saxpy, Daxpy) in cuBLAS's column-major convention
// with its argument checks, on OpenBLAS (one thread); CUB's DeviceRadixSort::SortPairs as a
// stable host sort. Every operand is checked against the live device allocations.
#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "cub/device/device_radix_sort.cuh"
#include "cublas_v2.h"
#include "emu_core.h"
#include "mma.h"

using namespace emu;

// ---------------------------------------------------------------- cuBLAS
struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};
namespace emu {
static std::set<cublasHandle_t>& handles() {
  static std::set<cublasHandle_t> h;
  return h;
}
static float tf32(float x) {  // round to nearest even on the 13 dropped bits
  uint32_t u;
  memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
  memcpy(&x, &u, 4);
  return x;
}
static float to_f(const void* p, cudaDataType_t t, size_t i) {
  switch (t) {
    case CUDA_R_32F:
      return static_cast<const float*>(p)[i];
    case CUDA_R_64F:
      return static_cast<float>(static_cast<const double*>(p)[i]);
    case CUDA_R_16BF:
      return half_bits_to_float(static_cast<const unsigned short*>(p)[i], true);
    case CUDA_R_16F:
      return half_bits_to_float(static_cast<const unsigned short*>(p)[i], false);
    default:
      return 0;
  }
}
static unsigned short f_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<unsigned short>((u >> 16) | 0x40u);
  return static_cast<unsigned short>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static unsigned short f_to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u, abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<unsigned short>(sign | 0x7e00u);
  if (abs >= 0x477ff000u) return static_cast<unsigned short>(sign | 0x7c00u);
  if (abs < 0x38800000u) {
    float mag;
    memcpy(&mag, &abs, 4);
    mag += 0.5f;
    uint32_t mb;
    memcpy(&mb, &mag, 4);
    return static_cast<unsigned short>(sign | (mb - 0x3f000000u));
  }
  abs += 0xc8000fffu + ((abs >> 13) & 1u);
  return static_cast<unsigned short>(sign | (abs >> 13));
}
static void store_f(void* p, cudaDataType_t t, size_t i, float v) {
  switch (t) {
    case CUDA_R_32F:
      static_cast<float*>(p)[i] = v;
      break;
    case CUDA_R_64F:
      static_cast<double*>(p)[i] = v;
      break;
    case CUDA_R_16BF:
      static_cast<unsigned short*>(p)[i] = f_to_bf16(v);
      break;
    case CUDA_R_16F:
      static_cast<unsigned short*>(p)[i] = f_to_f16(v);
      break;
    default:
      break;
  }
}
// cuBLAS's argument checks for gemm (column-major): returns false (and reports) when cuBLAS would
// answer CUBLAS_STATUS_INVALID_VALUE.
static bool gemm_args_ok(const char* api, cublasHandle_t h, cublasOperation_t ta,
                         cublasOperation_t tb, int m, int n, int k, int lda, int ldb, int ldc) {
  if (!handles().count(h)) {
    report("%s: invalid handle", api);
    return false;
  }
  const int arows = ta == CUBLAS_OP_N ? m : k, brows = tb == CUBLAS_OP_N ? k : n;
  bool ok = m >= 0 && n >= 0 && k >= 0 && lda >= std::max(1, arows) && ldb >= std::max(1, brows) &&
            ldc >= std::max(1, m) &&
            (ta == CUBLAS_OP_N || ta == CUBLAS_OP_T || ta == CUBLAS_OP_C) &&
            (tb == CUBLAS_OP_N || tb == CUBLAS_OP_T || tb == CUBLAS_OP_C);
  if (!ok)
    report("%s: INVALID_VALUE (transa %d transb %d m %d n %d k %d lda %d ldb %d ldc %d)", api, ta,
           tb, m, n, k, lda, ldb, ldc);
  return ok;
}
// Bytes spanned by a column-major [rows, cols] operand with leading dimension ld.
static size_t span(int rows, int cols, int ld, size_t elem) {
  if (rows == 0 || cols == 0) return 0;
  return (static_cast<size_t>(cols - 1) * ld + rows) * elem;
}
static size_t elem_size(cudaDataType_t t) {
  return t == CUDA_R_64F ? 8 : t == CUDA_R_32F ? 4 : 2;
}
template <class T>
static cublasStatus_t gemm_generic(const char* api, cublasHandle_t h, cublasOperation_t ta,
                                   cublasOperation_t tb, int m, int n, int k, const void* alpha_p,
                                   const void* A, cudaDataType_t at, int lda, const void* B,
                                   cudaDataType_t bt, int ldb, const void* beta_p, void* C,
                                   cudaDataType_t ct, int ldc, bool use_tf32) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (!gemm_args_ok(api, h, ta, tb, m, n, k, lda, ldb, ldc)) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (h->pointer_mode != CUBLAS_POINTER_MODE_HOST || in_arena(alpha_p) || in_arena(beta_p)) {
    report("%s: alpha/beta are device pointers or pointer mode is device", api);
    return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  if (!stream_ok(h->stream, api)) return CUBLAS_STATUS_EXECUTION_FAILED;
  const T alpha = *static_cast<const T*>(alpha_p), beta = *static_cast<const T*>(beta_p);
  const int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
  const int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
  bool ok = true;
  if (k > 0 && alpha != T(0)) {
    ok &= check_range(A, span(ar, ac, lda, elem_size(at)), true, (std::string(api) + " A").c_str());
    ok &= check_range(B, span(br, bc, ldb, elem_size(bt)), true, (std::string(api) + " B").c_str());
  }
  ok &= check_range(C, span(m, n, ldc, elem_size(ct)), true, (std::string(api) + " C").c_str());
  if (!ok) return CUBLAS_STATUS_EXECUTION_FAILED;
  DeviceAccess acc;
  // op(A) [m, k], op(B) [k, n], column-major: element (i, j) of a matrix X with ld is X[i + j*ld].
  std::vector<T> opa(static_cast<size_t>(m) * k), opb(static_cast<size_t>(k) * n);
  auto get = [&](const void* p, cudaDataType_t t, size_t idx) -> T {
    if constexpr (std::is_same_v<T, double>)
      return static_cast<const double*>(p)[idx];
    else {
      float v = to_f(p, t, idx);
      return use_tf32 ? tf32(v) : v;
    }
  };
  for (int i = 0; i < m; ++i)
    for (int l = 0; l < k; ++l)
      opa[static_cast<size_t>(i) * k + l] = get(
          A, at,
          ta == CUBLAS_OP_N ? i + static_cast<size_t>(l) * lda : l + static_cast<size_t>(i) * lda);
  for (int l = 0; l < k; ++l)
    for (int j = 0; j < n; ++j)
      opb[static_cast<size_t>(l) * n + j] = get(
          B, bt,
          tb == CUBLAS_OP_N ? l + static_cast<size_t>(j) * ldb : j + static_cast<size_t>(l) * ldb);
  // P [m, n] row-major = opa opb (OpenBLAS, one thread)
  std::vector<T> P(static_cast<size_t>(m) * n, T(0));
  if (k > 0) {
    if constexpr (std::is_same_v<T, double>)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, opa.data(), k,
                  opb.data(), n, 0.0, P.data(), n);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, opa.data(), k,
                  opb.data(), n, 0.f, P.data(), n);
  }
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      const size_t ci = i + static_cast<size_t>(j) * ldc;
      T v = alpha * P[static_cast<size_t>(i) * n + j];
      if (beta != T(0)) {  // beta == 0: C is not read (may hold NaN)
        if constexpr (std::is_same_v<T, double>)
          v += beta * static_cast<double*>(C)[ci];
        else
          v += beta * to_f(C, ct, ci);
      }
      if constexpr (std::is_same_v<T, double>)
        static_cast<double*>(C)[ci] = v;
      else
        store_f(C, ct, ci, v);
    }
  return CUBLAS_STATUS_SUCCESS;
}
}  // namespace emu

cublasStatus_t cublasCreate(cublasHandle_t* h) {
  *h = new cublasContext;
  handles().insert(*h);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
  handles().erase(h);
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  if (!handles().count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t m) {
  if (!handles().count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->pointer_mode = m;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
  if (!handles().count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->math = m;
  return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    default:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
  }
}
const char* cublasGetStatusString(cublasStatus_t s) {
  return cublasGetStatusName(s);
}
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float* alpha, const float* A, int lda,
                           const float* B, int ldb, const float* beta, float* C, int ldc) {
  const bool tf = handles().count(h) && h->math == CUBLAS_TF32_TENSOR_OP_MATH;
  return gemm_generic<float>("cublasSgemm", h, ta, tb, m, n, k, alpha, A, CUDA_R_32F, lda, B,
                             CUDA_R_32F, ldb, beta, C, CUDA_R_32F, ldc, tf);
}
cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const double* alpha, const double* A, int lda,
                           const double* B, int ldb, const double* beta, double* C, int ldc) {
  return gemm_generic<double>("cublasDgemm", h, ta, tb, m, n, k, alpha, A, CUDA_R_64F, lda, B,
                              CUDA_R_64F, ldb, beta, C, CUDA_R_64F, ldc, false);
}
// One product per group, each checked and computed as the unbatched call would.
template <class T>
static cublasStatus_t gemm_strided_batched(const char* api, cublasHandle_t h, cublasOperation_t ta,
                                           cublasOperation_t tb, int m, int n, int k,
                                           const T* alpha, const T* A, int lda, long long sa,
                                           const T* B, int ldb, long long sb, const T* beta, T* C,
                                           int ldc, long long sc, int batch, bool tf) {
  if (batch < 0) {
    report("%s: batchCount %d < 0", api, batch);
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  const cudaDataType_t type = std::is_same_v<T, double> ? CUDA_R_64F : CUDA_R_32F;
  for (int g = 0; g < batch; ++g) {
    const cublasStatus_t status =
        gemm_generic<T>(api, h, ta, tb, m, n, k, alpha, A + g * sa, type, lda, B + g * sb, type,
                        ldb, beta, C + g * sc, type, ldc, tf);
    if (status != CUBLAS_STATUS_SUCCESS) return status;
  }
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float* alpha, const float* A, int lda,
                                         long long strideA, const float* B, int ldb,
                                         long long strideB, const float* beta, float* C, int ldc,
                                         long long strideC, int batchCount) {
  const bool tf = handles().count(h) && h->math == CUBLAS_TF32_TENSOR_OP_MATH;
  return gemm_strided_batched<float>("cublasSgemmStridedBatched", h, ta, tb, m, n, k, alpha, A, lda,
                                     strideA, B, ldb, strideB, beta, C, ldc, strideC, batchCount,
                                     tf);
}
cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const double* alpha, const double* A, int lda,
                                         long long strideA, const double* B, int ldb,
                                         long long strideB, const double* beta, double* C, int ldc,
                                         long long strideC, int batchCount) {
  return gemm_strided_batched<double>("cublasDgemmStridedBatched", h, ta, tb, m, n, k, alpha, A,
                                      lda, strideA, B, ldb, strideB, beta, C, ldc, strideC,
                                      batchCount, false);
}
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void* alpha, const void* A, cudaDataType_t at,
                            int lda, const void* B, cudaDataType_t bt, int ldb, const void* beta,
                            void* C, cudaDataType_t ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t) {
  const bool half_in = (at == CUDA_R_16BF || at == CUDA_R_16F);
  bool supported =
      at == bt && compute == CUBLAS_COMPUTE_32F &&
      ((half_in && (ct == at || ct == CUDA_R_32F)) || (at == CUDA_R_32F && ct == CUDA_R_32F));
  if (!supported) {
    report("cublasGemmEx: type combination A %d B %d C %d compute %d not supported", at, bt, ct,
           compute);
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  const bool tf = at == CUDA_R_32F && handles().count(h) && h->math == CUBLAS_TF32_TENSOR_OP_MATH;
  return gemm_generic<float>("cublasGemmEx", h, ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb,
                             beta, C, ct, ldc, tf);
}
template <class T>
static cublasStatus_t axpy(const char* api, cublasHandle_t h, int n, const T* alpha, const T* x,
                           int incx, T* y, int incy) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (!handles().count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (n <= 0) return CUBLAS_STATUS_SUCCESS;
  if (incx <= 0 || incy <= 0) {
    report("%s: non-positive increments not emulated", api);
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  bool ok = check_range(x, (static_cast<size_t>(n - 1) * incx + 1) * sizeof(T), true, api) &&
            check_range(y, (static_cast<size_t>(n - 1) * incy + 1) * sizeof(T), true, api);
  if (!ok) return CUBLAS_STATUS_EXECUTION_FAILED;
  DeviceAccess acc;
  for (int i = 0; i < n; ++i)
    y[static_cast<size_t>(i) * incy] += *alpha * x[static_cast<size_t>(i) * incx];
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSaxpy(cublasHandle_t h, int n, const float* alpha, const float* x, int incx,
                           float* y, int incy) {
  return axpy("cublasSaxpy", h, n, alpha, x, incx, y, incy);
}
cublasStatus_t cublasDaxpy(cublasHandle_t h, int n, const double* alpha, const double* x, int incx,
                           double* y, int incy) {
  return axpy("cublasDaxpy", h, n, alpha, x, incx, y, incy);
}

// ---------------------------------------------------------------- CUB
namespace emu {
cudaError_t radix_sort_pairs_u32_i32(void* temp, size_t& temp_bytes, const uint32_t* kin,
                                     uint32_t* kout, const int32_t* vin, int32_t* vout, int n,
                                     int begin_bit, int end_bit, cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  const size_t need = static_cast<size_t>(std::max(n, 0)) * 8 + 1024;  // some non-zero amount
  if (temp == nullptr) {
    temp_bytes = need;
    return cudaSuccess;
  }
  if (temp_bytes < need) {
    report("cub::DeviceRadixSort::SortPairs: %zu bytes of temporary storage, %zu needed",
           temp_bytes, need);
    return set_error(cudaErrorInvalidValue);
  }
  if (n <= 0) return cudaSuccess;
  if (!stream_ok(s, "cub::DeviceRadixSort::SortPairs"))
    return set_error(cudaErrorInvalidResourceHandle);
  const size_t kb = static_cast<size_t>(n) * 4;
  bool ok = check_range(temp, temp_bytes, true, "SortPairs temp") &&
            check_range(kin, kb, true, "SortPairs keys_in") &&
            check_range(kout, kb, true, "SortPairs keys_out") &&
            check_range(vin, kb, true, "SortPairs values_in") &&
            check_range(vout, kb, true, "SortPairs values_out");
  if (!ok) return set_error(cudaErrorInvalidValue);
  if (begin_bit < 0 || end_bit > 32 || begin_bit >= end_bit)
    return set_error(cudaErrorInvalidValue);
  DeviceAccess acc;
  const uint64_t mask = ((uint64_t{1} << (end_bit - begin_bit)) - 1) << begin_bit;
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return (kin[a] & mask) < (kin[b] & mask); });
  std::vector<uint32_t> k2(n);
  std::vector<int32_t> v2(n);
  for (int i = 0; i < n; ++i) {
    k2[i] = kin[order[i]];
    v2[i] = vin[order[i]];
  }
  memcpy(kout, k2.data(), kb);
  memcpy(vout, v2.data(), kb);
  memset(temp, 0xEE, std::min(temp_bytes, need));  // CUB scribbles over its temporary storage
  return cudaSuccess;
}

// OpenBLAS on one thread (these GEMMs, the fake cuDNN's and recur's CPU ones), from start-up.
struct OneBlasThread {
  OneBlasThread() { openblas_set_num_threads(1); }
};
static OneBlasThread g_one_blas_thread;
}  // namespace emu
