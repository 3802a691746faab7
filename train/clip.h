// Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_(params, max_norm,
// error_if_nonfinite=True).
#pragma once

#include "layers/parameter.h"

namespace recur {

// The L2 norm of all gradients of `params` taken together (entries with requires_grad and a
// defined grad; contiguous f32 or f64 tensors, each on the CPU or a GPU), accumulated in double.
// GPU grads are reduced on their device in a fixed order (deterministic); the host then reads one
// small copy per GPU, which waits for that device's stream: one synchronisation per GPU per call.
double grad_norm(const ParameterList& params);

// Scales those gradients in place by clip_coef = max_norm / (total_norm + 1e-6) when clip_coef < 1
// and returns total_norm, the norm before clipping (0 when no entry has a gradient). The scaling
// runs on each grad's device (queued, no further synchronisation).
// ASSUMPTION: max_norm is finite and > 0. A nan or inf total norm throws recur::Error ("gradient
// norm is nan/inf") with every gradient untouched, so a training loop can skip the step.
double clip_grad_norm(const ParameterList& params, double max_norm);

// Multiplies those gradients in place by `factor` (cast to each grad's dtype first), each on its
// own device, queued without synchronisation.
void scale_grads(const ParameterList& params, double factor);

}  // namespace recur
