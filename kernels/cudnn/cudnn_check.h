// Checking every cuDNN call: a failure throws recur::Error naming the call, cuDNN's status and its
// own last error message, with recur's source location. Included by files built with cuDNN only
// (CUDA runtime and cuBLAS checks are core/cuda/cuda_check.h).
#pragma once

#include <cudnn.h>

#include <string>

#include "core/error.h"

namespace recur {

// cuDNN's description of the last failure on this thread ("" when it kept none).
inline std::string cudnn_last_error() {
  char message[1024] = {0};
  cudnnGetLastErrorString(message, sizeof(message));
  return message;
}

// True for CUDNN_STATUS_NOT_SUPPORTED and its sub-codes (cuDNN 9 groups statuses by thousands):
// cuDNN cannot run this configuration, as opposed to a misuse or a failure.
inline bool cudnn_not_supported(cudnnStatus_t status) {
#ifdef CUDNN_STATUS_CATEGORY
  return CUDNN_STATUS_CATEGORY(static_cast<int>(status)) ==
         static_cast<int>(CUDNN_STATUS_NOT_SUPPORTED);
#else
  return status == CUDNN_STATUS_NOT_SUPPORTED;
#endif
}

[[noreturn]] inline void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file,
                                           int line) {
  const std::string detail = cudnn_last_error();
  throw_error(file, line,
              fmt::format("cuDNN call {} failed: {}{}{}", call, cudnnGetErrorString(status),
                          detail.empty() ? "" : ": ", detail));
}

}  // namespace recur

#define RECUR_CUDNN_CHECK(call)                                                   \
  do {                                                                            \
    cudnnStatus_t recur_cudnn_status_ = (call);                                   \
    if (recur_cudnn_status_ != CUDNN_STATUS_SUCCESS)                              \
      ::recur::throw_cudnn_error(recur_cudnn_status_, #call, __FILE__, __LINE__); \
  } while (0)
