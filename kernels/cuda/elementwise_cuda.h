// Elementwise ops on a GPU, launched on `stream` (a cudaStream_t): the device side of
// kernels/gemm.h's axpy and of gradient clipping's scaling (train/clip.cpp). Pointers are device
// memory; T is float or double; the scalar is cast to T first, as the CPU reference does.
// Kernels: axpy_kernel, scale_kernel (elementwise_cuda.cu), one thread per element.
#pragma once

#include <cstdint>

namespace recur {

// y[i] += alpha * x[i] for i < n; x [n], y [n], no aliasing.
template <class T>
void launch_axpy(double alpha, const T* x, int64_t n, T* y, void* stream);

// x[i] = x[i] * factor for i < n, in place.
template <class T>
void launch_scale(double factor, int64_t n, T* x, void* stream);

}  // namespace recur
