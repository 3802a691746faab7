// RECUR_HOST_DEVICE marks inline functions that both the host compiler and nvcc compile, so one
// definition (the gate math, the RNG, the half-precision conversions) serves the CPU reference
// and the CUDA kernels.
#pragma once

// RECUR_ALWAYS_INLINE marks host functions that hot CPU loops must inline: the cell loops
// vectorise only with the gate math inside them, and a loop compiled for AVX-512
// (kernels/cpu/avx512_clone.h) left to GCC's own choice called it out of line, element by element
// (2x slower inference steps, measured). RECUR_HOST_DEVICE functions are always inlined too, on
// the host as nvcc's __forceinline__ does on both sides.
#if defined(__GNUC__)
#define RECUR_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define RECUR_ALWAYS_INLINE inline
#endif

#if defined(__CUDACC__)
#define RECUR_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define RECUR_HOST_DEVICE RECUR_ALWAYS_INLINE
#endif
