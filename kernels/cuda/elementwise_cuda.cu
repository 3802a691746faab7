// Elementwise ops on a GPU (elementwise_cuda.h): one thread per element, the same expression as
// the CPU loops of kernels/cpu/gemm_dispatch.cpp and train/clip.cpp.
#include <cuda_runtime.h>

#include <type_traits>

#include "core/cuda/cuda_check.h"
#include "kernels/cuda/elementwise_cuda.h"
#include "kernels/cuda/launch.cuh"

namespace recur {

namespace {

using cuda_launch::blocks_for;
using cuda_launch::kThreads;

template <class T>
__global__ void axpy_kernel(T alpha, const T* x, int64_t n, T* y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += alpha * x[i];
}

template <class T>
__global__ void scale_kernel(T factor, int64_t n, T* x) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] = x[i] * factor;
}

// One thread per element of dst [rows, cols]; Half is bf16 or f16 (core/half.h's conversions,
// the same bits as the CPU's round_to_precision).
template <class Half>
__global__ void round_rows_kernel(const float* src, int64_t rows, int64_t cols, int64_t ld,
                                  Half* dst) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const int64_t r = i / cols, j = i - r * cols;
  if constexpr (std::is_same_v<Half, bf16>)
    dst[i] = to_bf16(src[r * ld + j]);
  else
    dst[i] = to_f16(src[r * ld + j]);
}

template <class Half>
__global__ void widen_kernel(const Half* src, int64_t n, float* dst) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = to_float(src[i]);
}

}  // namespace

void launch_widen(const void* src, Precision precision, int64_t n, float* dst, void* stream) {
  if (n == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  if (precision == Precision::bf16)
    widen_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<const bf16*>(src), n, dst);
  else
    widen_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<const f16*>(src), n, dst);
  RECUR_CUDA_CHECK_LAUNCH();
}

void launch_round_rows(const float* src, int64_t rows, int64_t cols, int64_t ld,
                       Precision precision, void* dst, void* stream) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  if (precision == Precision::bf16)
    round_rows_kernel<<<blocks_for(n), kThreads, 0, s>>>(src, rows, cols, ld,
                                                         static_cast<bf16*>(dst));
  else
    round_rows_kernel<<<blocks_for(n), kThreads, 0, s>>>(src, rows, cols, ld,
                                                         static_cast<f16*>(dst));
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_axpy(double alpha, const T* x, int64_t n, T* y, void* stream) {
  if (n == 0) return;
  axpy_kernel<T><<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      static_cast<T>(alpha), x, n, y);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_scale(double factor, int64_t n, T* x, void* stream) {
  if (n == 0) return;
  scale_kernel<T><<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      static_cast<T>(factor), n, x);
  RECUR_CUDA_CHECK_LAUNCH();
}

template void launch_axpy<float>(double, const float*, int64_t, float*, void*);
template void launch_axpy<double>(double, const double*, int64_t, double*, void*);
template void launch_scale<float>(double, int64_t, float*, void*);
template void launch_scale<double>(double, int64_t, double*, void*);

}  // namespace recur
