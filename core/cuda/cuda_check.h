// Checking every CUDA runtime call and kernel launch: a failure throws recur::Error naming the
// call, the CUDA error and recur's source location. Included by .cu files and GPU tests only.
#pragma once

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
