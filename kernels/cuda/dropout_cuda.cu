// Inverted dropout on a GPU (dropout_cuda.h). Thread i draws Philox block i (four uniforms) for
// elements 4i..4i+3, exactly as kernels/cpu/dropout_ref.cpp does, so the masks are identical.
#include <cuda_runtime.h>

#include "core/cuda/cuda_check.h"
#include "core/philox.h"
#include "kernels/cuda/dropout_cuda.h"
#include "kernels/cuda/launch.cuh"

namespace recur {

namespace {

using cuda_launch::blocks_for;
using cuda_launch::kThreads;

template <class T>
__global__ void dropout_kernel(const T* in, int64_t n, float threshold, T scale, uint64_t seed,
                               uint32_t stream, uint32_t step, T* out) {
  const int64_t block = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (block * 4 >= n) return;
  float u[4];
  philox_uniform4(seed, stream, step, static_cast<uint64_t>(block), u);
  for (int lane = 0; lane < 4 && block * 4 + lane < n; ++lane) {
    const int64_t i = block * 4 + lane;
    out[i] = u[lane] >= threshold ? in[i] * scale : T(0);
  }
}

}  // namespace

template <class T>
void launch_dropout(const T* in, int64_t n, double p, const DropoutKey& key, T* out, void* stream) {
  if (n == 0) return;
  const unsigned grid = blocks_for((n + 3) / 4);  // one thread per Philox block of four
  dropout_kernel<T><<<grid, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      in, n, static_cast<float>(p), static_cast<T>(1.0 / (1.0 - p)), key.seed, key.stream, key.step,
      out);
  RECUR_CUDA_CHECK_LAUNCH();
}

template void launch_dropout<float>(const float*, int64_t, double, const DropoutKey&, float*,
                                    void*);
template void launch_dropout<double>(const double*, int64_t, double, const DropoutKey&, double*,
                                     void*);

}  // namespace recur
