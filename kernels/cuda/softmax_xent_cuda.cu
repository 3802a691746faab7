// Fused softmax cross-entropy on a GPU (softmax_xent_cuda.h). The math is the CPU reference's
// (kernels/cpu/softmax_xent_ref.cpp) step for step: the row maximum in T, exp(x - max) computed
// in double and rounded to T, their sum in double, probs scaled by T(1 / sum), the row's loss
// log(sum) - (x[target] - max) in double. Only the order of the sums differs (fixed trees here),
// so f64 agrees to rounding and f32 probabilities almost always to the last bit.
#include <cuda_runtime.h>

#include <climits>

#include "core/cuda/cuda_check.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/softmax_xent_cuda.h"

namespace recur {

namespace {

using cuda_launch::blocks_for;
using cuda_launch::kThreads;         // element-wise kernels; the most threads per row
constexpr int kTotalThreads = 1024;  // the one block of xent_total_kernel
constexpr unsigned long long kNoBadRow = ULLONG_MAX;

// A product rounded on its own: nvcc may not fuse it with the subtraction that follows (the CPU
// rounds it before subtracting).
__device__ __forceinline__ float mul_rn(float a, float b) {
  return __fmul_rn(a, b);
}
__device__ __forceinline__ double mul_rn(double a, double b) {
  return __dmul_rn(a, b);
}

// Threads per row for C classes: a power of two from 32 to kThreads (block_reduce's contract).
// Depends on C alone, so the summation tree is the same on every run.
unsigned threads_for_row(int64_t C) {
  unsigned threads = 32;
  while (threads < kThreads && threads < C) threads *= 2;
  return threads;
}

__global__ void xent_check_kernel(const int64_t* targets, int64_t N, int64_t C,
                                  int64_t ignore_index, unsigned long long* first_bad) {
  const int64_t n = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= N) return;
  const int64_t t = targets[n];
  if (t != ignore_index && (t < 0 || t >= C))
    atomicMin(first_bad, static_cast<unsigned long long>(n));
}

template <class T>
__global__ void xent_rows_kernel(const T* logits, const int64_t* targets, int64_t C,
                                 int64_t ignore_index, T* probs, double* row_loss,
                                 const unsigned long long* first_bad) {
  __shared__ T max_scratch[kThreads];
  __shared__ double sum_scratch[kThreads];
  if (*first_bad != kNoBadRow) return;  // the whole block returns: nothing is written
  const int64_t n = blockIdx.x;
  const T* x = logits + n * C;
  T* p = probs + n * C;
  T m = x[0];
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = x[c] > m ? x[c] : m;
  m = cuda_reduce::block_reduce(m, max_scratch, cuda_reduce::Max());
  double sum = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const T e = static_cast<T>(exp(static_cast<double>(x[c] - m)));
    p[c] = e;
    sum += static_cast<double>(e);
  }
  sum = cuda_reduce::block_reduce(sum, sum_scratch, cuda_reduce::Sum());
  const T inv = static_cast<T>(1.0 / sum);
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) p[c] *= inv;  // the thread's own writes
  if (threadIdx.x == 0) {
    const int64_t t = targets[n];
    row_loss[n] = t == ignore_index ? 0.0 : log(sum) - static_cast<double>(x[t] - m);
  }
}

// Thread k sums rows k, k + kTotalThreads, ... in order; the block then adds those in a fixed tree.
__global__ void __launch_bounds__(kTotalThreads)
    xent_total_kernel(const double* row_loss, const int64_t* targets, int64_t N,
                      int64_t ignore_index, SoftmaxXentResult* result) {
  __shared__ double loss_scratch[kTotalThreads];
  __shared__ unsigned long long count_scratch[kTotalThreads];
  double loss = 0;
  unsigned long long count = 0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    if (targets[n] == ignore_index) continue;
    loss += row_loss[n];
    ++count;
  }
  loss = cuda_reduce::block_reduce(loss, loss_scratch, cuda_reduce::Sum());
  count = cuda_reduce::block_reduce(count, count_scratch, cuda_reduce::Sum());
  if (threadIdx.x == 0) {
    result->loss = loss;
    result->counted = count;
  }
}

template <class T>
__global__ void xent_bwd_kernel(const T* probs, const int64_t* targets, int64_t N, int64_t C,
                                int64_t ignore_index, T scale, T* dlogits) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * C) return;
  const int64_t n = i / C, c = i % C;
  const int64_t t = targets[n];
  if (t == ignore_index) {
    dlogits[i] = T(0);
    return;
  }
  T d = mul_rn(probs[i], scale);
  if (c == t) d -= scale;
  dlogits[i] = d;
}

}  // namespace

template <class T>
void launch_softmax_xent_fwd(const T* logits, const int64_t* targets, int64_t N, int64_t C,
                             int64_t ignore_index, T* probs, double* row_loss,
                             SoftmaxXentResult* result, void* stream) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  RECUR_CUDA_CHECK(cudaMemsetAsync(result, 0, sizeof(SoftmaxXentResult), s));
  RECUR_CUDA_CHECK(cudaMemsetAsync(&result->first_bad, 0xFF, sizeof(result->first_bad), s));
  if (N == 0) return;
  auto* first_bad = reinterpret_cast<unsigned long long*>(&result->first_bad);
  xent_check_kernel<<<blocks_for(N), kThreads, 0, s>>>(targets, N, C, ignore_index, first_bad);
  RECUR_CUDA_CHECK_LAUNCH();
  xent_rows_kernel<T><<<static_cast<unsigned>(N), threads_for_row(C), 0, s>>>(
      logits, targets, C, ignore_index, probs, row_loss, first_bad);
  RECUR_CUDA_CHECK_LAUNCH();
  xent_total_kernel<<<1, kTotalThreads, 0, s>>>(row_loss, targets, N, ignore_index, result);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_softmax_xent_bwd(const T* probs, const int64_t* targets, int64_t N, int64_t C,
                             int64_t ignore_index, double scale, T* dlogits, void* stream) {
  if (N * C == 0) return;
  xent_bwd_kernel<T><<<blocks_for(N * C), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      probs, targets, N, C, ignore_index, static_cast<T>(scale), dlogits);
  RECUR_CUDA_CHECK_LAUNCH();
}

template void launch_softmax_xent_fwd<float>(const float*, const int64_t*, int64_t, int64_t,
                                             int64_t, float*, double*, SoftmaxXentResult*, void*);
template void launch_softmax_xent_fwd<double>(const double*, const int64_t*, int64_t, int64_t,
                                              int64_t, double*, double*, SoftmaxXentResult*, void*);
template void launch_softmax_xent_bwd<float>(const float*, const int64_t*, int64_t, int64_t,
                                             int64_t, double, float*, void*);
template void launch_softmax_xent_bwd<double>(const double*, const int64_t*, int64_t, int64_t,
                                              int64_t, double, double*, void*);

}  // namespace recur
