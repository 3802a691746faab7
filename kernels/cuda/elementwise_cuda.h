// Elementwise ops on a GPU, launched on `stream` (a cudaStream_t): the device side of
// kernels/gemm.h's axpy and of gradient clipping's scaling (train/clip.cpp). Pointers are device
// memory; T is float or double; the scalar is cast to T first, as the CPU reference does.
// Kernels: axpy_kernel, scale_kernel, round_rows_kernel, widen_kernel (elementwise_cuda.cu), one
// thread per element.
#pragma once

#include <cstdint>

#include "core/precision.h"

namespace recur {

// y[i] += alpha * x[i] for i < n; x [n], y [n], no aliasing.
template <class T>
void launch_axpy(double alpha, const T* x, int64_t n, T* y, void* stream);

// x[i] = x[i] * factor for i < n, in place.
template <class T>
void launch_scale(double factor, int64_t n, T* x, void* stream);

// The operands of a mixed-precision GEMM (kernels/mixed_gemm.h): src [rows, cols] f32 with
// leading dimension ld, rounded to `precision` (bf16 or f16, round to nearest even, as
// core/half.h) into contiguous dst [rows, cols] of operand_dtype(precision).
void launch_round_rows(const float* src, int64_t rows, int64_t cols, int64_t ld,
                       Precision precision, void* dst, void* stream);

// The way back: src [n] of operand_dtype(precision) (bf16 or f16) widened exactly into f32 dst.
void launch_widen(const void* src, Precision precision, int64_t n, float* dst, void* stream);

}  // namespace recur
