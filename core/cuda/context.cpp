// Per-GPU contexts: stream, cuBLAS handle, workspace (core/cuda/context.h).
#include "core/cuda/context.h"

#include <array>

#include "core/cuda/cuda_check.h"
#include "core/cuda_runtime.h"

namespace recur {

DeviceGuard::DeviceGuard(int device) {
  RECUR_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) RECUR_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int current = -1;
  // A destructor must not throw: a failure to restore leaves the device as it is.
  if (cudaGetDevice(&current) == cudaSuccess && current != previous_) cudaSetDevice(previous_);
}

CudaContext::CudaContext(int device) : device_(device) {
  DeviceGuard guard(device);
  RECUR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

cublasHandle_t CudaContext::cublas() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!cublas_) {
    DeviceGuard guard(device_);
    RECUR_CUBLAS_CHECK(cublasCreate(&cublas_));
    RECUR_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    RECUR_CUBLAS_CHECK(cublasSetPointerMode(cublas_, CUBLAS_POINTER_MODE_HOST));
    RECUR_CUBLAS_CHECK(
        cublasSetMathMode(cublas_, allow_tf32_ ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }
  return cublas_;
}

void CudaContext::set_allow_tf32(bool allow) {
  std::lock_guard<std::mutex> lock(mutex_);
  allow_tf32_ = allow;
  if (cublas_)
    RECUR_CUBLAS_CHECK(
        cublasSetMathMode(cublas_, allow ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

void* CudaContext::workspace(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > workspace_bytes_) {
    workspace_ = allocate_cuda(bytes, device_);
    workspace_bytes_ = bytes;
  }
  return workspace_.get();
}

CudaContext& cuda_context(int device) {
  constexpr int kMaxDevices = 64;
  static std::mutex mutex;
  static std::array<CudaContext*, kMaxDevices> contexts{};
  const int count = cuda_device_count();
  RECUR_CHECK(device >= 0 && device < count && device < kMaxDevices,
              "cuda:{}: no such GPU ({} visible to this process)", device, count);
  std::lock_guard<std::mutex> lock(mutex);
  if (!contexts[device]) contexts[device] = new CudaContext(device);  // never freed, see header
  return *contexts[device];
}

}  // namespace recur
