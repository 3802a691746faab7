// Per-GPU cuDNN handles on recur's streams (kernels/cudnn/cudnn_handle.h).
#include "kernels/cudnn/cudnn_handle.h"

#include <array>
#include <mutex>

#include "core/cuda/context.h"
#include "core/cuda_runtime.h"
#include "kernels/cudnn/cudnn_check.h"

namespace recur {

cudnnHandle_t cudnn_handle(int device) {
  constexpr int kMaxDevices = 64;
  static std::mutex mutex;
  static std::array<cudnnHandle_t, kMaxDevices> handles{};
  CudaContext& ctx = cuda_context(device);  // checks that the device exists
  RECUR_CHECK(device < kMaxDevices, "cuda:{}: recur handles at most {} GPUs", device, kMaxDevices);
  std::lock_guard<std::mutex> lock(mutex);
  if (!handles[device]) {
    DeviceGuard guard(device);
    cudnnHandle_t handle = nullptr;
    RECUR_CUDNN_CHECK(cudnnCreate(&handle));
    const cudnnStatus_t bound = cudnnSetStream(handle, ctx.stream());
    if (bound != CUDNN_STATUS_SUCCESS) {
      cudnnDestroy(handle);
      RECUR_CUDNN_CHECK(bound);
    }
    handles[device] = handle;  // never destroyed, see header
  }
  return handles[device];
}

}  // namespace recur
