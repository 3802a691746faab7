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

// One panel's product but its rows: C[M, cols] (row stride ldc) = alpha * A[M, K] panel[K, width]
// + beta * C, for cols <= width columns of the panel; C is not read where beta is 0. A is stored
// [M, K] with row stride lda, or [K, M] with row stride lda where a_trans (the weight gradients'
// dgates^T: the kernel broadcasts A one element at a time, so it reads the stored [K, M] in place,
// the RM elements of one k side by side, rather than a transposed copy).
struct PanelProduct {
  int64_t K, lda;
  const float* panel;
  float alpha, beta;
  int64_t ldc, cols;
  bool a_trans = false;
};

// The product for M >= 1 rows of A and C.
void rows_avx2(int64_t M, const PanelProduct& p, const float* A, float* C);
void rows_avx512(int64_t M, const PanelProduct& p, const float* A, float* C);

// Where element (m, k) of A lies: A[m * lda + k], or A[k * lda + m] where kATrans.
template <bool kATrans>
inline const float* a_element(const float* A, int64_t lda, int64_t m, int64_t k) {
  return kATrans ? A + k * lda + m : A + m * lda + k;
}

// Both kernels' row loop: Kernel::block<R, kATrans>(p, A rows, C rows) over whole blocks of
// Kernel::kRowBlock rows, then one block of the remaining rows (R a compile-time count, so that
// the block's accumulators stay in registers).
template <class Kernel, bool kATrans, int R>
void remainder_rows(int64_t rows, const PanelProduct& p, const float* A, float* C) {
  if constexpr (R > 0) {
    if (rows == R) return Kernel::template block<R, kATrans>(p, A, C);
    remainder_rows<Kernel, kATrans, R - 1>(rows, p, A, C);
  }
}

template <class Kernel, bool kATrans>
void over_rows(int64_t M, const PanelProduct& p, const float* A, float* C) {
  constexpr int kRows = Kernel::kRowBlock;
  const int64_t a_row = kATrans ? 1 : p.lda;
  int64_t m = 0;
  for (; m + kRows <= M; m += kRows)
    Kernel::template block<kRows, kATrans>(p, A + m * a_row, C + m * p.ldc);
  remainder_rows<Kernel, kATrans, kRows - 1>(M - m, p, A + m * a_row, C + m * p.ldc);
}

template <class Kernel>
void over_rows(int64_t M, const PanelProduct& p, const float* A, float* C) {
  if (p.a_trans) return over_rows<Kernel, true>(M, p, A, C);
  over_rows<Kernel, false>(M, p, A, C);
}

}  // namespace recur::packed_panel
