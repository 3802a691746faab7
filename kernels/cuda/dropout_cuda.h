// Inverted dropout on a GPU (kernels/dropout.h): the same Philox draws as the CPU reference, so
// both devices drop the same elements. Pointers are device memory; out may alias in. T is float
// or double. Kernel: dropout_kernel (dropout_cuda.cu), one thread per block of four elements.
#pragma once

#include <cstdint>

#include "kernels/dropout.h"

namespace recur {

template <class T>
void launch_dropout(const T* in, int64_t n, double p, const DropoutKey& key, T* out, void* stream);

}  // namespace recur
