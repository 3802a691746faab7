// The per-step GEMM over packed weights (kernels/cpu/packed_step_gemm.h).
#include "kernels/cpu/packed_step_gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/allocator.h"
#include "core/error.h"
#include "core/parallel.h"
#include "kernels/cpu/packed_panel.h"
#include "kernels/cpu/transpose.h"

namespace recur {

namespace {

constexpr int64_t kThreadedMacs = int64_t(1) << 20;
constexpr int64_t kChunkFloats = int64_t(1) << 16;  // 256 KiB of A per chunk of rows
constexpr int64_t kSliceK = 512;                    // rows of a panel summed at a time

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
      if (trans) {
        transpose(w + n0 * ldw, ldw, cols, K, panel, width);
      } else {  // row by row (by columns it ran at 2.5 GB/s: 1.7 ms for 2048 x 512)
        for (int64_t k = 0; k < K; ++k) std::copy_n(w + k * ldw + n0, cols, panel + k * width);
      }
      for (int64_t k = 0; cols < width && k < K; ++k)
        std::fill(panel + k * width + cols, panel + (k + 1) * width, 0.0f);
    }
  });
}

void PackedWeights::multiply(int64_t M, float alpha, const float* A, int64_t lda, float beta,
                             float* C, int64_t ldc, bool a_trans) const {
  const int64_t width = width_, panels = (N_ + width - 1) / width;
  const auto rows =
      kernel_ == PackedKernel::avx512 ? packed_panel::rows_avx512 : packed_panel::rows_avx2;
  auto product = [&](int64_t p) {
    return packed_panel::PanelProduct{K_,   lda, panels_ + p * K_ * width,        alpha,
                                      beta, ldc, std::min(width, N_ - p * width), a_trans};
  };
  if (M <= kPackedMaxRows) {
    // One core does ~100 GFLOP/s here with AVX2; handing half to the pool's other thread costs a
    // few us (core/parallel.h): a product of under kThreadedMacs multiply-adds (~20 us) stays on
    // one.
    const int64_t grain = M * K_ * N_ < kThreadedMacs ? panels : 1;
    parallel_for(panels, grain, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) rows(M, product(p), A, C + p * width);
    });
    return;
  }
  // Many rows: tasks of (a chunk of rows, a panel), chunk-major, so that a thread's consecutive
  // tasks reuse one chunk of A (about kChunkFloats of it) while the panels stream past. A long K
  // is summed in slices of kSliceK rows of the panel (96 KiB at 48 columns, in L2), each slice
  // added to C: a whole panel at K = 16384 (3 MiB) streamed from L3 for every 8 rows of A (the
  // weight gradients at T*B = 16384: training layers 1.10x-1.20x faster, A/B in alternation).
  const int64_t slice = std::min(K_, kSliceK);
  const int64_t chunk = std::clamp<int64_t>(kChunkFloats / slice / 8 * 8, 8, kPackedMaxRows);
  const int64_t chunks = (M + chunk - 1) / chunk;
  parallel_for(chunks * panels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t m0 = t / panels * chunk, p = t % panels;
      packed_panel::PanelProduct part = product(p);
      for (int64_t k0 = 0; k0 < K_; k0 += slice) {
        part.K = std::min(slice, K_ - k0);
        part.panel = panels_ + (p * K_ + k0) * width;
        part.beta = k0 == 0 ? beta : 1.0f;  // the slices after the first add to C
        const float* a = a_trans ? A + k0 * lda + m0 : A + m0 * lda + k0;
        rows(std::min(chunk, M - m0), part, a, C + m0 * ldc + p * width);
      }
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
