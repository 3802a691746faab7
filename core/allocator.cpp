#include "core/allocator.h"

#include <cstdlib>

#include "core/error.h"

namespace recur {

std::shared_ptr<std::byte> allocate_cpu(size_t bytes) {
  // aligned_alloc wants a size that is a multiple of the alignment (and non-zero to be portable).
  size_t rounded = (bytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
  if (rounded == 0) rounded = kCpuAlignment;
  RECUR_CHECK(rounded >= bytes, "CPU allocation of {} bytes overflows size_t", bytes);
  void* p = std::aligned_alloc(kCpuAlignment, rounded);
  RECUR_CHECK(p != nullptr, "out of CPU memory: could not allocate {} bytes", bytes);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

}  // namespace recur
