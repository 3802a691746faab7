// The aligned CPU allocator behind every host tensor. Memory comes back as a shared_ptr so views,
// memory-mapped files and user buffers can all own storage the same way.
#pragma once

#include <cstddef>
#include <memory>

namespace recur {

// 64-byte alignment: a cache line, and enough for any AVX-512 load.
constexpr size_t kCpuAlignment = 64;

// Allocates `bytes` (may be 0) aligned to kCpuAlignment. Throws recur::Error naming the size when
// the system has no memory for it.
std::shared_ptr<std::byte> allocate_cpu(size_t bytes);

}  // namespace recur
