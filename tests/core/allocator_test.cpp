#include "core/allocator.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "core/error.h"

namespace recur {
namespace {

TEST(CpuAllocator, AlignsEveryBlockIncludingEmptyOnes) {
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{4096}, size_t{3} << 20}) {
    auto p = allocate_cpu(bytes);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % kCpuAlignment, 0u) << bytes;
  }
}

TEST(CpuAllocator, ReusesLargeBlocksOfTheSameSizeAndTracksUse) {
  release_cpu_cache();
  const size_t bytes = size_t{5} << 20;
  CpuMemoryStats before = cpu_memory_stats();
  std::byte* first;
  {
    auto a = allocate_cpu(bytes);
    first = a.get();
    EXPECT_GE(cpu_memory_stats().in_use, before.in_use + bytes);
  }
  EXPECT_GE(cpu_memory_stats().cached, bytes);
  auto b = allocate_cpu(bytes);
  EXPECT_EQ(b.get(), first);
  EXPECT_EQ(cpu_memory_stats().reused, before.reused + 1);
  b.reset();
  release_cpu_cache();
  EXPECT_EQ(cpu_memory_stats().cached, 0u);
}

// The per-call buffers of small sequences (512 KiB for B=8, H=256, T=64) are cached too: glibc
// gave such blocks back to the kernel on free and they faulted in again on every call. Of several
// free blocks of one size, the one freed last comes back first (the one most likely in cache).
TEST(CpuAllocator, ReusesBlocksFrom64KiBTheLastFreedFirst) {
  release_cpu_cache();
  for (size_t bytes : {size_t{64} << 10, size_t{512} << 10, (size_t{512} << 10) + 100}) {
    const uint64_t reused = cpu_memory_stats().reused;
    auto a = allocate_cpu(bytes), b = allocate_cpu(bytes);
    std::byte* freed_last = a.get();
    b.reset();
    a.reset();
    auto c = allocate_cpu(bytes);
    EXPECT_EQ(c.get(), freed_last) << bytes;
    EXPECT_EQ(cpu_memory_stats().reused, reused + 1) << bytes;
  }
  {  // below 64 KiB: malloc's own
    const uint64_t reused = cpu_memory_stats().reused;
    auto small = allocate_cpu(size_t{60} << 10);
    small.reset();
    small = allocate_cpu(size_t{60} << 10);
    EXPECT_EQ(cpu_memory_stats().reused, reused);
  }
  release_cpu_cache();
}

// A cached block never goes back to malloc, so AddressSanitizer would not see a use after free of
// it; the allocator poisons it while it waits in the cache.
TEST(CpuAllocator, AUseAfterFreeOfACachedBlockIsReportedUnderAddressSanitizer) {
#if !defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "needs AddressSanitizer (cmake --preset asan)";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        std::byte* freed;
        {
          auto block = allocate_cpu(size_t{256} << 10);
          freed = block.get();
        }
        volatile std::byte read = freed[1000];
        (void)read;
      },
      "use-after-poison");
  auto again = allocate_cpu(size_t{256} << 10);  // handed out again: usable
  again.get()[1000] = std::byte{1};
  EXPECT_EQ(again.get()[1000], std::byte{1});
#endif
}

TEST(CpuAllocator, CacheStaysWithinItsLimit) {
  release_cpu_cache();
  const size_t old_limit = cpu_cache_limit();
  set_cpu_cache_limit(size_t{3} << 20);
  { auto a = allocate_cpu(size_t{2} << 20), b = allocate_cpu(size_t{2} << 20); }
  EXPECT_LE(cpu_memory_stats().cached, size_t{3} << 20);
  { auto big = allocate_cpu(size_t{8} << 20); }  // larger than the limit: not cached
  EXPECT_LE(cpu_memory_stats().cached, size_t{3} << 20);
  set_cpu_cache_limit(old_limit);
  release_cpu_cache();
}

TEST(CpuAllocator, ImpossibleSizesThrowNamingTheSize) {
  try {
    allocate_cpu(size_t{1} << 62);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("4611686018427387904 bytes"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace recur
