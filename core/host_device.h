// RECUR_HOST_DEVICE marks inline functions that both the host compiler and nvcc compile, so one
// definition (the gate math, the RNG, the half-precision conversions) serves the CPU reference
// and the CUDA kernels.
#pragma once

#if defined(__CUDACC__)
#define RECUR_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define RECUR_HOST_DEVICE inline
#endif
