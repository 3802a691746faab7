// CPU reference engine for one direction of a recurrent layer over a sequence (see
// kernels/recurrent_seq.h): the shared time loop (kernels/recurrent_seq_driver.h) over OpenBLAS
// GEMMs (the per-step f32 products over packed weights, kernels/cpu/packed_step_gemm.h) and the
// threaded pointwise cell step. This is the engine every other engine is checked against, in f64
// for gradient checks and f32 for parity.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/cell_step.h"
#include "kernels/cpu/gemm_cpu.h"
#include "kernels/cpu/packed_step_gemm.h"
#include "kernels/gemm.h"
#include "kernels/recurrent_seq.h"
#include "kernels/recurrent_seq_driver.h"

namespace recur {

namespace {

bool valid(const RowMask& mask, int64_t b) {
  return !mask.lengths || mask.t < mask.lengths[b];
}

// The driver's primitives on the CPU (see kernels/recurrent_seq_driver.h for each contract).
template <class T>
struct CpuSeqOps {
  StepWeights* step_weights = nullptr;  // f32: the call's recurrent weights, packed on first use

  Device device() const { return Device::cpu(); }
  void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* a, int64_t lda,
            const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
    if constexpr (std::is_same_v<T, float>) {
      if (step_weights)
        if (const PackedWeights* w = step_weights->find(ta, tb, M, N, K, b, ldb))
          return w->multiply(M, alpha, a, lda, beta, c, ldc);
    }
    gemm_cpu<T>(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void cell_fwd(CellKind cell, const CellStepFwd<T>& st) { cell_step_fwd_ref(cell, st); }
  void cell_bwd(CellKind cell, const CellStepBwd<T>& st) { cell_step_bwd_ref(cell, st); }
  void copy(T* dst, const T* src, int64_t n) { std::memcpy(dst, src, n * sizeof(T)); }
  void zero(T* dst, int64_t n) { std::fill(dst, dst + n, T(0)); }
  void write_output(const RowMask& mask, T* y, int64_t ld_y, const T* h, int64_t S) {
    for (int64_t b = 0; b < mask.B; ++b) {
      T* dst = y + b * ld_y;
      if (valid(mask, b))
        std::memcpy(dst, h + b * S, S * sizeof(T));
      else
        std::fill(dst, dst + S, T(0));
    }
  }
  void add_output_grad(const RowMask& mask, T* out, const T* carry, const T* dy, int64_t ld_dy,
                       int64_t S) {
    for (int64_t b = 0; b < mask.B; ++b) {
      const T* dyr = dy && valid(mask, b) ? dy + b * ld_dy : nullptr;
      for (int64_t j = 0; j < S; ++j) out[b * S + j] = carry[b * S + j] + (dyr ? dyr[j] : T(0));
    }
  }
  void copy_padded_rows(const RowMask& mask, T* dst, const T* src, int64_t S) {
    for (int64_t b = 0; b < mask.B; ++b)
      if (!valid(mask, b)) std::memcpy(dst + b * S, src + b * S, S * sizeof(T));
  }
  void padded_rows_only(const RowMask& mask, T* dst, const T* src, int64_t S) {
    for (int64_t b = 0; b < mask.B; ++b) {
      if (valid(mask, b))
        std::fill(dst + b * S, dst + (b + 1) * S, T(0));
      else
        std::memcpy(dst + b * S, src + b * S, S * sizeof(T));
    }
  }
  void add_column_sums(const Tensor& m, Tensor& out) { recur::add_column_sums(m, out); }
};

// T of a [B, T, I] input (0 for another shape, which the driver refuses).
int64_t steps(const Tensor& x) {
  return x.dim() == 3 ? x.size(1) : 0;
}

}  // namespace

void recurrent_seq_fwd_ref(const SeqConfig& config, const SeqParams& params, SeqForward& args) {
  if (args.x->dtype() == DType::f64) {
    CpuSeqOps<double> ops;
    seq_driver::forward<double>(ops, config, params, args);
  } else {
    StepWeights packed({&params.w_hh, &params.w_hr}, steps(*args.x));
    CpuSeqOps<float> ops{&packed};
    seq_driver::forward<float>(ops, config, params, args);
  }
}

void recurrent_seq_bwd_ref(const SeqConfig& config, const SeqParams& params, SeqBackward& args) {
  if (args.x->dtype() == DType::f64) {
    CpuSeqOps<double> ops;
    seq_driver::backward<double>(ops, config, params, args);
  } else {
    StepWeights packed({&params.w_hh, &params.w_hr}, steps(*args.x));
    CpuSeqOps<float> ops{&packed};
    seq_driver::backward<float>(ops, config, params, args);
  }
}

}  // namespace recur
