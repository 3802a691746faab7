// The pointwise parts of attention on a GPU (attention_cuda.h). The softmax runs one thread per
// row through kernels/attention_math.h, so each row sums in the CPU reference's order; the rows
// are short (S keys of one source sentence), so a row per thread is not the bottleneck beside the
// attention's GEMMs.
#include <cuda_runtime.h>

#include "core/cuda/cuda_check.h"
#include "kernels/attention_math.h"
#include "kernels/cuda/attention_cuda.h"
#include "kernels/cuda/launch.cuh"

namespace recur {

namespace {

using cuda_launch::blocks_for;
using cuda_launch::kThreads;

template <class T>
__global__ void softmax_fwd_kernel(const T* scores, const int64_t* lengths, int64_t B, int64_t Tq,
                                   int64_t S, T* weights) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= B * Tq) return;
  const int64_t valid = lengths ? lengths[row / Tq] : S;
  attention_math::softmax_row_fwd(scores + row * S, valid, S, weights + row * S);
}

template <class T>
__global__ void softmax_bwd_kernel(const T* weights, const T* dweights, int64_t rows, int64_t S,
                                   T* dscores) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row < rows)
    attention_math::softmax_row_bwd(weights + row * S, dweights + row * S, S, dscores + row * S);
}

// One thread per element of the wide [N, A+C] matrix; `to_wide` picks the copy's direction.
template <class T>
__global__ void columns_kernel(T* left, T* right, int64_t N, int64_t A, int64_t C, T* wide,
                               bool to_wide) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * (A + C)) return;
  const int64_t n = i / (A + C), j = i - n * (A + C);
  T* narrow = j < A ? left + n * A + j : right + n * C + (j - A);
  if (to_wide)
    wide[i] = *narrow;
  else
    *narrow = wide[i];
}

template <class T>
__global__ void tanh_fwd_kernel(const T* x, int64_t n, T* y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = cell_math::tanh_(x[i]);
}

template <class T>
__global__ void tanh_bwd_kernel(const T* y, const T* dy, int64_t n, T* dx) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dx[i] = attention_math::tanh_bwd(y[i], dy[i]);
}

}  // namespace

template <class T>
void launch_attention_softmax_fwd(const T* scores, const int64_t* lengths, int64_t B, int64_t Tq,
                                  int64_t S, T* weights, void* stream) {
  if (B * Tq == 0) return;
  softmax_fwd_kernel<T><<<blocks_for(B * Tq), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      scores, lengths, B, Tq, S, weights);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_attention_softmax_bwd(const T* weights, const T* dweights, int64_t rows, int64_t S,
                                  T* dscores, void* stream) {
  if (rows == 0) return;
  softmax_bwd_kernel<T><<<blocks_for(rows), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      weights, dweights, rows, S, dscores);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_concat_columns(const T* left, const T* right, int64_t N, int64_t A, int64_t C, T* out,
                           void* stream) {
  if (N * (A + C) == 0) return;
  // The kernel reads through non-const pointers in this direction only.
  columns_kernel<T><<<blocks_for(N * (A + C)), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      const_cast<T*>(left), const_cast<T*>(right), N, A, C, out, true);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_split_columns(const T* in, int64_t N, int64_t A, int64_t C, T* left, T* right,
                          void* stream) {
  if (N * (A + C) == 0) return;
  // The kernel only reads `in` in this direction.
  columns_kernel<T><<<blocks_for(N * (A + C)), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      left, right, N, A, C, const_cast<T*>(in), false);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_tanh_fwd(const T* x, int64_t n, T* y, void* stream) {
  if (n == 0) return;
  tanh_fwd_kernel<T><<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(x, n, y);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_tanh_bwd(const T* y, const T* dy, int64_t n, T* dx, void* stream) {
  if (n == 0) return;
  tanh_bwd_kernel<T>
      <<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(y, dy, n, dx);
  RECUR_CUDA_CHECK_LAUNCH();
}

#define RECUR_ATTENTION_INSTANTIATE(T)                                                            \
  template void launch_attention_softmax_fwd<T>(const T*, const int64_t*, int64_t, int64_t,       \
                                                int64_t, T*, void*);                              \
  template void launch_attention_softmax_bwd<T>(const T*, const T*, int64_t, int64_t, T*, void*); \
  template void launch_concat_columns<T>(const T*, const T*, int64_t, int64_t, int64_t, T*,       \
                                         void*);                                                  \
  template void launch_split_columns<T>(const T*, int64_t, int64_t, int64_t, T*, T*, void*);      \
  template void launch_tanh_fwd<T>(const T*, int64_t, T*, void*);                                 \
  template void launch_tanh_bwd<T>(const T*, const T*, int64_t, T*, void*);
RECUR_ATTENTION_INSTANTIATE(float)
RECUR_ATTENTION_INSTANTIATE(double)
#undef RECUR_ATTENTION_INSTANTIATE

}  // namespace recur
