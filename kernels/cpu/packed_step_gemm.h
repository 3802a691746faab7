// The per-step GEMM of the CPU reference engine's time loop:
//   C[M,N] = alpha * A[M,K] op(W)[K,N] + beta * C,   M (the batch) at most kPackedMaxRows,
// with W a weight matrix that stays the same for a whole sequence (W_hh, W_hr). OpenBLAS packs W
// again on every call, which at a few rows costs more than the arithmetic (at B=8, H=512 it
// reaches about a fifth of the machine's GEMM rate) and still about a tenth of the step at B=64
// to 256; here W is packed once per sequence into column panels that every step streams, with an
// AVX2/FMA kernel that keeps a 4 x 24 block of C in registers. Each element of C is summed in k
// order by one thread, so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace recur {

// Measured (layer benchmarks, A/B in alternation on 2 cores): 1.1x-1.6x faster than OpenBLAS at
// B=8, 1.0x-1.3x at B=32 to 256 (training at H=1024, where the weight-gradient GEMMs dominate,
// within 0.98x-1.07x). Beyond 256 rows OpenBLAS's cache blocking is left to do it.
inline constexpr int64_t kPackedMaxRows = 256;

// op(W) [K,N] of one weight, packed: W stored [N,K] with row stride ldw when `trans` (the forward
// step's h W_hh^T), else [K,N] (the backward step's dgates W_hh).
class PackedWeights {
 public:
  PackedWeights(const float* w, int64_t ldw, bool trans, int64_t K, int64_t N);
  // Whether this build has the kernel (compiled for AVX2 and FMA, as RECUR_CPU_ARCH=x86-64-v3).
  static bool supported();
  bool packs(const float* w, int64_t ldw, bool trans, int64_t K, int64_t N) const {
    return w == w_ && ldw == ldw_ && trans == trans_ && K == K_ && N == N_;
  }
  // C[M,N] (row stride ldc) = alpha * A[M,K] (row stride lda) op(W) + beta * C; M >= 1.
  void multiply(int64_t M, float alpha, const float* A, int64_t lda, float beta, float* C,
                int64_t ldc) const;

 private:
  const float* w_;
  int64_t ldw_;
  bool trans_;
  int64_t K_, N_;
  std::vector<float> panels_;  // [ceil(N/24)][K][24], the last panel's missing columns zero
};

// The recurrent weights of one sequence call, packed on first use where packing pays: f32, no
// transposed A, 2 <= M <= kPackedMaxRows (not two rows of a W of at most 256K elements), and
// a sequence of at least kMinSteps steps (the pack costs about two steps' worth of OpenBLAS
// calls). Only the registered weights are packed: their values cannot change during the call,
// while any other operand may.
class StepWeights {
 public:
  static constexpr int64_t kMinSteps = 8;
  StepWeights(std::vector<const Tensor*> weights, int64_t steps);
  // The packed op(b) for this product, or null when OpenBLAS should run it.
  const PackedWeights* find(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                            const float* b, int64_t ldb);

 private:
  std::vector<const float*> weights_;
  bool enabled_;
  std::vector<PackedWeights> packed_;
};

}  // namespace recur
