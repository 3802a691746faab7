// Row-masked copies and column sums for the fused engine's time loop (recurrent_seq_ops.h). One
// thread per element for the copies; one warp-strided block per 32 columns for the column sums,
// each thread summing its rows in a fixed order and the block combining them in a fixed tree, so
// the result is the same on every run.
#include <cuda_runtime.h>

#include "core/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/recurrent_seq_ops.h"

namespace recur {

namespace {

using cuda_launch::blocks_for;
using cuda_launch::kThreads;

__device__ __forceinline__ bool row_valid(const RowMask& m, int64_t b) {
  return m.lengths == nullptr || m.t < m.lengths[b];
}

template <class T>
__global__ void write_output_kernel(const RowMask mask, T* y, int64_t ld_y, const T* h, int64_t S) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= mask.B * S) return;
  const int64_t b = i / S, j = i % S;
  y[b * ld_y + j] = row_valid(mask, b) ? h[i] : T(0);
}

template <class T>
__global__ void add_output_grad_kernel(const RowMask mask, T* out, const T* carry, const T* dy,
                                       int64_t ld_dy, int64_t S) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= mask.B * S) return;
  const int64_t b = i / S, j = i % S;
  out[i] = carry[i] + (dy && row_valid(mask, b) ? dy[b * ld_dy + j] : T(0));
}

template <class T>
__global__ void masked_rows_kernel(const RowMask mask, T* dst, const T* src, int64_t S,
                                   bool zero_valid) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= mask.B * S) return;
  if (!row_valid(mask, i / S))
    dst[i] = src[i];
  else if (zero_valid)
    dst[i] = T(0);
}

// Block (32 x 8 threads) per 32 columns: thread (x, y) sums rows y, y+8, ... of column x; the
// eight partial sums are then added in order.
template <class T>
__global__ void add_column_sums_kernel(const T* m, int64_t rows, int64_t cols, T* out) {
  __shared__ T partial[8][32];
  const int64_t col = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  T sum = T(0);
  if (col < cols)
    for (int64_t r = threadIdx.y; r < rows; r += 8) sum += m[r * cols + col];
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    T total = T(0);
    for (int k = 0; k < 8; ++k) total += partial[k][threadIdx.x];
    out[col] += total;
  }
}

}  // namespace

template <class T>
void launch_write_output(const RowMask& mask, T* y, int64_t ld_y, const T* h, int64_t S,
                         void* stream) {
  if (mask.B * S == 0) return;
  write_output_kernel<T>
      <<<blocks_for(mask.B * S), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(mask, y, ld_y, h,
                                                                                   S);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_add_output_grad(const RowMask& mask, T* out, const T* carry, const T* dy, int64_t ld_dy,
                            int64_t S, void* stream) {
  if (mask.B * S == 0) return;
  add_output_grad_kernel<T>
      <<<blocks_for(mask.B * S), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(mask, out, carry,
                                                                                   dy, ld_dy, S);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_masked_rows(const RowMask& mask, T* dst, const T* src, int64_t S, bool zero_valid,
                        void* stream) {
  if (mask.B * S == 0) return;
  masked_rows_kernel<T><<<blocks_for(mask.B * S), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      mask, dst, src, S, zero_valid);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_add_column_sums(const T* m, int64_t rows, int64_t cols, T* out, void* stream) {
  if (cols == 0) return;
  const dim3 block(32, 8);
  const unsigned grid = static_cast<unsigned>((cols + 31) / 32);
  add_column_sums_kernel<T>
      <<<grid, block, 0, static_cast<cudaStream_t>(stream)>>>(m, rows, cols, out);
  RECUR_CUDA_CHECK_LAUNCH();
}

#define RECUR_INSTANTIATE(T)                                                                   \
  template void launch_write_output<T>(const RowMask&, T*, int64_t, const T*, int64_t, void*); \
  template void launch_add_output_grad<T>(const RowMask&, T*, const T*, const T*, int64_t,     \
                                          int64_t, void*);                                     \
  template void launch_masked_rows<T>(const RowMask&, T*, const T*, int64_t, bool, void*);     \
  template void launch_add_column_sums<T>(const T*, int64_t, int64_t, T*, void*);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
#undef RECUR_INSTANTIATE

}  // namespace recur
