// The AVX-512 kernel of the per-step GEMM over packed weights (kernels/cpu/packed_panel.h),
// compiled for AVX-512F through function attributes whatever RECUR_CPU_ARCH says, and run only
// where the CPU and OS support it (packed_step_gemm.cpp asks avx512_runs()).
#include "core/error.h"
#include "kernels/cpu/packed_panel.h"

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#include <immintrin.h>
#define RECUR_PACKED_AVX512 1
#define RECUR_AVX512 __attribute__((target("avx512f")))
#else
#define RECUR_PACKED_AVX512 0
#endif

namespace recur::packed_panel {

#if RECUR_PACKED_AVX512
namespace {

constexpr int64_t kWidth = kAvx512Width;

// The lanes of vector v (columns 16v .. 16v+15) that lie inside the panel's `cols` columns.
RECUR_AVX512 __mmask16 column_mask(int v, int64_t cols) {
  const int64_t n = cols - 16 * v;
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

struct Avx512 {
  static constexpr int kRowBlock = 8;  // rows of C per register block: 8 x 3 of 32 registers

  // C[RM, 48] of one panel: for each k, the panel's 48 values of row k times A[m, k], RM rows.
  template <int RM, bool kATrans>
  RECUR_AVX512 static void block(const PanelProduct& p, const float* A, float* C);
};

template <int RM, bool kATrans>
RECUR_AVX512 void Avx512::block(const PanelProduct& p, const float* A, float* C) {
  const int64_t K = p.K, lda = p.lda;
  __m512 acc[RM][3];  // unrolled fully so that they stay in registers (see packed_panel_avx2.cpp)
#pragma GCC unroll 8
  for (int m = 0; m < RM; ++m)
#pragma GCC unroll 3
    for (int v = 0; v < 3; ++v) acc[m][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* w = p.panel + k * kWidth;
    const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16),
                 w2 = _mm512_loadu_ps(w + 32);
#pragma GCC unroll 8
    for (int m = 0; m < RM; ++m) {
      const __m512 a = _mm512_set1_ps(*a_element<kATrans>(A, lda, m, k));
      acc[m][0] = _mm512_fmadd_ps(a, w0, acc[m][0]);
      acc[m][1] = _mm512_fmadd_ps(a, w1, acc[m][1]);
      acc[m][2] = _mm512_fmadd_ps(a, w2, acc[m][2]);
    }
  }
  const __m512 va = _mm512_set1_ps(p.alpha), vb = _mm512_set1_ps(p.beta);
#pragma GCC unroll 8
  for (int m = 0; m < RM; ++m) {
    float* row = C + m * p.ldc;
#pragma GCC unroll 3
    for (int v = 0; v < 3; ++v) {
      const __mmask16 lanes = column_mask(v, p.cols);
      __m512 r = _mm512_mul_ps(va, acc[m][v]);
      if (p.beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(lanes, row + 16 * v), r);
      _mm512_mask_storeu_ps(row + 16 * v, lanes, r);
    }
  }
}

}  // namespace

bool avx512_runs() {
  static const bool runs = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;  // also checks that the OS saves zmm state
  }();
  return runs;
}

void rows_avx512(int64_t M, const PanelProduct& p, const float* A, float* C) {
  over_rows<Avx512>(M, p, A, C);
}

#else

bool avx512_runs() {
  return false;
}

void rows_avx512(int64_t, const PanelProduct&, const float*, float*) {
  RECUR_FAIL("packed_panel::rows_avx512: this build has no AVX-512 kernel (check avx512_runs())");
}

#endif

}  // namespace recur::packed_panel
