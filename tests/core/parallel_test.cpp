#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace recur {
namespace {

TEST(ParallelFor, CoversTheRangeExactlyOnceWithAnyThreadCount) {
  const int saved = num_threads();
  for (int threads : {1, 2, 3, 7}) {
    set_num_threads(threads);
    for (int64_t n : {1, 5, 64, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      parallel_for(n, 0, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << threads << " " << n;
    }
  }
  set_num_threads(saved);
}

TEST(ParallelFor, SmallRangesAndNestedCallsRunOnTheCaller) {
  const int saved = num_threads();
  set_num_threads(4);
  int calls = 0;
  parallel_for(10, 100, [&](int64_t begin, int64_t end) {
    ++calls;
    EXPECT_EQ(begin, 0);
    EXPECT_EQ(end, 10);
  });
  EXPECT_EQ(calls, 1);
  std::atomic<int> inner{0};
  parallel_for(8, 0, [&](int64_t, int64_t) {
    parallel_for(100, 0, [&](int64_t begin, int64_t end) {
      EXPECT_EQ(end - begin, 100);  // serial inside a job
      inner++;
    });
  });
  EXPECT_EQ(inner.load(), 4);
  set_num_threads(saved);
}

TEST(ParallelFor, RethrowsAnExceptionFromAnyChunk) {
  const int saved = num_threads();
  set_num_threads(3);
  EXPECT_THROW(parallel_for(30, 0,
                            [](int64_t begin, int64_t) {
                              if (begin > 0) throw std::runtime_error("chunk failed");
                            }),
               std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int> sum{0};
  parallel_for(30, 0, [&](int64_t begin, int64_t end) { sum += static_cast<int>(end - begin); });
  EXPECT_EQ(sum.load(), 30);
  set_num_threads(saved);
}

// Small jobs (fewer items than threads) and large ones, interleaved as a recurrent step does (6
// panels of a 256-wide W, then 64 rows of cell math): every item once, and the pool keeps its
// threads; it used to join and respawn them at every change of job size.
TEST(ParallelFor, JobsSmallerThanThePoolDoNotRestartIt) {
  const int saved = num_threads();
  set_num_threads(6);
  parallel_for(100, 0, [](int64_t, int64_t) {});  // the pool at 6
  const int64_t started = pool_threads_started();
  for (int job = 0; job < 300; ++job) {
    const int64_t n = std::vector<int64_t>{2, 100, 3, 5, 1000, 4}[job % 6];
    std::vector<std::atomic<int>> hits(n);
    parallel_for(n, 0, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) hits[i]++;
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "job " << job << " n " << n;
  }
  EXPECT_EQ(pool_threads_started(), started);
  set_num_threads(2);
  parallel_for(100, 0, [](int64_t, int64_t) {});
  EXPECT_EQ(pool_threads_started(), started + 1) << "a new thread count resizes the pool";
  set_num_threads(saved);
}

// Workers poll briefly for the next job, then block: jobs back to back (taken while polling), jobs
// after a pause longer than the poll (taken after a wake-up), each chunk's writes visible to the
// caller when parallel_for returns, and an exception in between.
TEST(ParallelFor, BackToBackAndPausedJobsEachSeeEveryChunk) {
  const int saved = num_threads();
  set_num_threads(2);
  std::vector<int64_t> out(64);
  for (int job = 0; job < 2000; ++job) {
    if (job % 500 == 250) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (job == 1000) {
      EXPECT_THROW(parallel_for(64, 0,
                                [](int64_t begin, int64_t) {
                                  if (begin > 0) throw std::runtime_error("chunk failed");
                                }),
                   std::runtime_error);
    }
    parallel_for(64, 0, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = job * 64 + i;  // plain writes
    });
    for (int64_t i = 0; i < 64; ++i) ASSERT_EQ(out[i], job * 64 + i) << "job " << job;
  }
  set_num_threads(saved);
}

}  // namespace
}  // namespace recur
