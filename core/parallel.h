// Threading for the CPU reference kernels: a small pool of worker threads. Large GEMMs thread
// inside OpenBLAS; the per-step GEMMs at small batch, the pointwise cell math and reductions
// thread here. Between jobs a worker polls for up to 200 us, yielding the core at every poll (so
// OpenBLAS's threads, or anyone's, run first), then blocks on a condition variable: back-to-back
// jobs (one per recurrent step) start in ~1 us instead of the ~60 us a wake-up costs on a small
// VM, and an idle pool spins for no longer than that (never as OpenMP's default spin-wait).
#pragma once

#include <cstdint>
#include <functional>

namespace recur {

// Threads parallel_for uses: the CPUs this process may run on, or RECUR_THREADS when set.
int num_threads();
// Sets the thread count (1 to 4096); the pool grows or shrinks at the next parallel_for.
void set_num_threads(int n);
// Worker threads the pool has started since the process began. A job over fewer items than
// threads leaves the pool as it is (its extra workers sit it out), so this changes only with
// set_num_threads.
int64_t pool_threads_started();

// Runs body(begin, end) over [0, n) split into contiguous chunks, one per thread; the caller runs
// the first chunk. Ranges of at most `grain` run on the calling thread alone: waking the pool
// costs microseconds. Nested calls run serially. An exception in any chunk is rethrown here.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace recur
