// Whole f32 GEMMs through the packed kernel (kernels/cpu/packed_gemm.h).
#include "kernels/cpu/packed_gemm.h"

#include <cblas.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/allocator.h"
#include "core/parallel.h"
#include "kernels/cpu/packed_step_gemm.h"
#include "kernels/cpu/transpose.h"

namespace recur {

namespace {

// Below these the pack (K*N floats, and M*K where A is transposed) is not repaid: alone, 64 x 256
// x 256 ran even with OpenBLAS (and rnn_tanh layers at B=1, H=256, 0.8x), 64 x 256 x 768 1.97x.
constexpr int64_t kMinRows = 32;
constexpr int64_t kMinMacs = int64_t(1) << 23;
constexpr int64_t kTransposeRows = 64;  // rows of the stored A per task of its transpose

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
  std::shared_ptr<std::byte> transposed;
  if (trans_a) {  // the kernel reads rows of op(A)
    transposed = allocate_cpu(static_cast<size_t>(M * K) * sizeof(float));
    float* at = reinterpret_cast<float*>(transposed.get());
    // A [K, M] into at [M, K], split over the rows of A.
    parallel_for((K + kTransposeRows - 1) / kTransposeRows, 4, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t k0 = b * kTransposeRows, rows = std::min(K - k0, kTransposeRows);
        transpose(A + k0 * lda, lda, rows, M, at + k0, K);
      }
    });
    A = at;
    lda = K;
  }
  const PackedWeights packed(B, ldb, trans_b, K, N);
  packed.multiply(M, alpha, A, lda, beta, C, ldc);
}

}  // namespace recur
