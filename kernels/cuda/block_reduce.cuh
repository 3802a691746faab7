// Deterministic block-wide reductions for recur's CUDA kernels (device code; included by .cu files
// only). The block's values are combined in a fixed tree (thread t adds thread t + s for
// s = blockDim.x/2, ..., 1), so the result depends on the values and blockDim.x alone, never on
// scheduling: the same inputs give the same bits on every run.
#pragma once

#include <cuda_runtime.h>

namespace recur {
namespace cuda_reduce {

struct Sum {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};

// As the CPU reference's `a > m ? a : m`.
struct Max {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return b > a ? b : a;
  }
};

// Returns op over the block of every thread's `value`, on every thread.
// ASSUMPTION: blockDim.x is a power of two, every thread of the block calls it, and `scratch`
// (shared memory) holds blockDim.x values.
template <class T, class Op>
__device__ T block_reduce(T value, T* scratch, Op op) {
  const unsigned t = threadIdx.x;
  scratch[t] = value;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) scratch[t] = op(scratch[t], scratch[t + s]);
    __syncthreads();
  }
  const T total = scratch[0];
  __syncthreads();  // scratch may be written again once this returns
  return total;
}

}  // namespace cuda_reduce
}  // namespace recur
