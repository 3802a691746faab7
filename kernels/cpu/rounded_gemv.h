// Mixed-precision math on the CPU without a rounded copy of the weights (core/precision.h): the
// operands are rounded to bf16 or f16 as they are loaded, in vectors, and the products accumulate
// in f32. A rounded copy of a weight matrix costs a read and a write of all of it, and a
// streaming call (one time step, B = 1: generation) multiplies by each weight once: rounding W
// into a copy first made such a step 20x-25x slower than f32 (H = 512, LSTM and GRU).
#pragma once

#include <cstdint>

#include "core/precision.h"

namespace recur {

// dst[i] = round_to_precision(src[i], precision) for i < n, bit for bit (NaN stays NaN), in
// vectors where the build has them. src and dst may be the same array.
void round_floats(const float* src, int64_t n, Precision precision, float* dst);

// The single-row product of kernels/mixed_gemm.h, c[N] = alpha * a[K] op(W)[K,N] + beta * c with
// a and op(W) rounded to `precision` (not f32) and the products summed in f32: a with stride
// inc_a (a few K floats, rounded into a copy), W stored [N,K] with row stride ldw when trans_w
// (c = W a), else [K,N] (c = W^T a), read once and rounded in registers. Each c[n] is summed by
// one thread in an order fixed by the shape: results do not depend on the thread count. c is not
// read where beta is 0.
void rounded_gemv(Precision precision, bool trans_w, int64_t N, int64_t K, float alpha,
                  const float* a, int64_t inc_a, const float* w, int64_t ldw, float beta, float* c);

}  // namespace recur
