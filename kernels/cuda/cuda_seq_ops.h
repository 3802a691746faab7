// The shared time loop's primitives (kernels/recurrent_seq_driver.h) on a GPU: cuBLAS GEMMs, the
// fused pointwise cell step (kernels/cuda/cell_step_cuda.h) and the masked row kernels
// (kernels/cuda/recurrent_seq_ops.h), all queued on the device's recur stream. Used by the fused
// engine (kernels/cuda/recurrent_seq_fused.cpp) and by the persistent engine for the work around
// its kernels. T is float or double.
#pragma once

#include "core/cuda/context.h"
#include "core/cuda_runtime.h"
#include "kernels/cuda/cell_step_cuda.h"
#include "kernels/cuda/gemm_cuda.h"
#include "kernels/cuda/recurrent_seq_ops.h"
#include "kernels/recurrent_seq.h"

namespace recur {

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

}  // namespace recur
