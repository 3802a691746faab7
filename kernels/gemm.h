// Tensor-level matrix multiply and the two BLAS-1 helpers layers need, each one dispatch point
// that picks the kernel by device: the CPU (OpenBLAS, kernels/cpu/gemm_cpu.h; plain loops) or
// the GPU (cuBLAS, kernels/cuda/gemm_cuda.h; kernels/cuda/elementwise_cuda.h and the column sums
// of kernels/cuda/recurrent_seq_ops.h). Every operand of one call is on one device; GPU work is
// queued on the device's recur stream and nothing here waits for it. f32 or f64.
#pragma once

#include "core/precision.h"
#include "core/tensor.h"

namespace recur {

// Row-major, 2-D contiguous operands (callers flatten leading dimensions):
//   c [M,N] = alpha * op(a) * op(b) + beta * c,  op(a) [M,K], op(b) [K,N]; c aliases neither.
// precision bf16/f16 (f32 tensors only): a mixed-precision product (kernels/mixed_gemm.h).
void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
          double alpha = 1.0, double beta = 0.0, Precision precision = Precision::f32);

// One GEMM per group g, all of one shape (attention's per-sequence products):
//   c[g] = alpha * op(a[g]) * op(b[g]) + beta * c[g],  a [G,·,·], b [G,·,·], c [G,M,N]
// with op as gemm's; 3-D contiguous operands, f32 or f64 (f32 math). On a GPU one strided-batched
// cuBLAS call (one launch instead of G); on the CPU one gemm per group.
void batched_gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                  double alpha = 1.0, double beta = 0.0);

// y += alpha * x elementwise (same shape, dtype and device, contiguous). alpha is cast to the
// dtype first.
void axpy(double alpha, const Tensor& x, Tensor& y);

// out[j] += sum_i m[i, j] for m [rows, cols] contiguous and out [cols], on one device. Each sum
// runs in a fixed order (on the GPU: rows strided by 8, then the 8 partial sums in order), so
// results are the same on every run; CPU and GPU orders differ, hence so may the last bits.
void add_column_sums(const Tensor& m, Tensor& out);

}  // namespace recur
