// The per-step GEMM over packed weights (kernels/cpu/packed_step_gemm.h).
#include "kernels/cpu/packed_step_gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/allocator.h"
#include "core/error.h"
#include "core/parallel.h"
#include "kernels/cpu/packed_panel.h"

namespace recur {

namespace {

constexpr int64_t kThreadedMacs = int64_t(1) << 20;

}  // namespace

bool PackedWeights::runs(PackedKernel kernel) {
  return kernel == PackedKernel::avx512 ? packed_panel::avx512_runs()
                                        : packed_panel::avx2_compiled();
}

PackedKernel PackedWeights::default_kernel() {
  static const PackedKernel chosen = [] {
    const char* forced = std::getenv("RECUR_PACKED_KERNEL");
    const bool avx2_forced = forced && std::strcmp(forced, "avx2") == 0;
    return runs(PackedKernel::avx512) && !avx2_forced ? PackedKernel::avx512 : PackedKernel::avx2;
  }();
  RECUR_CHECK(runs(chosen),
              "PackedWeights: this build and CPU run no packed kernel (check supported())");
  return chosen;
}

PackedWeights::PackedWeights(const float* w, int64_t ldw, bool trans, int64_t K, int64_t N,
                             PackedKernel kernel)
    : w_(w),
      ldw_(ldw),
      trans_(trans),
      K_(K),
      N_(N),
      kernel_(kernel),
      width_(kernel == PackedKernel::avx512 ? packed_panel::kAvx512Width
                                            : packed_panel::kAvx2Width) {
  RECUR_CHECK(K >= 1 && N >= 1, "PackedWeights: expected K, N >= 1, got K={} N={}", K, N);
  RECUR_CHECK(runs(kernel), "PackedWeights: the {} kernel does not run on this build and CPU",
              kernel == PackedKernel::avx512 ? "avx512" : "avx2");
  const int64_t panels = (N + width_ - 1) / width_, width = width_;
  const size_t count = static_cast<size_t>(panels * K * width);
  storage_ = allocate_cpu(count * sizeof(float));
  panels_ = reinterpret_cast<float*>(storage_.get());
  // op(W)[k, n] = trans ? W[n, k] : W[k, n]; the last panel's missing columns zero (every element
  // is written once: this runs on every sequence call).
  parallel_for(panels, 8, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* panel = panels_ + p * K * width;
      const int64_t n0 = p * width, cols = std::min(width, N - n0);
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t k = 0; k < K; ++k)
          panel[k * width + j] = trans ? w[(n0 + j) * ldw + k] : w[k * ldw + n0 + j];
      for (int64_t k = 0; cols < width && k < K; ++k)
        std::fill(panel + k * width + cols, panel + (k + 1) * width, 0.0f);
    }
  });
}

void PackedWeights::multiply(int64_t M, float alpha, const float* A, int64_t lda, float beta,
                             float* C, int64_t ldc) const {
  const int64_t width = width_, panels = (N_ + width - 1) / width;
  const auto rows =
      kernel_ == PackedKernel::avx512 ? packed_panel::rows_avx512 : packed_panel::rows_avx2;
  // One core does ~100 GFLOP/s here with AVX2; handing half to the pool's other thread costs a few
  // us (core/parallel.h): a product of under kThreadedMacs multiply-adds (~20 us) stays on one.
  const int64_t grain = M * K_ * N_ < kThreadedMacs ? panels : 1;
  parallel_for(panels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t n0 = p * width;
      const packed_panel::PanelProduct product{K_,   lda, panels_ + p * K_ * width, alpha,
                                               beta, ldc, std::min(width, N_ - n0)};
      rows(M, product, A, C + n0);
    }
  });
}

StepWeights::StepWeights(std::vector<const Tensor*> weights, int64_t steps)
    : enabled_(PackedWeights::supported() && steps >= kMinSteps) {
  for (const Tensor* w : weights)
    if (w && w->defined() && w->dtype() == DType::f32) weights_.push_back(w->data<float>());
}

const PackedWeights* StepWeights::find(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                                       const float* b, int64_t ldb) {
  if (!enabled_ || trans_a || M < 2 || M > kPackedMaxRows || K < 1 || N < 1) return nullptr;
  if (std::find(weights_.begin(), weights_.end(), b) == weights_.end()) return nullptr;
  for (const PackedWeights& p : packed_)
    if (p.packs(b, ldb, trans_b, K, N)) return &p;
  packed_.emplace_back(b, ldb, trans_b, K, N);
  return &packed_.back();
}

}  // namespace recur
