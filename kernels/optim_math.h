// The per-element update of every optimizer, for ONE element of ONE parameter: the single source
// of truth that the CPU loops (train/sgd.cpp, train/adam.cpp) and the CUDA kernels
// (kernels/cuda/optim_cuda.cu) both call, so both devices run the same formula in the same order.
//
// A step's scalars are computed once, in double, on the host (as PyTorch computes them in Python:
// SgdStep, AdamStep), then cast to the parameter's dtype T (as PyTorch casts them: SgdCoeffs,
// AdamCoeffs). The element math runs in T and follows torch.optim's tensor ops term by term.
#pragma once

#include <math.h>

#include "core/host_device.h"

namespace recur {
namespace optim_math {

// ---------------------------------------------------------------- SGD (train/sgd.h)

// The scalars of one SGD step.
struct SgdStep {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first;  // the momentum buffer takes the gradient as it is
};

template <class T>
struct SgdCoeffs {
  T weight_decay, momentum, one_minus_dampening, minus_lr;
  bool decay, use_momentum, nesterov, first;
};

template <class T>
inline SgdCoeffs<T> sgd_coeffs(const SgdStep& s) {
  return {static_cast<T>(s.weight_decay),
          static_cast<T>(s.momentum),
          static_cast<T>(1.0 - s.dampening),
          static_cast<T>(-s.lr),
          s.weight_decay != 0,
          s.momentum != 0,
          s.nesterov,
          s.first};
}

// p updated in place from its gradient g; buf (the momentum buffer, null when momentum == 0)
// updated in place.
template <class T>
RECUR_HOST_DEVICE void sgd_element(const SgdCoeffs<T>& c, T& p, T g, T* buf) {
  T d = g;
  if (c.decay) d = d + c.weight_decay * p;
  if (c.use_momentum) {
    *buf = c.first ? d : *buf * c.momentum + c.one_minus_dampening * d;
    d = c.nesterov ? d + c.momentum * *buf : *buf;
  }
  p = p + c.minus_lr * d;
}

// ---------------------------------------------------------------- Adam and AdamW (train/adam.h)

// The scalars of one Adam step.
struct AdamStep {
  double beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;
  double decay_factor;  // AdamW: 1 - lr * weight_decay
  double step_size;     // lr / bias_correction1
  double bias_correction2_sqrt;
};

template <class T>
struct AdamCoeffs {
  T beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
      minus_step_size, bias_correction2_sqrt;
  bool l2;         // Adam: weight decay folded into the gradient
  bool decoupled;  // AdamW: weight decay applied to the parameter
};

template <class T>
inline AdamCoeffs<T> adam_coeffs(const AdamStep& s) {
  return {static_cast<T>(s.beta1),
          static_cast<T>(1 - s.beta1),
          static_cast<T>(s.beta2),
          static_cast<T>(1 - s.beta2),
          static_cast<T>(s.eps),
          static_cast<T>(s.weight_decay),
          static_cast<T>(s.decay_factor),
          static_cast<T>(-s.step_size),
          static_cast<T>(s.bias_correction2_sqrt),
          !s.decoupled_weight_decay && s.weight_decay != 0,
          s.decoupled_weight_decay && s.weight_decay != 0};
}

RECUR_HOST_DEVICE float sqrt_(float x) {
  return sqrtf(x);
}
RECUR_HOST_DEVICE double sqrt_(double x) {
  return sqrt(x);
}

// p, m (exp_avg) and v (exp_avg_sq) updated in place from the gradient g.
template <class T>
RECUR_HOST_DEVICE void adam_element(const AdamCoeffs<T>& c, T& p, T g, T& m, T& v) {
  T grad = g;
  if (c.l2) grad = grad + c.weight_decay * p;
  if (c.decoupled) p = p * c.decay_factor;
  m = m * c.beta1 + c.one_minus_beta1 * grad;
  v = v * c.beta2 + c.one_minus_beta2 * grad * grad;
  const T denom = sqrt_(v) / c.bias_correction2_sqrt + c.eps;
  p = p + c.minus_step_size * m / denom;
}

}  // namespace optim_math
}  // namespace recur
