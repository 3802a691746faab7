// Global-norm gradient clipping: the norm over every gradient, then one scale for all.
#include "train/clip.h"

#include <cmath>

namespace recur {

namespace {

// ASSUMPTION: a clipped gradient is a contiguous f32/f64 CPU tensor.
void check_grad(const Parameter& p) {
  RECUR_CHECK(p.grad.device().is_cpu(), "clip_grad_norm: '{}' grad expected on cpu, got {}", p.name,
              p.grad.device().name());
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

}  // namespace

double grad_norm(const ParameterList& params) {
  double sum = 0.0;
  for (const Parameter& p : params) {
    if (!has_grad(p)) continue;
    check_grad(p);
    sum += p.grad.dtype() == DType::f64 ? sum_of_squares(p.grad.data<double>(), p.grad.numel())
                                        : sum_of_squares(p.grad.data<float>(), p.grad.numel());
  }
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
  if (clip_coef >= 1.0) return total_norm;
  for (const Parameter& p : params) {
    if (!has_grad(p)) continue;
    if (p.grad.dtype() == DType::f64)
      scale(p.grad.data<double>(), p.grad.numel(), clip_coef);
    else
      scale(p.grad.data<float>(), p.grad.numel(), static_cast<float>(clip_coef));
  }
  return total_norm;
}

}  // namespace recur
