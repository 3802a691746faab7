// RECUR_HOST_DEVICE marks inline functions that both the host compiler and nvcc compile, so one
// definition (the gate math, the RNG, the half-precision conversions) serves the CPU reference
// and the CUDA kernels.
#pragma once

// Always inlined, on the host as nvcc's __forceinline__ does on both sides: the CPU's cell loops
// vectorise only with the gate math inside them, and a loop compiled for AVX-512
// (kernels/cpu/avx512_clone.h) left GCC's own choice calling it out of line, element by element.
#if defined(__CUDACC__)
#define RECUR_HOST_DEVICE __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#define RECUR_HOST_DEVICE inline __attribute__((always_inline))
#else
#define RECUR_HOST_DEVICE inline
#endif
