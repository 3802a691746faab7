// kernels/mixed_gemm.h: rounding the operands into scratch on their device, then OpenBLAS (CPU)
// or cuBLAS with 16-bit inputs and f32 accumulation (GPU).
#include "kernels/mixed_gemm.h"

#include "core/cuda_runtime.h"
#include "core/parallel.h"
#include "kernels/cpu/gemm_cpu.h"
#include "kernels/cpu/rounded_gemv.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/elementwise_cuda.h"
#include "kernels/cuda/gemm_cuda.h"
#endif

namespace recur {

namespace {

// src [rows, cols] with leading dimension ld, rounded into contiguous f32 dst [rows, cols].
void round_rows_cpu(const float* src, int64_t rows, int64_t cols, int64_t ld, Precision precision,
                    float* dst) {
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t r = begin; r < end; ++r)
                   round_floats(src + r * ld, cols, precision, dst + r * cols);
               });
}

// An operand's stored matrix (rows x cols): op(a) [M,K] is stored [K,M] when transposed, else
// [M,K]; op(b) [K,N] is stored [N,K] when transposed, else [K,N].
struct Stored {
  int64_t rows, cols;
};
Stored stored_a(bool trans, int64_t M, int64_t K) {
  return trans ? Stored{K, M} : Stored{M, K};
}
Stored stored_b(bool trans, int64_t N, int64_t K) {
  return trans ? Stored{N, K} : Stored{K, N};
}

// The operand ready for the multiply: `op` itself when already rounded, else a rounded contiguous
// copy kept in `scratch` (the data type of the device's GEMM inputs).
GemmOperand ready(Device device, Precision precision, GemmOperand op, Stored s, Tensor& scratch) {
  if (op.rounded) return op;
  const bool gpu = device.is_cuda();
  scratch = Tensor::empty({s.rows, s.cols}, rounded_storage(device, precision), device);
  const float* src = static_cast<const float*>(op.data);
  if (!gpu) {
    round_rows_cpu(src, s.rows, s.cols, op.ld, precision, scratch.data<float>());
  } else {
#if RECUR_WITH_CUDA
    launch_round_rows(src, s.rows, s.cols, op.ld, precision, scratch.raw_data(),
                      cuda_stream(device.index));
#endif
  }
  return GemmOperand{scratch.raw_data(), s.cols, true};
}

}  // namespace

DType rounded_storage(Device device, Precision precision) {
  return device.is_cuda() ? operand_dtype(precision) : DType::f32;
}

void gemm_mixed(Device device, Precision precision, bool trans_a, bool trans_b, int64_t M,
                int64_t N, int64_t K, float alpha, GemmOperand a, GemmOperand b, float beta,
                float* c, int64_t ldc) {
  if (precision == Precision::f32) {
    RECUR_CHECK(!a.rounded && !b.rounded, "gemm_mixed: f32 precision takes unrounded operands");
    const auto* A = static_cast<const float*>(a.data);
    const auto* B = static_cast<const float*>(b.data);
    if (device.is_cuda()) {
#if RECUR_WITH_CUDA
      gemm_cuda<float>(device.index, trans_a, trans_b, M, N, K, alpha, A, a.ld, B, b.ld, beta, c,
                       ldc);
      return;
#else
      cuda_stream(device.index);  // throws: this build has no CUDA
#endif
    }
    gemm_cpu<float>(trans_a, trans_b, M, N, K, alpha, A, a.ld, B, b.ld, beta, c, ldc);
    return;
  }
  if (M == 0 || N == 0) return;
  if (!device.is_cuda() && M == 1 && !b.rounded && K > 0) {
    // One row (a streaming step at B = 1): W is rounded as it is read, not copied first.
    const float* A = static_cast<const float*>(a.data);
    rounded_gemv(precision, trans_b, N, K, alpha, A, trans_a ? a.ld : 1,
                 static_cast<const float*>(b.data), b.ld, beta, c);
    return;
  }
  Tensor scratch_a, scratch_b;
  a = ready(device, precision, a, stored_a(trans_a, M, K), scratch_a);
  b = ready(device, precision, b, stored_b(trans_b, N, K), scratch_b);
  if (device.is_cuda()) {
#if RECUR_WITH_CUDA
    gemm_cuda_mixed(device.index, precision, trans_a, trans_b, M, N, K, alpha, a.data, a.ld, b.data,
                    b.ld, beta, c, ldc);
    return;
#else
    cuda_stream(device.index);    // throws: this build has no CUDA
#endif
  }
  gemm_cpu<float>(trans_a, trans_b, M, N, K, alpha, static_cast<const float*>(a.data), a.ld,
                  static_cast<const float*>(b.data), b.ld, beta, c, ldc);
}

Tensor round_for_gemm(const Tensor& w, Precision precision) {
  RECUR_CHECK(precision != Precision::f32, "round_for_gemm: f32 needs no rounding");
  RECUR_CHECK(w.dtype() == DType::f32 && w.is_contiguous(),
              "round_for_gemm: expected a contiguous f32 tensor, got {} {}", dtype_name(w.dtype()),
              w.shape_str());
  Tensor scratch;
  ready(w.device(), precision, GemmOperand{w.data<float>(), w.numel(), false}, Stored{1, w.numel()},
        scratch);
  return scratch.reshape(w.shape());
}

RoundedWeights::RoundedWeights(Precision precision, std::vector<const Tensor*> weights) {
  if (precision == Precision::f32) return;
  for (const Tensor* w : weights)
    if (w->defined()) copies_.emplace_back(w->raw_data(), round_for_gemm(*w, precision));
}

GemmOperand RoundedWeights::operand(const float* p, int64_t ld) const {
  for (const auto& [original, copy] : copies_)
    if (original == p) return GemmOperand{copy.raw_data(), ld, true};
  return GemmOperand{p, ld, false};
}

}  // namespace recur
