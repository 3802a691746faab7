// The small CUDA kernels the fused engine's time loop needs besides GEMMs and the cell step: the
// row-masked copies and sums of kernels/recurrent_seq_driver.h (see its contracts), launched on
// `stream` (a cudaStream_t). All pointers are device memory; T is float or double.
// Kernels: write_output_kernel, add_output_grad_kernel, masked_rows_kernel,
// add_column_sums_kernel (recurrent_seq_ops.cu).
#pragma once

#include <cstdint>

#include "kernels/cell_step.h"

namespace recur {

// y[b*ld_y + j] = valid ? h[b*S + j] : 0, j < S.
template <class T>
void launch_write_output(const RowMask& mask, T* y, int64_t ld_y, const T* h, int64_t S,
                         void* stream);
// out[b*S + j] = carry[b*S + j] + (dy && valid ? dy[b*ld_dy + j] : 0).
template <class T>
void launch_add_output_grad(const RowMask& mask, T* out, const T* carry, const T* dy, int64_t ld_dy,
                            int64_t S, void* stream);
// zero_valid false: padded rows dst = src, valid rows untouched.
// zero_valid true:  padded rows dst = src, valid rows dst = 0.
template <class T>
void launch_masked_rows(const RowMask& mask, T* dst, const T* src, int64_t S, bool zero_valid,
                        void* stream);
// out[j] += sum over i < rows of m[i*cols + j]; the sum runs in a fixed order (deterministic).
template <class T>
void launch_add_column_sums(const T* m, int64_t rows, int64_t cols, T* out, void* stream);

}  // namespace recur
