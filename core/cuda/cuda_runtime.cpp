// core/cuda_runtime.h with CUDA: device count, the caching device allocator, copies.
//
// The allocator keeps freed blocks per device in a size-ordered pool and hands them out again:
// sizes are rounded (to 512 bytes below 1 MiB, to 2 MiB above) so the same tensors of the next
// training step find the blocks of the last one, and a cached block is reused for a request of at
// least 7/8 of its size. All of recur's work on a device runs on one stream (core/cuda/context.h),
// so a block freed while a queued kernel still reads it is only reused by work queued after that
// kernel: no synchronisation is needed on the hot path.
#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>

#include "core/cuda/context.h"
#include "core/cuda/cuda_check.h"
#include "core/cuda_runtime.h"

namespace recur {

namespace {

constexpr int kMaxDevices = 64;
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeBlock = size_t(1) << 20;
constexpr size_t kLargeRound = size_t(2) << 20;

size_t block_size(size_t bytes) {
  const size_t round = bytes < kLargeBlock ? kSmallRound : kLargeRound;
  RECUR_CHECK(bytes <= SIZE_MAX - round, "allocate_cuda: {} bytes is more than any GPU holds",
              bytes);
  return std::max(round, (bytes + round - 1) / round * round);
}

struct DevicePool {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;  // block size -> pointer
  DeviceMemoryStats stats;

  // Frees every cached block back to the driver. Caller holds the mutex.
  void release_locked(int device) {
    if (free_blocks.empty()) return;
    DeviceGuard guard(device);
    RECUR_CUDA_CHECK(cudaStreamSynchronize(cuda_context(device).stream()));
    for (auto& [size, ptr] : free_blocks) RECUR_CUDA_CHECK(cudaFree(ptr));
    free_blocks.clear();
    stats.cached = 0;
  }

  // Called by a tensor's deleter, so it must not throw: if the pool cannot take the block (no
  // host memory for a map node), the block goes back to the driver instead.
  void give_back(void* ptr, size_t size) noexcept {
    std::lock_guard<std::mutex> lock(mutex);
    stats.in_use -= size;
    try {
      free_blocks.emplace(size, ptr);
      stats.cached += size;
    } catch (...) {
      cudaFree(ptr);
    }
  }
};

void check_device(int device) {
  const int count = cuda_device_count();
  RECUR_CHECK(device >= 0 && device < count && device < kMaxDevices,
              "cuda:{}: no such GPU ({} visible to this process)", device, count);
}

DevicePool& pool(int device) {
  check_device(device);
  static std::array<DevicePool, kMaxDevices>* pools = new std::array<DevicePool, kMaxDevices>();
  return (*pools)[device];  // never freed: blocks may be returned during static destruction
}

cudaMemcpyKind copy_kind(Device dst, Device src) {
  if (dst.is_cuda()) return src.is_cuda() ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice;
  return src.is_cuda() ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost;
}

}  // namespace

bool cuda_compiled() {
  return true;
}

int cuda_device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // no driver or no GPU: clear the sticky error, report none
      return 0;
    }
    return n;
  }();
  return count;
}

std::shared_ptr<std::byte> allocate_cuda(size_t bytes, int device) {
  DevicePool& p = pool(device);
  const size_t size = block_size(bytes);
  void* ptr = nullptr;
  size_t got = size;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.free_blocks.lower_bound(size);
    if (it != p.free_blocks.end() && it->first - size <= it->first / 8) {
      got = it->first;
      ptr = it->second;
      p.free_blocks.erase(it);
      p.stats.cached -= got;
      ++p.stats.reused;
    } else {
      DeviceGuard guard(device);
      cudaError_t status = cudaMalloc(&ptr, size);
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        p.release_locked(device);
        status = cudaMalloc(&ptr, size);
      }
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        size_t free_bytes = 0, total_bytes = 0;
        cudaMemGetInfo(&free_bytes, &total_bytes);
        RECUR_FAIL(
            "out of GPU memory on cuda:{}: {} bytes requested ({} in use by recur), {} free of {}",
            device, bytes, p.stats.in_use, free_bytes, total_bytes);
      }
      RECUR_CUDA_CHECK(status);
      ++p.stats.device_mallocs;
    }
    p.stats.in_use += got;
    p.stats.peak_in_use = std::max(p.stats.peak_in_use, p.stats.in_use);
  }
  DevicePool* owner = &p;
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(ptr),
                                    [owner, got](std::byte* q) { owner->give_back(q, got); });
}

DeviceMemoryStats cuda_memory_stats(int device) {
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

void reset_cuda_peak(int device) {
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mutex);
  p.stats.peak_in_use = p.stats.in_use;
}

void release_cuda_cache(int device) {
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mutex);
  p.release_locked(device);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (!dst_device.is_cuda() && !src_device.is_cuda()) {
    std::memmove(dst, src, bytes);
    return;
  }
  const int device = dst_device.is_cuda() ? dst_device.index : src_device.index;
  CudaContext& ctx = cuda_context(device);
  // Between two GPUs the copy is queued on the destination's stream: first let the source's
  // stream finish what it still has to write into src.
  if (dst_device.is_cuda() && src_device.is_cuda() && src_device.index != dst_device.index)
    RECUR_CUDA_CHECK(cudaStreamSynchronize(cuda_context(src_device.index).stream()));
  DeviceGuard guard(device);
  RECUR_CUDA_CHECK(
      cudaMemcpyAsync(dst, src, bytes, copy_kind(dst_device, src_device), ctx.stream()));
  // The host reads what it receives next, and a host source may be freed or changed as soon as
  // this returns: any copy touching the host completes before returning. So does a copy between
  // two GPUs: the source block may go back to its own GPU's cache (another stream) next.
  if (!dst_device.is_cuda() || !src_device.is_cuda() || src_device.index != dst_device.index)
    RECUR_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
}

void zero_bytes(void* dst, Device device, size_t bytes) {
  if (bytes == 0) return;
  if (!device.is_cuda()) {
    std::memset(dst, 0, bytes);
    return;
  }
  CudaContext& ctx = cuda_context(device.index);
  DeviceGuard guard(device.index);
  RECUR_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, ctx.stream()));
}

void* cuda_stream(int device) {
  CudaContext& ctx = cuda_context(device);
  int current = -1;
  RECUR_CUDA_CHECK(cudaGetDevice(&current));
  if (current != device) RECUR_CUDA_CHECK(cudaSetDevice(device));
  return static_cast<void*>(ctx.stream());
}

double cuda_time_ms(int device, const std::function<void()>& submit, bool flush_l2) {
  CudaContext& ctx = cuda_context(device);
  DeviceGuard guard(device);
  if (flush_l2) {
    // One scratch block per device, written over twice the L2 size.
    static std::mutex mutex;
    static std::array<std::shared_ptr<std::byte>, kMaxDevices> scratch;
    static std::array<size_t, kMaxDevices> scratch_bytes{};
    std::lock_guard<std::mutex> lock(mutex);
    int l2 = 0;
    RECUR_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
    const size_t bytes = 2 * static_cast<size_t>(std::max(l2, 1 << 20));
    if (scratch_bytes[device] < bytes) {
      scratch[device] = allocate_cuda(bytes, device);
      scratch_bytes[device] = bytes;
    }
    RECUR_CUDA_CHECK(cudaMemsetAsync(scratch[device].get(), 0, bytes, ctx.stream()));
  }
  cudaEvent_t start = nullptr, stop = nullptr;
  RECUR_CUDA_CHECK(cudaEventCreate(&start));
  RECUR_CUDA_CHECK(cudaEventCreate(&stop));
  // Events are destroyed however submit() ends.
  std::unique_ptr<CUevent_st, void (*)(cudaEvent_t)> own_start(
      start, [](cudaEvent_t e) { cudaEventDestroy(e); });
  std::unique_ptr<CUevent_st, void (*)(cudaEvent_t)> own_stop(
      stop, [](cudaEvent_t e) { cudaEventDestroy(e); });
  RECUR_CUDA_CHECK(cudaEventRecord(start, ctx.stream()));
  submit();
  RECUR_CUDA_CHECK(cudaEventRecord(stop, ctx.stream()));
  RECUR_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  RECUR_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  return ms;
}

std::string cuda_device_description(int device) {
  cudaDeviceProp p{};
  RECUR_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  int driver = 0, runtime = 0;
  RECUR_CUDA_CHECK(cudaDriverGetVersion(&driver));
  RECUR_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  return fmt::format(
      "{} (sm_{}{}, {} SMs, {:.1f} GiB, L2 {} MiB), driver CUDA {}.{}, runtime {}.{}", p.name,
      p.major, p.minor, p.multiProcessorCount, static_cast<double>(p.totalGlobalMem) / (1 << 30),
      p.l2CacheSize >> 20, driver / 1000, driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
}

void set_cuda_allow_tf32(int device, bool allow) {
  cuda_context(device).set_allow_tf32(allow);
}

bool cuda_allow_tf32(int device) {
  return cuda_context(device).allow_tf32();
}

void cuda_synchronize(int device) {
  CudaContext& ctx = cuda_context(device);
  DeviceGuard guard(device);
  RECUR_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
}

}  // namespace recur
