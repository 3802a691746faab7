#include "core/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "core/error.h"

// Under AddressSanitizer a cached block is poisoned while it waits in the cache, so a use after
// free of a tensor is still reported though its memory never went back to malloc.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define RECUR_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define RECUR_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define RECUR_POISON(p, n) ((void)(p), (void)(n))
#define RECUR_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace recur {

namespace {

// Blocks of 64 KiB and up are cached. Below that malloc keeps freed memory in its own free
// lists; above its mmap threshold (128 KiB at first, raised as mmapped blocks are freed, and its
// heap trimmed past twice that) glibc hands freed pages back to the kernel, so the per-call
// buffers of a B=8, H=256 sequence (512 KiB) faulted in again on every call: ~1000 page faults
// and over half the time of an rnn_tanh training call (perf, this VM).
constexpr size_t kCachedMin = size_t{1} << 16;

// Cached sizes round up to 4 KiB below 1 MiB and to 64 KiB above: at most 1/16 more than asked.
size_t cached_size(size_t rounded) {
  const size_t step = rounded < (size_t{1} << 20) ? size_t{1} << 12 : size_t{1} << 16;
  return (rounded + step - 1) / step * step;
}

size_t limit_from_env() {
  const char* mb = std::getenv("RECUR_CPU_CACHE_MB");
  if (mb && *mb) return static_cast<size_t>(std::strtoull(mb, nullptr, 10)) << 20;
  return size_t{2} << 30;
}

struct BlockCache {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;  // size -> block
  CpuMemoryStats stats;
  size_t limit = limit_from_env();

  void trim_to(size_t target) {  // caller holds the mutex
    while (stats.cached > target && !free_blocks.empty()) {
      auto largest = std::prev(free_blocks.end());
      stats.cached -= largest->first;
      RECUR_UNPOISON(largest->second, largest->first);
      std::free(largest->second);
      free_blocks.erase(largest);
    }
  }
};

// Never destroyed: tensors freed during static destruction still find it.
BlockCache& cache() {
  static BlockCache* c = new BlockCache();
  return *c;
}

void* aligned(size_t rounded, size_t bytes) {
  void* p = std::aligned_alloc(kCpuAlignment, rounded);
  RECUR_CHECK(p != nullptr, "out of CPU memory: could not allocate {} bytes", bytes);
  return p;
}

}  // namespace

std::shared_ptr<std::byte> allocate_cpu(size_t bytes) {
  // aligned_alloc wants a size that is a multiple of the alignment (and non-zero to be portable).
  size_t rounded = (bytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
  if (rounded == 0) rounded = kCpuAlignment;
  RECUR_CHECK(rounded >= bytes, "CPU allocation of {} bytes overflows size_t", bytes);
  if (rounded < kCachedMin) {
    return std::shared_ptr<std::byte>(static_cast<std::byte*>(aligned(rounded, bytes)),
                                      [](std::byte* q) { std::free(q); });
  }
  rounded = cached_size(rounded);
  BlockCache& c = cache();
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    // The block of this size freed last (a multimap inserts at the end of equal keys): the one
    // most likely still in cache.
    auto it = c.free_blocks.upper_bound(rounded);
    if (it != c.free_blocks.begin() && (--it)->first == rounded) {
      p = it->second;
      RECUR_UNPOISON(p, rounded);
      c.free_blocks.erase(it);
      c.stats.cached -= rounded;
      ++c.stats.reused;
    }
  }
  if (!p) {
    try {
      p = aligned(rounded, bytes);
    } catch (const Error&) {
      release_cpu_cache();  // cached blocks of other sizes may make room
      p = aligned(rounded, bytes);
    }
  }
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.in_use += rounded;
    if (c.stats.in_use > c.stats.peak_in_use) c.stats.peak_in_use = c.stats.in_use;
  }
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [rounded](std::byte* q) {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.in_use -= rounded;
    if (rounded > c.limit) {
      std::free(q);
      return;
    }
    c.trim_to(c.limit - rounded);
    RECUR_POISON(q, rounded);
    c.free_blocks.emplace(rounded, q);
    c.stats.cached += rounded;
  });
}

CpuMemoryStats cpu_memory_stats() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  return cache().stats;
}

size_t cpu_cache_limit() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  return cache().limit;
}

void set_cpu_cache_limit(size_t bytes) {
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().limit = bytes;
  cache().trim_to(bytes);
}

void release_cpu_cache() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().trim_to(0);
}

}  // namespace recur
