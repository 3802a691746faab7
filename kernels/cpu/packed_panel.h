// The register-blocked kernels of the per-step GEMM over packed weights
// (kernels/cpu/packed_step_gemm.h), one per instruction set, and which of them this CPU runs.
// A panel is `width` columns of op(W) stored k-major: panel[k * width + j]. Both kernels sum every
// element of C in k order with one fused multiply-add per term, scale by alpha, then add beta * C
// with one more fused multiply-add: they give bit-identical results.
#pragma once

#include <cstdint>

namespace recur::packed_panel {

inline constexpr int64_t kAvx2Width = 24;    // three 8-float vectors: a 4 x 24 block of C
inline constexpr int64_t kAvx512Width = 48;  // three 16-float vectors: an 8 x 48 block of C

// Whether this build has the AVX2/FMA kernel (compiled for x86-64-v3, as RECUR_CPU_ARCH is by
// default), and whether this build has the AVX-512 kernel and the CPU and OS run it.
bool avx2_compiled();
bool avx512_runs();

// One panel's product but its rows: C[M, cols] (row stride ldc) = alpha * A[M, K] (row stride
// lda) panel[K, width] + beta * C, for cols <= width columns of the panel; C is not read where
// beta is 0.
struct PanelProduct {
  int64_t K, lda;
  const float* panel;
  float alpha, beta;
  int64_t ldc, cols;
};

// The product for M >= 1 rows of A and C.
void rows_avx2(int64_t M, const PanelProduct& p, const float* A, float* C);
void rows_avx512(int64_t M, const PanelProduct& p, const float* A, float* C);

// Both kernels' row loop: Kernel::block<R>(p, A rows, C rows) over whole blocks of
// Kernel::kRowBlock rows, then one block of the remaining rows (R a compile-time count, so that
// the block's accumulators stay in registers).
template <class Kernel, int R>
void remainder_rows(int64_t rows, const PanelProduct& p, const float* A, float* C) {
  if constexpr (R > 0) {
    if (rows == R) return Kernel::template block<R>(p, A, C);
    remainder_rows<Kernel, R - 1>(rows, p, A, C);
  }
}

template <class Kernel>
void over_rows(int64_t M, const PanelProduct& p, const float* A, float* C) {
  constexpr int kRows = Kernel::kRowBlock;
  int64_t m = 0;
  for (; m + kRows <= M; m += kRows) Kernel::template block<kRows>(p, A + m * p.lda, C + m * p.ldc);
  remainder_rows<Kernel, kRows - 1>(M - m, p, A + m * p.lda, C + m * p.ldc);
}

}  // namespace recur::packed_panel
