// The math precision of matrix products (mixed precision): the element type every GEMM operand is
// rounded to before the product, which accumulates in f32. Everything else stays in the tensors'
// dtype, f32: the parameters (they are the f32 master weights the optimizer updates), activations,
// recurrent states, the LSTM cell state, and all pointwise gate math.
//   f32   no rounding (and no TF32: that is a separate, explicit opt-in)
//   bf16  operands rounded to bfloat16, round to nearest even: tensor cores on a GPU
//   f16   operands rounded to IEEE half: tensor cores on a GPU. Magnitudes beyond 65504 become
//         inf and gradients below 2^-24 flush to zero, so f16 training needs dynamic loss
//         scaling (train/grad_scaler.h) to keep small gradients and skip overflowing steps.
// On the CPU the rounding is emulated (round the operands, then an f32 OpenBLAS GEMM; a single
// row, as in streaming at B = 1, rounds the weights as it reads them: kernels/cpu/rounded_gemv.h):
// no faster than f32 there, it is the reference every GPU mixed-precision path is checked against.
#pragma once

#include <string>

#include "core/dtype.h"
#include "core/half.h"
#include "core/host_device.h"

namespace recur {

enum class Precision { f32, bf16, f16 };

const char* precision_name(Precision precision);  // "f32", "bf16", "f16"
// Throws recur::Error listing the accepted names when `name` is none of them.
Precision precision_from_name(const std::string& name);
// The element type GEMM operands are stored in on a GPU: f32, bf16 or f16.
DType operand_dtype(Precision precision);

// v rounded to the precision's grid (round to nearest even), returned as a float.
RECUR_HOST_DEVICE float round_to_precision(float v, Precision precision) {
  if (precision == Precision::bf16) return to_float(to_bf16(v));
  if (precision == Precision::f16) return to_float(to_f16(v));
  return v;
}

}  // namespace recur
