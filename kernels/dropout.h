// Inverted dropout with masks drawn from Philox, keyed by (seed, stream, step, element index), so
// the CPU and the GPU drop the same elements and backward regenerates the mask instead of
// storing it. The same function serves forward (x -> y) and backward (dy -> dx): both multiply
// by keep / (1 - p).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recur {

struct DropoutKey {
  uint64_t seed = 0;
  uint32_t stream = 0;  // which dropout site (a layer, a layer boundary)
  uint32_t step = 0;    // training step
};

// out = in * mask / (1 - p) elementwise; in and out contiguous, same shape, f32 or f64; out may
// alias in. Element i is kept when its uniform draw is >= p.
void dropout_ref(const Tensor& in, double p, const DropoutKey& key, Tensor& out);

// Throws recur::Error unless p is in [0, 1) and in/out are contiguous, of one shape, dtype (f32 or
// f64) and device.
void check_dropout_args(const Tensor& in, double p, const Tensor& out);

// The dispatch point: dropout_ref on the CPU, the CUDA kernel (kernels/cuda/dropout_cuda.cu) for
// tensors on a GPU. Same arguments and the same masks on both.
void dropout(const Tensor& in, double p, const DropoutKey& key, Tensor& out);

}  // namespace recur
