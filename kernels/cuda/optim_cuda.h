// Optimizer steps and gradient-norm reductions on a GPU (train/sgd.cpp, train/adam.cpp,
// train/clip.cpp), launched on `stream` (a cudaStream_t). Pointers are device memory; T is float
// or double. Kernels (optim_cuda.cu): sgd_step_kernel and adam_step_kernel, one thread per element
// calling kernels/optim_math.h (the formula the CPU loops call); sum_of_squares_kernel and
// sum_partials_kernel, a two-pass deterministic reduction.
#pragma once

#include <cstdint>

#include "kernels/optim_math.h"

namespace recur {

// One SGD step of a parameter: p [n] and buf [n] (null when momentum == 0) in place, g [n].
template <class T>
void launch_sgd_step(const optim_math::SgdStep& step, T* p, const T* g, T* buf, int64_t n,
                     void* stream);

// One Adam/AdamW step of a parameter: p, m, v [n] in place, g [n].
template <class T>
void launch_adam_step(const optim_math::AdamStep& step, T* p, const T* g, T* m, T* v, int64_t n,
                      void* stream);

// The most partial sums launch_sum_of_squares uses: `partials` holds this many doubles.
inline constexpr int kSumOfSquaresPartials = 1024;

// *out (one double of device memory) = sum of x[i]^2 over i < n, each square and every sum in
// double. Deterministic: each block sums a fixed stride of elements and then a fixed tree; the
// block count depends on n alone; a second one-block pass adds the partial sums in a fixed tree.
template <class T>
void launch_sum_of_squares(const T* x, int64_t n, double* partials, double* out, void* stream);

}  // namespace recur
