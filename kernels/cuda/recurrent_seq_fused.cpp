// The Fused engine for one direction of a recurrent layer on a GPU (kernels/recurrent_seq.h): the
// time loop shared with the CPU reference (kernels/recurrent_seq_driver.h), run with cuBLAS GEMMs,
// ONE fused pointwise kernel per step for the gates, cell update and new state
// (kernels/cuda/cell_step_cuda.cu; the training variant keeps its cache, the inference variant
// keeps nothing) and the masked row copies of kernels/cuda/recurrent_seq_ops.cu. Everything is
// queued on the device's recur stream; nothing here synchronises.
#include "core/cuda/context.h"
#include "core/cuda_runtime.h"
#include "kernels/cuda/cell_step_cuda.h"
#include "kernels/cuda/gemm_cuda.h"
#include "kernels/cuda/recurrent_seq_ops.h"
#include "kernels/cuda/seq_arg_checks.h"
#include "kernels/recurrent_seq.h"
#include "kernels/recurrent_seq_driver.h"

namespace recur {

namespace {

// The driver's primitives on GPU `device` (contracts in kernels/recurrent_seq_driver.h).
template <class T>
struct CudaSeqOps {
  int index;
  void* stream;

  explicit CudaSeqOps(int device)
      : index(device), stream(static_cast<void*>(cuda_context(device).stream())) {}
  Device device() const { return Device::cuda(index); }
  void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* a, int64_t lda,
            const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
    gemm_cuda<T>(index, ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void cell_fwd(CellKind cell, const CellStepFwd<T>& st) { launch_cell_step_fwd(cell, st, stream); }
  void cell_bwd(CellKind cell, const CellStepBwd<T>& st) { launch_cell_step_bwd(cell, st, stream); }
  void copy(T* dst, const T* src, int64_t n) {
    copy_bytes(dst, device(), src, device(), static_cast<size_t>(n) * sizeof(T));
  }
  void zero(T* dst, int64_t n) { zero_bytes(dst, device(), static_cast<size_t>(n) * sizeof(T)); }
  void write_output(const RowMask& mask, T* y, int64_t ld_y, const T* h, int64_t S) {
    launch_write_output(mask, y, ld_y, h, S, stream);
  }
  void add_output_grad(const RowMask& mask, T* out, const T* carry, const T* dy, int64_t ld_dy,
                       int64_t S) {
    launch_add_output_grad(mask, out, carry, dy, ld_dy, S, stream);
  }
  void copy_padded_rows(const RowMask& mask, T* dst, const T* src, int64_t S) {
    launch_masked_rows(mask, dst, src, S, /*zero_valid=*/false, stream);
  }
  void padded_rows_only(const RowMask& mask, T* dst, const T* src, int64_t S) {
    launch_masked_rows(mask, dst, src, S, /*zero_valid=*/true, stream);
  }
  void add_column_sums(const Tensor& m, Tensor& out) {
    launch_add_column_sums(m.data<T>(), m.size(0), m.size(1), out.data<T>(), stream);
  }
};

constexpr const char* kEngine = "Fused";

}  // namespace

void recurrent_seq_fwd_fused(const SeqConfig& config, const SeqParams& params, SeqForward& args) {
  const Device d = seq_checks::input_gpu(kEngine, *args.x);
  seq_checks::check_float_input(kEngine, *args.x);
  seq_checks::check_params_on(kEngine, params, d);
  seq_checks::check_forward_on(kEngine, args, d);
  DeviceGuard guard(d.index);  // kernels launch on the current device
  if (args.x->dtype() == DType::f64) {
    CudaSeqOps<double> ops(d.index);
    seq_driver::forward<double>(ops, config, params, args);
  } else {
    CudaSeqOps<float> ops(d.index);
    seq_driver::forward<float>(ops, config, params, args);
  }
}

void recurrent_seq_bwd_fused(const SeqConfig& config, const SeqParams& params, SeqBackward& args) {
  const Device d = seq_checks::input_gpu(kEngine, *args.x);
  seq_checks::check_float_input(kEngine, *args.x);
  seq_checks::check_params_on(kEngine, params, d);
  seq_checks::check_backward_on(kEngine, args, d);
  RECUR_CHECK(args.saved != nullptr && args.saved->hs.defined() && args.saved->hs.device() == d,
              "Fused engine backward: expected the saved forward of a fused training forward on {}",
              d.name());
  DeviceGuard guard(d.index);
  if (args.x->dtype() == DType::f64) {
    CudaSeqOps<double> ops(d.index);
    seq_driver::backward<double>(ops, config, params, args);
  } else {
    CudaSeqOps<float> ops(d.index);
    seq_driver::backward<float>(ops, config, params, args);
  }
}

}  // namespace recur
