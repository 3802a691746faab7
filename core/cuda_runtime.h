// The CUDA runtime as the rest of recur sees it, without any CUDA header: how many GPUs there are,
// device memory from the caching allocator, copies between host and device, synchronisation.
// Implemented by core/cuda/cuda_runtime.cpp where the build has CUDA, and by
// core/cuda_absent.cpp where it has not: there cuda_device_count() is 0 and every other call
// throws recur::Error saying this build has no CUDA.
//
// Every device operation runs on the device's one recur stream (core/cuda/context.h), so work
// submitted by recur is ordered and memory returned to the cache can be reused at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/device.h"

namespace recur {

// True when this build compiled the CUDA kernels (RECUR_WITH_CUDA).
bool cuda_compiled();
// GPUs usable by this process: 0 without CUDA in the build, without a driver or without a GPU.
int cuda_device_count();

// `bytes` (may be 0) of memory on GPU `device`, 256-byte aligned, from the caching allocator:
// freed blocks are kept and handed out again, so the training loop never calls cudaMalloc or
// cudaFree once warm. When the GPU is full the cache is released and the allocation retried once;
// if it still fails, recur::Error names the bytes requested and the bytes free.
std::shared_ptr<std::byte> allocate_cuda(size_t bytes, int device);

struct DeviceMemoryStats {
  size_t in_use = 0;            // bytes in live allocations (rounded to the allocator's blocks)
  size_t peak_in_use = 0;       // the most in_use has been
  size_t cached = 0;            // bytes held for reuse
  uint64_t device_mallocs = 0;  // cudaMalloc calls so far
  uint64_t reused = 0;          // allocations served from the cache
};
DeviceMemoryStats cuda_memory_stats(int device);
void reset_cuda_peak(int device);
// Returns every cached block to the driver (after the device's stream has finished).
void release_cuda_cache(int device);

// Copies `bytes` between any two of host and GPU memory. Blocks until the copy is done when the
// destination is the host (the caller reads it next); device destinations are ordered on the
// device's stream. Copies are always explicit: tensors never move between devices by themselves.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
// Sets `bytes` of memory on `device` (host or GPU) to zero.
void zero_bytes(void* dst, Device device, size_t bytes);
// The cudaStream_t (as void*) on which recur queues all work for GPU `device`. Also makes `device`
// the calling thread's current GPU, so that the kernels launched next on the stream run there
// (every dispatch point asks for the stream right before launching).
void* cuda_stream(int device);
// Milliseconds that the GPU spends on the work `submit` queues on recur's stream of `device`,
// timed with CUDA events; with flush_l2, a write over twice the L2 size runs first (outside the
// timed interval) so the work starts with a cold cache. Waits for the work to finish.
double cuda_time_ms(int device, const std::function<void()>& submit, bool flush_l2);
// Name, compute capability, memory and driver/runtime versions of GPU `device`, for records.
std::string cuda_device_description(int device);
// Waits for everything recur has submitted to GPU `device`.
void cuda_synchronize(int device);

// TF32 for f32 math on GPU `device`, off by default: when allowed, recur's f32 GEMMs through
// cuBLAS (the fused engine's recurrent and projection GEMMs, Linear, the weight gradients) may
// round their operands to TF32 (10 mantissa bits) on tensor cores, as PyTorch's
// torch.backends.cuda.matmul.allow_tf32 does. The persistent engine's own f32 products and the
// cuDNN engine (FMA math) stay full f32 either way; bf16/f16 math is not affected.
void set_cuda_allow_tf32(int device, bool allow);
bool cuda_allow_tf32(int device);

}  // namespace recur
