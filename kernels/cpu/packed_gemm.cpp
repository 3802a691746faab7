// Whole f32 GEMMs through the packed kernel (kernels/cpu/packed_gemm.h).
#include "kernels/cpu/packed_gemm.h"

#include <cblas.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/cpu/packed_step_gemm.h"

namespace recur {

namespace {

// Below these the pack of op(B) (K*N floats) is not repaid: alone, 64 x 256
// x 256 ran even with OpenBLAS (and rnn_tanh layers at B=1, H=256, 0.8x), 64 x 256 x 768 1.97x.
constexpr int64_t kMinRows = 32;
constexpr int64_t kMinMacs = int64_t(1) << 23;

bool openblas_runs_avx512() {
  std::string core = openblas_get_corename();
  std::transform(core.begin(), core.end(), core.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* avx512_core : {"skylakex", "cooperlake", "sapphirerapids"})
    if (core.find(avx512_core) != std::string::npos) return true;
  return false;
}

}  // namespace

bool packed_gemm_preferred() {
  static const bool preferred = [] {
    if (!PackedWeights::supported()) return false;
    const char* forced = std::getenv("RECUR_GEMM");
    if (forced && std::strcmp(forced, "packed") == 0) return true;
    if (forced && std::strcmp(forced, "openblas") == 0) return false;
    return PackedWeights::default_kernel() == PackedKernel::avx512 && !openblas_runs_avx512();
  }();
  return preferred;
}

bool packed_gemm_pays(int64_t M, int64_t N, int64_t K) {
  return M >= kMinRows && M * N * K >= kMinMacs && packed_gemm_preferred();
}

void packed_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc) {
  // A transposed is read in place by the kernel (kernels/cpu/packed_panel.h). A transposed copy
  // of it (M*K floats, 4 MiB for the weight gradients at B*T = 4096, G = 256) made those GEMMs
  // 1.13x-1.35x slower (256 x 256 x 4096: 158 against 208 GFLOP/s) and training layers at B = 64
  // 1.01x-1.08x (A/B in alternation).
  const PackedWeights packed(B, ldb, trans_b, K, N);
  packed.multiply(M, alpha, A, lda, beta, C, ldc, trans_a);
}

}  // namespace recur
