// The per-step GEMM of the CPU reference engine's time loop:
//   C[M,N] = alpha * A[M,K] op(W)[K,N] + beta * C,   M (the batch) at most kPackedMaxRows,
// with W a weight matrix that stays the same for a whole sequence (W_hh, W_hr). OpenBLAS packs W
// again on every call, which at a few rows costs more than the arithmetic (at B=8, H=512 it
// reaches about a fifth of the machine's GEMM rate) and still about a tenth of the step at B=64
// to 256; here W is packed once per sequence into column panels that every step streams, with a
// kernel that keeps a block of C in registers (kernels/cpu/packed_panel.h): AVX-512 (8 x 48)
// where the CPU has it, else AVX2/FMA (4 x 24). Each element of C is summed in k order by one
// thread with fused multiply-adds, so results depend neither on the thread count nor on the
// kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace recur {

// Measured (layer benchmarks, A/B in alternation on 2 cores), with the AVX2 kernel: 1.1x-1.6x
// faster than OpenBLAS at B=8, 1.0x-1.3x at B=32 to 256 (training at H=1024, where the
// weight-gradient GEMMs dominate, within 0.98x-1.07x). Beyond 256 rows OpenBLAS's cache blocking
// is left to do it (but see kernels/cpu/packed_gemm.h). On an AVX-512 CPU (AMD EPYC, Zen 5) the
// AVX-512 kernel runs the product alone at 300-390 GFLOP/s against the AVX2 kernel's 170-195,
// and the layers 1.15x-1.64x faster.
inline constexpr int64_t kPackedMaxRows = 256;

// The instruction set of the register-blocked kernel; each packs W in panels of its own width.
enum class PackedKernel { avx2, avx512 };

// op(W) [K,N] of one weight, packed: W stored [N,K] with row stride ldw when `trans` (the forward
// step's h W_hh^T), else [K,N] (the backward step's dgates W_hh).
class PackedWeights {
 public:
  PackedWeights(const float* w, int64_t ldw, bool trans, int64_t K, int64_t N,
                PackedKernel kernel = default_kernel());
  // Whether this build and CPU run `kernel`: avx2 where the build is compiled for AVX2 and FMA
  // (RECUR_CPU_ARCH=x86-64-v3, the default), avx512 on an x86-64 CPU with AVX-512F.
  static bool runs(PackedKernel kernel);
  // Whether either kernel runs here.
  static bool supported() { return runs(PackedKernel::avx2) || runs(PackedKernel::avx512); }
  // The fastest kernel that runs here: avx512 where it runs, unless RECUR_PACKED_KERNEL=avx2
  // (to compare them, or where 512-bit instructions lower the clock). Throws when none runs.
  static PackedKernel default_kernel();
  PackedKernel kernel() const { return kernel_; }
  bool packs(const float* w, int64_t ldw, bool trans, int64_t K, int64_t N) const {
    return w == w_ && ldw == ldw_ && trans == trans_ && K == K_ && N == N_;
  }
  // C[M,N] (row stride ldc) = alpha * A[M,K] op(W) + beta * C; M >= 1; A stored [M,K], or [K,M]
  // where a_trans, with row stride lda. Over kPackedMaxRows rows (a whole GEMM,
  // kernels/cpu/packed_gemm.h) in chunks of rows.
  void multiply(int64_t M, float alpha, const float* A, int64_t lda, float beta, float* C,
                int64_t ldc, bool a_trans = false) const;

 private:
  const float* w_;
  int64_t ldw_;
  bool trans_;
  int64_t K_, N_;
  PackedKernel kernel_;
  int64_t width_;  // columns per panel: 24 (avx2) or 48 (avx512)
  // [ceil(N/width)][K][width], the last panel's missing columns zero; 64-byte aligned (AVX-512
  // loads across two cache lines made 1- and 2-row products up to 1.6x slower, measured at
  // K x N = 1024 x 4096, where they are bound by loads).
  std::shared_ptr<std::byte> storage_;
  float* panels_ = nullptr;
};

// The recurrent weights of one sequence call, packed on first use where packing pays: f32, no
// transposed A, 2 <= M <= kPackedMaxRows, and a sequence of at least kMinSteps steps (the pack
// costs about two steps' worth of OpenBLAS calls). Two rows of a small W go here too: OpenBLAS
// was 2.3x to 4.4x slower there with this VM's OPENBLAS_CORETYPE=Haswell, and at most 1.16x
// faster with its AVX-512 kernels (B=2 layers, H=256 and 512, measured A/B). Only the registered
// weights are packed: their values cannot change during the call, while any other operand may.
class StepWeights {
 public:
  static constexpr int64_t kMinSteps = 8;
  StepWeights(std::vector<const Tensor*> weights, int64_t steps);
  // The packed op(b) for this product, or null when OpenBLAS should run it. The pointer stays
  // valid as long as this object (later finds pack into new blocks).
  const PackedWeights* find(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                            const float* b, int64_t ldb);

 private:
  std::vector<const float*> weights_;
  bool enabled_;
  std::deque<PackedWeights> packed_;  // a deque: growing it moves no element
};

}  // namespace recur
