// Batch-first <-> time-major sequence moves for the cuDNN engine (cudnn_seq_ops.h): one thread per
// element of the time-major side, grid-strided; the row index (t, b) decides validity and the
// reversal, so padded steps cost one comparison.
#include <cuda_runtime.h>

#include <algorithm>

#include "core/cuda/cuda_check.h"
#include "kernels/cudnn/cudnn_seq_ops.h"

namespace recur {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks));
}

// The batch-first step that time-major step t of row b holds, or -1 at a padded step.
__device__ __forceinline__ int64_t source_step(const int64_t* lengths, int64_t b, int64_t t,
                                               int64_t Tn, bool reverse) {
  const int64_t len = lengths ? lengths[b] : Tn;
  if (t >= len) return -1;
  return reverse ? len - 1 - t : t;
}

template <class T>
__global__ void to_time_major_kernel(const T* src, int64_t ld, int64_t B, int64_t Tn, int64_t W,
                                     const int64_t* lengths, bool reverse, T* dst) {
  const int64_t n = Tn * B * W;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = i % W, row = i / W, b = row % B, t = row / B;
    const int64_t s = source_step(lengths, b, t, Tn, reverse);
    dst[i] = s < 0 ? T(0) : src[(b * Tn + s) * ld + j];
  }
}

template <class T>
__global__ void from_time_major_kernel(const T* src, int64_t B, int64_t Tn, int64_t W,
                                       const int64_t* lengths, bool reverse, bool accumulate,
                                       T* dst, int64_t ld) {
  const int64_t n = Tn * B * W;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    // i walks the batch-first side: b, then t, then j.
    const int64_t j = i % W, row = i / W, t = row % Tn, b = row / Tn;
    const int64_t s = source_step(lengths, b, t, Tn, reverse);
    T* out = dst + (b * Tn + t) * ld + j;
    if (s >= 0) {
      const T v = src[(s * B + b) * W + j];
      *out = accumulate ? *out + v : v;
    } else if (!accumulate) {
      *out = T(0);
    }
  }
}

__global__ void seq_lengths_i32_kernel(const int64_t* lengths, int64_t B, int64_t Tn,
                                       int32_t* out) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b < B) out[b] = static_cast<int32_t>(lengths ? lengths[b] : Tn);
}

}  // namespace

template <class T>
void launch_to_time_major(const T* src, int64_t ld, int64_t B, int64_t Tn, int64_t W,
                          const int64_t* lengths, bool reverse, T* dst, void* stream) {
  const int64_t n = Tn * B * W;
  if (n == 0) return;
  to_time_major_kernel<T><<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      src, ld, B, Tn, W, lengths, reverse, dst);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_from_time_major(const T* src, int64_t B, int64_t Tn, int64_t W, const int64_t* lengths,
                            bool reverse, bool accumulate, T* dst, int64_t ld, void* stream) {
  const int64_t n = Tn * B * W;
  if (n == 0) return;
  from_time_major_kernel<T><<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      src, B, Tn, W, lengths, reverse, accumulate, dst, ld);
  RECUR_CUDA_CHECK_LAUNCH();
}

void launch_seq_lengths_i32(const int64_t* lengths, int64_t B, int64_t Tn, int32_t* out,
                            void* stream) {
  if (B == 0) return;
  seq_lengths_i32_kernel<<<blocks_for(B), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      lengths, B, Tn, out);
  RECUR_CUDA_CHECK_LAUNCH();
}

template void launch_to_time_major<float>(const float*, int64_t, int64_t, int64_t, int64_t,
                                          const int64_t*, bool, float*, void*);
template void launch_to_time_major<double>(const double*, int64_t, int64_t, int64_t, int64_t,
                                           const int64_t*, bool, double*, void*);
template void launch_from_time_major<float>(const float*, int64_t, int64_t, int64_t, const int64_t*,
                                            bool, bool, float*, int64_t, void*);
template void launch_from_time_major<double>(const double*, int64_t, int64_t, int64_t,
                                             const int64_t*, bool, bool, double*, int64_t, void*);

}  // namespace recur
