// The aligned CPU allocator behind every host tensor. Memory comes back as a shared_ptr so views,
// memory-mapped files and user buffers can all own storage the same way.
//
// Blocks of 64 KiB and up are cached when freed and handed out again for the same size (the one
// freed last first), as a GPU caching allocator does: a training step allocates the same
// activations every iteration, and fresh pages from the kernel cost a fault and a zeroing per
// 4 KiB (about a tenth of an LSTM training step on the CPU; five sixths of an rnn_tanh training
// call at B=8, H=256, whose 512 KiB buffers glibc handed back to the kernel at every free). The
// cache holds at most cpu_cache_limit() bytes (default 2 GiB, RECUR_CPU_CACHE_MB overrides);
// release_cpu_cache() returns it all to the system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace recur {

// 64-byte alignment: a cache line, and enough for any AVX-512 load.
constexpr size_t kCpuAlignment = 64;

// Allocates `bytes` (may be 0) aligned to kCpuAlignment. Throws recur::Error naming the size when
// the system has no memory for it.
std::shared_ptr<std::byte> allocate_cpu(size_t bytes);

struct CpuMemoryStats {
  size_t in_use = 0;       // bytes held by live allocations (large blocks, rounded)
  size_t peak_in_use = 0;  // the most in_use has been
  size_t cached = 0;       // bytes kept for reuse
  uint64_t reused = 0;     // allocations served from the cache
};
CpuMemoryStats cpu_memory_stats();
size_t cpu_cache_limit();
void set_cpu_cache_limit(size_t bytes);
void release_cpu_cache();

}  // namespace recur
