// Checking every CUDA runtime and cuBLAS call and every kernel launch: a failure throws
// recur::Error naming the call, the library's error and recur's source location. Included by
// files built with CUDA only (cuDNN's check is kernels/cudnn/cudnn_check.h).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

#define RECUR_CUDA_CHECK(call)                                                                     \
  do {                                                                                             \
    cudaError_t recur_cuda_status_ = (call);                                                       \
    if (recur_cuda_status_ != cudaSuccess)                                                         \
      ::recur::throw_error(                                                                        \
          __FILE__, __LINE__,                                                                      \
          fmt::format("CUDA call {} failed: {} ({})", #call, cudaGetErrorName(recur_cuda_status_), \
                      cudaGetErrorString(recur_cuda_status_)));                                    \
  } while (0)

// After a <<<...>>> launch: reports launch-configuration errors at the launch site.
#define RECUR_CUDA_CHECK_LAUNCH() RECUR_CUDA_CHECK(cudaGetLastError())

#define RECUR_CUBLAS_CHECK(call)                                                      \
  do {                                                                                \
    cublasStatus_t recur_cublas_status_ = (call);                                     \
    if (recur_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                \
      ::recur::throw_error(__FILE__, __LINE__,                                        \
                           fmt::format("cuBLAS call {} failed: {} ({})", #call,       \
                                       cublasGetStatusName(recur_cublas_status_),     \
                                       cublasGetStatusString(recur_cublas_status_))); \
  } while (0)
