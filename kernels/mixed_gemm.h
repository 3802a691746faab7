// Mixed-precision GEMM on f32 data (core/precision.h), on the CPU or a GPU: both operands are
// rounded to the math precision, the products accumulate in f32 into an f32 C. The CPU rounds
// into f32 scratch and runs OpenBLAS (an emulation, for checking), or for a single row of
// unrounded weights rounds them as it reads them (kernels/cpu/rounded_gemv.h); a GPU casts into
// bf16/f16 scratch and runs cuBLAS on tensor cores (cublasGemmEx, CUBLAS_COMPUTE_32F). Both round
// the same way (round to nearest even), and a product of two rounded values is exact in f32, so the
// two differ only in the order of the f32 sums.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/precision.h"
#include "core/tensor.h"

namespace recur {

// One operand: the stored matrix (op(a) = a or a^T) with its leading dimension, either f32
// values still to be rounded, or a copy made by round_for_gemm (rounded = true).
struct GemmOperand {
  const void* data = nullptr;
  int64_t ld = 0;
  bool rounded = false;
};

// Row-major c [M,N] = alpha * op(a) [M,K] * op(b) [K,N] + beta * c, every pointer on `device`.
// precision f32 runs the plain f32 GEMM (operands must not be `rounded` copies then).
void gemm_mixed(Device device, Precision precision, bool trans_a, bool trans_b, int64_t M,
                int64_t N, int64_t K, float alpha, GemmOperand a, GemmOperand b, float beta,
                float* c, int64_t ldc);

// The storage of rounded operands on `device` at `precision` (not f32): bf16/f16 on a GPU
// (cuBLAS's inputs), f32 holding the rounded values on the CPU (OpenBLAS's).
DType rounded_storage(Device device, Precision precision);

// A contiguous f32 tensor rounded once for many GEMMs at `precision` (not f32), in
// rounded_storage.
Tensor round_for_gemm(const Tensor& w, Precision precision);

// The weights one recurrent call multiplies by at every step, rounded once (the engines of
// kernels/recurrent_seq_driver.h). operand(p, ld) is the rounded copy when p is the first
// element of one of them, else p itself, to be rounded by gemm_mixed.
class RoundedWeights {
 public:
  RoundedWeights(Precision precision, std::vector<const Tensor*> weights);
  GemmOperand operand(const float* p, int64_t ld) const;

 private:
  std::vector<std::pair<const void*, Tensor>> copies_;  // (f32 original, rounded copy)
};

}  // namespace recur
