// The per-GPU state every CUDA op runs with (internal to .cu/.cpp files built with CUDA): the
// device's one recur stream, its cuBLAS handle bound to that stream, a workspace arena, and a
// guard that selects a device and restores the caller's. One context per device, process-wide,
// created on first use; all of recur's work on a device is ordered on its stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <mutex>

namespace recur {

// Selects `device` for the current thread and restores the previous device at scope exit.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

class CudaContext {
 public:
  explicit CudaContext(int device);
  ~CudaContext() = delete;  // lives until the process ends (the driver tears it down)

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  // cuBLAS on this context's stream, created on first use. Pointer mode host; math mode per
  // set_allow_tf32 (f32 GEMMs use TF32 tensor cores only when a user opts in).
  cublasHandle_t cublas();
  void set_allow_tf32(bool allow);
  bool allow_tf32() const { return allow_tf32_; }
  // At least `bytes` of device scratch, valid until the next call that needs more. Ordered on
  // the stream, so a kernel queued before a regrow still finishes with the old buffer.
  // ASSUMPTION: one host thread drives a device at a time (as every recur caller does); a
  // second thread growing the workspace could free the block under the first one's pointer.
  void* workspace(size_t bytes);

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  bool allow_tf32_ = false;
  std::shared_ptr<std::byte> workspace_;
  size_t workspace_bytes_ = 0;
  std::mutex mutex_;
};

// The context of GPU `device` (throws recur::Error when there is no such GPU).
CudaContext& cuda_context(int device);

}  // namespace recur
