// The launch shape of recur's one-thread-per-element kernels: kThreads threads per block, and the
// blocks that cover n elements. Included by .cu files only.
#pragma once

#include <cstdint>

namespace recur::cuda_launch {

constexpr int kThreads = 256;

inline unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>((n + kThreads - 1) / kThreads);
}

}  // namespace recur::cuda_launch
