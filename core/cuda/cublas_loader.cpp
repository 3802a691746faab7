// cuBLAS, loaded on first use. librecur does not link libcublas: the functions recur calls are
// defined here, hidden (not exported, so they never stand in for another library's cuBLAS), and
// each finds the real one in libcublas through dlopen the first time it runs. Linking it made every
// process that loads librecur (each test, the `recur` command, CPU-only runs) pay ~0.4 s at start,
// mapping and relocating libcublas and its 540 MB libcublasLt, GPU or not; and a CUDA build of
// recur would not start at all on a machine without cuBLAS.
//
// A cuBLAS function recur starts calling must be added here (the link fails until it is).
#include <cuComplex.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <library_types.h>

#include <cstdint>
#include <string>

#include "core/cuda/cublas_loader.h"
#include "core/error.h"

// cuBLAS's declarations, and so the definitions below, hidden (what cublas_api.h includes comes
// first, outside it).
#pragma GCC visibility push(hidden)
#include <cublas_v2.h>
#pragma GCC visibility pop

namespace recur {
namespace {

// libcublas.so.<CUDA major> by the loader's search (LD_LIBRARY_PATH, librecur's RUNPATH, the
// system's), then in the CUDA toolkit recur was built with.
void* cublas_library() {
  static void* const library = [] {
    const std::string soname = RECUR_CUBLAS_SONAME;
    void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const std::string first_error = dlerror();
      handle =
          dlopen((std::string(RECUR_CUBLAS_DIR) + "/" + soname).c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle)
        RECUR_FAIL("cannot load cuBLAS, which recur's GPU engines need: {} (also tried {})",
                   first_error, RECUR_CUBLAS_DIR);
    }
    return handle;
  }();
  return library;
}

template <class Function>
Function cublas_function(const char* name) {
  void* symbol = dlsym(cublas_library(), name);
  RECUR_CHECK(symbol, "the loaded cuBLAS ({}) has no function {}", RECUR_CUBLAS_SONAME, name);
  return reinterpret_cast<Function>(symbol);
}

}  // namespace

const std::string& cublas_library_path() {
  static const std::string path = [] {
    Dl_info info{};
    void* symbol = dlsym(cublas_library(), "cublasCreate_v2");
    return symbol && dladdr(symbol, &info) && info.dli_fname ? std::string(info.dli_fname)
                                                             : std::string(RECUR_CUBLAS_SONAME);
  }();
  return path;
}

}  // namespace recur

// Each: the real function, found once, called with the same arguments.
#define RECUR_CUBLAS_REAL(name) \
  static const auto real = recur::cublas_function<decltype(&name)>(#name)

#pragma GCC visibility push(hidden)
extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  RECUR_CUBLAS_REAL(cublasCreate_v2);
  return real(handle);
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  RECUR_CUBLAS_REAL(cublasSetStream_v2);
  return real(handle, stream);
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode) {
  RECUR_CUBLAS_REAL(cublasSetPointerMode_v2);
  return real(handle, mode);
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  RECUR_CUBLAS_REAL(cublasSetMathMode);
  return real(handle, mode);
}

const char* cublasGetStatusName(cublasStatus_t status) {
  RECUR_CUBLAS_REAL(cublasGetStatusName);
  return real(status);
}

const char* cublasGetStatusString(cublasStatus_t status) {
  RECUR_CUBLAS_REAL(cublasGetStatusString);
  return real(status);
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const float* alpha,
                              const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
  RECUR_CUBLAS_REAL(cublasSgemm_v2);
  return real(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t cublasDgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const double* alpha,
                              const double* A, int lda, const double* B, int ldb,
                              const double* beta, double* C, int ldc) {
  RECUR_CUBLAS_REAL(cublasDgemm_v2);
  return real(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float* alpha, const float* A, int lda,
                                         long long int strideA, const float* B, int ldb,
                                         long long int strideB, const float* beta, float* C,
                                         int ldc, long long int strideC, int batchCount) {
  RECUR_CUBLAS_REAL(cublasSgemmStridedBatched);
  return real(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C,
              ldc, strideC, batchCount);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const double* alpha, const double* A, int lda,
                                         long long int strideA, const double* B, int ldb,
                                         long long int strideB, const double* beta, double* C,
                                         int ldc, long long int strideC, int batchCount) {
  RECUR_CUBLAS_REAL(cublasDgemmStridedBatched);
  return real(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C,
              ldc, strideC, batchCount);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void* alpha,
                            const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo) {
  // (Not decltype: C++ also sees cublas_api.h's inline overload for old code, which takes the
  // compute type as a cudaDataType.)
  using Real = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                  int, const void*, const void*, cudaDataType, int, const void*,
                                  cudaDataType, int, const void*, void*, cudaDataType, int,
                                  cublasComputeType_t, cublasGemmAlgo_t);
  static const auto real = recur::cublas_function<Real>("cublasGemmEx");
  return real(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype,
              ldc, computeType, algo);
}

cublasStatus_t cublasSaxpy_v2(cublasHandle_t handle, int n, const float* alpha, const float* x,
                              int incx, float* y, int incy) {
  RECUR_CUBLAS_REAL(cublasSaxpy_v2);
  return real(handle, n, alpha, x, incx, y, incy);
}

cublasStatus_t cublasDaxpy_v2(cublasHandle_t handle, int n, const double* alpha, const double* x,
                              int incx, double* y, int incy) {
  RECUR_CUBLAS_REAL(cublasDaxpy_v2);
  return real(handle, n, alpha, x, incx, y, incy);
}

}  // extern "C"

#pragma GCC visibility pop
