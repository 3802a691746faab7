// kernels/softmax_xent.h's dispatch points: the CPU reference or the CUDA kernels, by device. On
// a GPU the forward's loss, count and first-bad-target flag come back to the host in one small
// synchronising copy.
#include "kernels/softmax_xent.h"

#include <cstdint>

#include "core/cuda_runtime.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/softmax_xent_cuda.h"
#endif

namespace recur {

namespace {

// ASSUMPTION: the three tensors of a call are on one device (undefined ones are reported by the
// shape checks that follow).
void check_devices(const Tensor& a, const Tensor& targets, const Tensor& b, const char* a_name,
                   const char* b_name) {
  const Device device = a.device();
  RECUR_CHECK(
      (!targets.defined() || targets.device() == device) && (!b.defined() || b.device() == device),
      "cross-entropy: expected {}, targets and {} on one device, got {}, {} and {}", a_name, b_name,
      device.name(), targets.defined() ? targets.device().name() : "undefined",
      b.defined() ? b.device().name() : "undefined");
}

// ASSUMPTION (GPU): `t` is a defined, contiguous tensor on `device`.
void check_on(const Tensor& t, Device device, const char* what) {
  RECUR_CHECK(t.defined() && t.device() == device && t.is_contiguous(),
              "cross-entropy {}: expected a contiguous tensor on {}, got {}", what, device.name(),
              t.defined() ? t.device().name() : std::string("an undefined tensor"));
}

// ASSUMPTION (GPU): f32 or f64, and N fits the grid of one block per row.
void check_gpu_rows(const Tensor& t, const char* what) {
  RECUR_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64,
              "cross-entropy {}: expected dtype f32 or f64, got {}", what, dtype_name(t.dtype()));
  RECUR_CHECK(t.size(0) <= INT32_MAX, "cross-entropy {} on {}: expected at most {} rows, got {}",
              what, t.device().name(), INT32_MAX, t.size(0));
}

}  // namespace

double softmax_xent_fwd(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                        Tensor& probs, int64_t* counted) {
  RECUR_CHECK(logits.defined(), "cross-entropy logits: expected [N,C], got an undefined tensor");
  const Device device = logits.device();
  check_devices(logits, targets, probs, "logits", "probs");
  if (device.is_cpu()) return softmax_xent_fwd_ref(logits, targets, ignore_index, probs, counted);
  RECUR_CHECK(logits.dim() == 2 && logits.is_contiguous() && logits.size(1) >= 1,
              "cross-entropy logits: expected [N,C] contiguous, got {}", logits.shape_str());
  const int64_t N = logits.size(0), C = logits.size(1);
  check_device_dtype(targets, device, DType::i64, "cross-entropy targets");
  check_shape(targets, {N}, "cross-entropy targets");
  check_shape(probs, {N, C}, "cross-entropy probs");
  check_on(targets, device, "targets");
  check_on(probs, device, "probs");
  check_gpu_rows(logits, "logits");
  RECUR_CHECK(probs.dtype() == logits.dtype(), "cross-entropy probs: expected dtype {}, got {}",
              dtype_name(logits.dtype()), dtype_name(probs.dtype()));
#if RECUR_WITH_CUDA
  static_assert(sizeof(SoftmaxXentResult) == 3 * sizeof(double));
  const Tensor result = Tensor::empty({3}, DType::f64, device);
  const Tensor row_loss = Tensor::empty({N}, DType::f64, device);
  auto* result_ptr = static_cast<SoftmaxXentResult*>(result.raw_data());
  void* stream = cuda_stream(device.index);
  const int64_t* t = targets.data<int64_t>();
  if (logits.dtype() == DType::f64)
    launch_softmax_xent_fwd(logits.data<double>(), t, N, C, ignore_index, probs.data<double>(),
                            row_loss.data<double>(), result_ptr, stream);
  else
    launch_softmax_xent_fwd(logits.data<float>(), t, N, C, ignore_index, probs.data<float>(),
                            row_loss.data<double>(), result_ptr, stream);
  SoftmaxXentResult host{};
  copy_bytes(&host, Device::cpu(), result_ptr, device, sizeof(host));  // the one sync
  if (host.first_bad != UINT64_MAX) {
    const int64_t row = static_cast<int64_t>(host.first_bad);
    const Tensor target = targets.narrow(0, row, 1).to(Device::cpu());
    throw_bad_xent_target(target.data<int64_t>()[0], row, C, ignore_index);
  }
  *counted = static_cast<int64_t>(host.counted);
  return host.loss;
#else
  cuda_stream(device.index);  // throws: this build has no CUDA
  return 0.0;
#endif
}

void softmax_xent_bwd(const Tensor& probs, const Tensor& targets, int64_t ignore_index,
                      double scale, Tensor& dlogits) {
  RECUR_CHECK(probs.defined(), "cross-entropy probs: expected [N,C], got an undefined tensor");
  const Device device = probs.device();
  check_devices(probs, targets, dlogits, "probs", "logits gradient");
  if (device.is_cpu()) {
    check_cpu_dtype(targets, DType::i64, "cross-entropy targets");
    return softmax_xent_bwd_ref(probs, targets, ignore_index, scale, dlogits);
  }
  RECUR_CHECK(probs.dim() == 2, "cross-entropy probs: expected [N,C], got {}", probs.shape_str());
  const int64_t N = probs.size(0), C = probs.size(1);
  check_device_dtype(targets, device, DType::i64, "cross-entropy targets");
  check_shape(targets, {N}, "cross-entropy targets");
  check_shape(dlogits, {N, C}, "cross-entropy logits gradient");
  check_on(probs, device, "probs");
  check_on(targets, device, "targets");
  check_on(dlogits, device, "logits gradient");
  check_gpu_rows(probs, "probs");
  RECUR_CHECK(dlogits.dtype() == probs.dtype(),
              "cross-entropy logits gradient: expected dtype {}, got {}", dtype_name(probs.dtype()),
              dtype_name(dlogits.dtype()));
#if RECUR_WITH_CUDA
  void* stream = cuda_stream(device.index);
  if (probs.dtype() == DType::f64)
    launch_softmax_xent_bwd(probs.data<double>(), targets.data<int64_t>(), N, C, ignore_index,
                            scale, dlogits.data<double>(), stream);
  else
    launch_softmax_xent_bwd(probs.data<float>(), targets.data<int64_t>(), N, C, ignore_index, scale,
                            dlogits.data<float>(), stream);
#else
  cuda_stream(device.index);  // throws: this build has no CUDA
#endif
}

}  // namespace recur
