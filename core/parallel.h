// Threading for the CPU reference kernels: OpenMP over an index range. GEMMs thread inside
// OpenBLAS; the pointwise cell math threads here, over the batch. omp.h stays out of this header,
// so code that includes it needs no OpenMP flags.
#pragma once

#include <cstdint>
#include <functional>

namespace recur {

// Threads the CPU kernels use (OpenMP's maximum; RECUR_THREADS or OMP_NUM_THREADS set it).
int num_threads();
void set_num_threads(int n);

// Runs body(begin, end) over [0, n) split into contiguous chunks, one per thread. Ranges of at
// most `grain` run on the calling thread: a parallel region costs a few microseconds.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace recur
