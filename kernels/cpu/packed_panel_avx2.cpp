// The AVX2/FMA kernel of the per-step GEMM over packed weights (kernels/cpu/packed_panel.h).
#include <cmath>

#include "core/error.h"
#include "kernels/cpu/packed_panel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RECUR_PACKED_AVX2 1
#else
#define RECUR_PACKED_AVX2 0
#endif

namespace recur::packed_panel {

#if RECUR_PACKED_AVX2
namespace {

constexpr int64_t kWidth = kAvx2Width;

// One row of a block: row = r + beta * row over its `cols` columns (r = alpha * sums; all 24 in
// vectors, the last panel's partial row element by element, fused as the vectors are).
void store_row(__m256 r[3], float* row, int64_t cols, float beta) {
  if (cols == kWidth) {
    for (int v = 0; v < 3; ++v) {
      if (beta != 0.0f)
        r[v] = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(row + 8 * v), r[v]);
      _mm256_storeu_ps(row + 8 * v, r[v]);
    }
    return;
  }
  alignas(32) float sums[kWidth];
  for (int v = 0; v < 3; ++v) _mm256_store_ps(sums + 8 * v, r[v]);
  for (int64_t j = 0; j < cols; ++j)
    row[j] = beta == 0.0f ? sums[j] : std::fma(beta, row[j], sums[j]);
}

struct Avx2 {
  static constexpr int kRowBlock = 4;  // rows of C per register block: 4 x 3 of 16 registers

  // C[RM, 24] of one panel: for each k, the panel's 24 values of row k times A[m, k], RM rows.
  template <int RM, bool kATrans>
  static void block(const PanelProduct& p, const float* A, float* C);
};

template <int RM, bool kATrans>
void Avx2::block(const PanelProduct& p, const float* A, float* C) {
  const int64_t K = p.K, lda = p.lda;
  // Every loop over m and v unrolls fully, so the 3*RM accumulators stay in registers (a loop
  // left rolled makes GCC keep them in memory too, storing each one every k).
  __m256 acc[RM][3];
#pragma GCC unroll 4
  for (int m = 0; m < RM; ++m)
#pragma GCC unroll 3
    for (int v = 0; v < 3; ++v) acc[m][v] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* w = p.panel + k * kWidth;
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), w2 = _mm256_loadu_ps(w + 16);
#pragma GCC unroll 4
    for (int m = 0; m < RM; ++m) {
      const __m256 a = _mm256_broadcast_ss(a_element<kATrans>(A, lda, m, k));
      acc[m][0] = _mm256_fmadd_ps(a, w0, acc[m][0]);
      acc[m][1] = _mm256_fmadd_ps(a, w1, acc[m][1]);
      acc[m][2] = _mm256_fmadd_ps(a, w2, acc[m][2]);
    }
  }
  const __m256 va = _mm256_set1_ps(p.alpha);
#pragma GCC unroll 4
  for (int m = 0; m < RM; ++m) {
    __m256 r[3] = {_mm256_mul_ps(va, acc[m][0]), _mm256_mul_ps(va, acc[m][1]),
                   _mm256_mul_ps(va, acc[m][2])};
    store_row(r, C + m * p.ldc, p.cols, p.beta);
  }
}

}  // namespace

bool avx2_compiled() {
  return true;
}

void rows_avx2(int64_t M, const PanelProduct& p, const float* A, float* C) {
  over_rows<Avx2>(M, p, A, C);
}

#else

bool avx2_compiled() {
  return false;
}

void rows_avx2(int64_t, const PanelProduct&, const float*, float*) {
  RECUR_FAIL("packed_panel::rows_avx2: this build has no AVX2/FMA kernel (check avx2_compiled())");
}

#endif

}  // namespace recur::packed_panel
