// Tensor-level matrix multiply, the one dispatch point layers call: picks the CPU (OpenBLAS)
// kernel by device. Row-major, 2-D operands (callers flatten leading dimensions):
//   c [M,N] = alpha * op(a) * op(b) + beta * c,  op(a) [M,K], op(b) [K,N]
#pragma once

#include "core/tensor.h"

namespace recur {

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
          double alpha = 1.0, double beta = 0.0);

// y += alpha * x elementwise (same shape and dtype, contiguous).
void axpy(double alpha, const Tensor& x, Tensor& y);

// out[j] += sum_i m[i, j] for m [rows, cols] contiguous and out [cols].
void add_column_sums(const Tensor& m, Tensor& out);

}  // namespace recur
