// Optimizer steps and the gradient-norm reduction on a GPU (optim_cuda.h). The update of each
// element is kernels/optim_math.h's, the same function the CPU loops call, with the step's
// scalars cast to T on the host exactly as they are for the CPU.
#include <cuda_runtime.h>

#include "core/cuda/cuda_check.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/optim_cuda.h"

namespace recur {

namespace {

using cuda_launch::blocks_for;
using cuda_launch::kThreads;

template <class T>
__global__ void sgd_step_kernel(const optim_math::SgdCoeffs<T> c, T* p, const T* g, T* buf,
                                int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) optim_math::sgd_element(c, p[i], g[i], buf ? buf + i : nullptr);
}

template <class T>
__global__ void adam_step_kernel(const optim_math::AdamCoeffs<T> c, T* p, const T* g, T* m, T* v,
                                 int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) optim_math::adam_element(c, p[i], g[i], m[i], v[i]);
}

// Block b: thread t sums the squares of elements b*kThreads + t + k*gridDim.x*kThreads, k = 0..,
// in order; the block adds its threads' sums in a fixed tree into partials[b].
template <class T>
__global__ void sum_of_squares_kernel(const T* x, int64_t n, double* partials) {
  __shared__ double scratch[kThreads];
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  double sum = 0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const double v = static_cast<double>(x[i]);
    sum += v * v;
  }
  sum = cuda_reduce::block_reduce(sum, scratch, cuda_reduce::Sum());
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

// One block of kSumOfSquaresPartials threads: *out = the sum of partials[0..count) in a fixed tree.
__global__ void __launch_bounds__(kSumOfSquaresPartials)
    sum_partials_kernel(const double* partials, int count, double* out) {
  __shared__ double scratch[kSumOfSquaresPartials];
  const double v = static_cast<int>(threadIdx.x) < count ? partials[threadIdx.x] : 0.0;
  const double total = cuda_reduce::block_reduce(v, scratch, cuda_reduce::Sum());
  if (threadIdx.x == 0) *out = total;
}

}  // namespace

template <class T>
void launch_sgd_step(const optim_math::SgdStep& step, T* p, const T* g, T* buf, int64_t n,
                     void* stream) {
  if (n == 0) return;
  sgd_step_kernel<T><<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      optim_math::sgd_coeffs<T>(step), p, g, buf, n);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_adam_step(const optim_math::AdamStep& step, T* p, const T* g, T* m, T* v, int64_t n,
                      void* stream) {
  if (n == 0) return;
  adam_step_kernel<T><<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      optim_math::adam_coeffs<T>(step), p, g, m, v, n);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_sum_of_squares(const T* x, int64_t n, double* partials, double* out, void* stream) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (n == 0) {
    RECUR_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double), s));
    return;
  }
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  const int blocks =
      static_cast<int>(wanted < kSumOfSquaresPartials ? wanted : kSumOfSquaresPartials);
  sum_of_squares_kernel<T><<<blocks, kThreads, 0, s>>>(x, n, partials);
  RECUR_CUDA_CHECK_LAUNCH();
  sum_partials_kernel<<<1, kSumOfSquaresPartials, 0, s>>>(partials, blocks, out);
  RECUR_CUDA_CHECK_LAUNCH();
}

#define RECUR_INSTANTIATE(T)                                                                      \
  template void launch_sgd_step<T>(const optim_math::SgdStep&, T*, const T*, T*, int64_t, void*); \
  template void launch_adam_step<T>(const optim_math::AdamStep&, T*, const T*, T*, T*, int64_t,   \
                                    void*);                                                       \
  template void launch_sum_of_squares<T>(const T*, int64_t, double*, double*, void*);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
#undef RECUR_INSTANTIATE

}  // namespace recur
