// Global-norm gradient clipping: the norm over every gradient, then one scale for all. CPU grads
// are summed on the host; a GPU grad's sum of squares is reduced on its device in a fixed order
// (kernels/cuda/optim_cuda.h) into one slot per parameter, and each device's slots come back to
// the host in one copy (the only synchronisation: one per device per call). The per-parameter
// sums are then added on the host in parameter order, as on the CPU, and the scaling runs on
// each grad's own device.
#include "train/clip.h"

#include <cmath>
#include <map>
#include <vector>

#include "core/cuda_runtime.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/elementwise_cuda.h"
#include "kernels/cuda/optim_cuda.h"
#endif

namespace recur {

namespace {

// ASSUMPTION: a clipped gradient is a contiguous f32/f64 tensor (on the CPU or a GPU).
void check_grad(const Parameter& p) {
  RECUR_CHECK(p.grad.dtype() == DType::f32 || p.grad.dtype() == DType::f64,
              "clip_grad_norm: '{}' grad expected f32 or f64, got {}", p.name,
              dtype_name(p.grad.dtype()));
  RECUR_CHECK(p.grad.is_contiguous(), "clip_grad_norm: '{}' grad expected contiguous", p.name);
}

bool has_grad(const Parameter& p) {
  return p.requires_grad && p.grad.defined();
}

template <class T>
double sum_of_squares(const T* g, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  return sum;
}

template <class T>
void scale(T* g, int64_t n, T factor) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] * factor;
}

#if RECUR_WITH_CUDA
// One GPU's reduction buffers: a slot per parameter and the partial sums of the first pass
// (reused by every parameter: the reductions run one after another on the device's stream).
struct DeviceSums {
  Tensor slots;
  Tensor partials;
};
#endif

}  // namespace

double grad_norm(const ParameterList& params) {
  std::vector<double> sums(params.size(), 0.0);
#if RECUR_WITH_CUDA
  std::map<int, DeviceSums> devices;
#endif
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter& p = params[i];
    if (!has_grad(p)) continue;
    check_grad(p);
    const bool f64 = p.grad.dtype() == DType::f64;
    const int64_t n = p.grad.numel();
    if (p.grad.device().is_cpu()) {
      sums[i] =
          f64 ? sum_of_squares(p.grad.data<double>(), n) : sum_of_squares(p.grad.data<float>(), n);
      continue;
    }
#if RECUR_WITH_CUDA
    const Device device = p.grad.device();
    DeviceSums& d = devices[device.index];
    if (!d.slots.defined()) {
      d.slots = Tensor::empty({static_cast<int64_t>(params.size())}, DType::f64, device);
      d.partials = Tensor::empty({kSumOfSquaresPartials}, DType::f64, device);
    }
    double* slot = d.slots.data<double>() + i;
    void* stream = cuda_stream(device.index);
    if (f64)
      launch_sum_of_squares(p.grad.data<double>(), n, d.partials.data<double>(), slot, stream);
    else
      launch_sum_of_squares(p.grad.data<float>(), n, d.partials.data<double>(), slot, stream);
#else
    cuda_stream(p.grad.device().index);    // throws: this build has no CUDA
#endif
  }
#if RECUR_WITH_CUDA
  for (const auto& [index, d] : devices) {
    const Tensor host = d.slots.to(Device::cpu());  // waits for the device's reductions
    for (size_t i = 0; i < params.size(); ++i)
      if (has_grad(params[i]) && params[i].grad.device() == Device::cuda(index))
        sums[i] = host.data<double>()[i];
  }
#endif
  double sum = 0.0;
  for (double s : sums) sum += s;
  return std::sqrt(sum);
}

double clip_grad_norm(const ParameterList& params, double max_norm) {
  RECUR_CHECK(std::isfinite(max_norm) && max_norm > 0,
              "clip_grad_norm: expected max_norm > 0, got {}", max_norm);
  const double total_norm = grad_norm(params);
  RECUR_CHECK(std::isfinite(total_norm),
              "clip_grad_norm: gradient norm is nan/inf (got {}); gradients left unchanged",
              total_norm);
  const double clip_coef = max_norm / (total_norm + 1e-6);
  if (clip_coef < 1.0) scale_grads(params, clip_coef);
  return total_norm;
}

void scale_grads(const ParameterList& params, double factor) {
  for (const Parameter& p : params) {
    if (!has_grad(p)) continue;
    check_grad(p);
    const bool f64 = p.grad.dtype() == DType::f64;
    const int64_t n = p.grad.numel();
    if (p.grad.device().is_cuda()) {
#if RECUR_WITH_CUDA
      // The factor is cast to the grad's dtype first, as on the CPU.
      void* stream = cuda_stream(p.grad.device().index);
      if (f64)
        launch_scale(factor, n, p.grad.data<double>(), stream);
      else
        launch_scale(static_cast<double>(static_cast<float>(factor)), n, p.grad.data<float>(),
                     stream);
#else
      cuda_stream(p.grad.device().index);  // throws: this build has no CUDA
#endif
      continue;
    }
    if (f64)
      scale(p.grad.data<double>(), n, factor);
    else
      scale(p.grad.data<float>(), n, static_cast<float>(factor));
  }
}

}  // namespace recur
