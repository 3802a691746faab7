// The per-step GEMM over packed weights (kernels/cpu/packed_step_gemm.h).
#include "kernels/cpu/packed_step_gemm.h"

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RECUR_PACKED_STEP_GEMM 1
#else
#define RECUR_PACKED_STEP_GEMM 0
#endif

namespace recur {

namespace {

constexpr int64_t kPanel = 24;  // columns per panel: three 8-float vectors
constexpr int kRowBlock = 4;    // rows of C per register block (4 x 3 accumulators)
constexpr int64_t kThreadedMacs = int64_t(1) << 20;

#if RECUR_PACKED_STEP_GEMM

// One row of a block: row = r + beta * row over its `cols` columns (r = alpha * sums; all 24 in
// vectors, the last panel's partial row element by element).
void store_row(__m256 r[3], float* row, int64_t cols, float beta) {
  if (cols == kPanel) {
    for (int v = 0; v < 3; ++v) {
      if (beta != 0.0f)
        r[v] = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(row + 8 * v), r[v]);
      _mm256_storeu_ps(row + 8 * v, r[v]);
    }
    return;
  }
  alignas(32) float sums[kPanel];
  for (int v = 0; v < 3; ++v) _mm256_store_ps(sums + 8 * v, r[v]);
  for (int64_t j = 0; j < cols; ++j) row[j] = sums[j] + (beta == 0.0f ? 0.0f : beta * row[j]);
}

// C[RM, 24] of one panel: for each k, the panel's 24 values of row k times A[m, k] for RM rows.
// `c` receives the block (row stride ldc) for `cols` <= 24 columns.
template <int RM>
void panel_block(int64_t K, const float* A, int64_t lda, const float* panel, float alpha,
                 float beta, float* c, int64_t ldc, int64_t cols) {
  // Every loop over m and v unrolls fully, so the 3*RM accumulators stay in registers (a loop
  // left rolled makes GCC keep them in memory too, storing each one every k).
  __m256 acc[RM][3];
#pragma GCC unroll 4
  for (int m = 0; m < RM; ++m)
#pragma GCC unroll 3
    for (int v = 0; v < 3; ++v) acc[m][v] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* w = panel + k * kPanel;
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), w2 = _mm256_loadu_ps(w + 16);
#pragma GCC unroll 4
    for (int m = 0; m < RM; ++m) {
      const __m256 a = _mm256_broadcast_ss(A + m * lda + k);
      acc[m][0] = _mm256_fmadd_ps(a, w0, acc[m][0]);
      acc[m][1] = _mm256_fmadd_ps(a, w1, acc[m][1]);
      acc[m][2] = _mm256_fmadd_ps(a, w2, acc[m][2]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha);
#pragma GCC unroll 4
  for (int m = 0; m < RM; ++m) {
    __m256 r[3] = {_mm256_mul_ps(va, acc[m][0]), _mm256_mul_ps(va, acc[m][1]),
                   _mm256_mul_ps(va, acc[m][2])};
    store_row(r, c + m * ldc, cols, beta);
  }
}

void panel_rows(int64_t M, int64_t K, const float* A, int64_t lda, const float* panel, float alpha,
                float beta, float* c, int64_t ldc, int64_t cols) {
  int64_t m = 0;
  for (; m + kRowBlock <= M; m += kRowBlock)
    panel_block<kRowBlock>(K, A + m * lda, lda, panel, alpha, beta, c + m * ldc, ldc, cols);
  const float* a = A + m * lda;
  float* cm = c + m * ldc;
  switch (M - m) {
    case 3:
      return panel_block<3>(K, a, lda, panel, alpha, beta, cm, ldc, cols);
    case 2:
      return panel_block<2>(K, a, lda, panel, alpha, beta, cm, ldc, cols);
    case 1:
      return panel_block<1>(K, a, lda, panel, alpha, beta, cm, ldc, cols);
  }
}

#endif

}  // namespace

bool PackedWeights::supported() {
  return RECUR_PACKED_STEP_GEMM != 0;
}

PackedWeights::PackedWeights(const float* w, int64_t ldw, bool trans, int64_t K, int64_t N)
    : w_(w), ldw_(ldw), trans_(trans), K_(K), N_(N) {
  RECUR_CHECK(K >= 1 && N >= 1, "PackedWeights: expected K, N >= 1, got K={} N={}", K, N);
  const int64_t panels = (N + kPanel - 1) / kPanel;
  panels_.assign(panels * K * kPanel, 0.0f);
  // op(W)[k, n] = trans ? W[n, k] : W[k, n]
  parallel_for(panels, 8, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* panel = panels_.data() + p * K * kPanel;
      const int64_t n0 = p * kPanel, cols = std::min(kPanel, N - n0);
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t k = 0; k < K; ++k)
          panel[k * kPanel + j] = trans ? w[(n0 + j) * ldw + k] : w[k * ldw + n0 + j];
    }
  });
}

void PackedWeights::multiply(int64_t M, float alpha, const float* A, int64_t lda, float beta,
                             float* C, int64_t ldc) const {
#if RECUR_PACKED_STEP_GEMM
  const int64_t panels = (N_ + kPanel - 1) / kPanel;
  // One core does ~100 GFLOP/s here; handing half to the pool's other thread costs a few us
  // (core/parallel.h): a product of under kThreadedMacs multiply-adds (~20 us) stays on one.
  const int64_t grain = M * K_ * N_ < kThreadedMacs ? panels : 1;
  parallel_for(panels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t n0 = p * kPanel;
      panel_rows(M, K_, A, lda, panels_.data() + p * K_ * kPanel, alpha, beta, C + n0, ldc,
                 std::min(kPanel, N_ - n0));
    }
  });
#else
  (void)M, (void)alpha, (void)A, (void)lda, (void)beta, (void)C, (void)ldc;
  RECUR_FAIL("PackedWeights::multiply: this build has no AVX2/FMA kernel (check supported())");
#endif
}

StepWeights::StepWeights(std::vector<const Tensor*> weights, int64_t steps)
    : enabled_(PackedWeights::supported() && steps >= kMinSteps) {
  for (const Tensor* w : weights)
    if (w && w->defined() && w->dtype() == DType::f32) weights_.push_back(w->data<float>());
}

const PackedWeights* StepWeights::find(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                                       const float* b, int64_t ldb) {
  if (!enabled_ || trans_a || M < 2 || M > kPackedMaxRows || K < 1 || N < 1) return nullptr;
  // Two rows of a small W (up to 256K elements, 1 MiB): OpenBLAS's own small-matrix path was
  // faster there (measured, 13 us against 20 at N = K = 512); from 2 MiB on, 2x to 9x slower.
  if (M == 2 && N * K <= (int64_t(1) << 18)) return nullptr;
  if (std::find(weights_.begin(), weights_.end(), b) == weights_.end()) return nullptr;
  for (const PackedWeights& p : packed_)
    if (p.packs(b, ldb, trans_b, K, N)) return &p;
  packed_.emplace_back(b, ldb, trans_b, K, N);
  return &packed_.back();
}

}  // namespace recur
