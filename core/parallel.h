// Threading for the CPU reference kernels: a small pool of worker threads that sleep between
// jobs. GEMMs thread inside OpenBLAS; the pointwise cell math and reductions thread here. The
// workers block on a condition variable instead of spinning (as OpenMP's do by default), so they
// never take a core away from OpenBLAS's threads between jobs.
#pragma once

#include <cstdint>
#include <functional>

namespace recur {

// Threads parallel_for uses: the CPUs this process may run on, or RECUR_THREADS when set.
int num_threads();
// Sets the thread count (at least 1); the pool grows or shrinks at the next parallel_for.
void set_num_threads(int n);

// Runs body(begin, end) over [0, n) split into contiguous chunks, one per thread; the caller runs
// the first chunk. Ranges of at most `grain` run on the calling thread alone: waking the pool
// costs microseconds. Nested calls run serially. An exception in any chunk is rethrown here.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace recur
