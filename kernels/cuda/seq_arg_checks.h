// Argument checks shared by the GPU engines of one recurrent direction (kernels/recurrent_seq.h:
// Fused, Persistent, cuDNN): the input on a GPU in a dtype the engine computes in, and every other
// defined tensor of the call on the input's GPU (and, where the engine asks, of its dtype). Each
// message starts with the engine's name ("Fused engine: ..."), passed in as `engine`. CUDA-free:
// only the tensors' metadata is read.
#pragma once

#include <optional>

#include "core/error.h"
#include "core/tensor.h"
#include "kernels/recurrent_seq.h"

namespace recur::seq_checks {

// The input's device, which must be a GPU.
inline Device input_gpu(const char* engine, const Tensor& x) {
  RECUR_CHECK(x.device().is_cuda(), "{} engine: expected the input on a GPU, got it on {}", engine,
              x.device().name());
  return x.device();
}

// ASSUMPTION: the GPU engines compute in f32 or f64 (bf16/f16 are not implemented yet).
inline void check_float_input(const char* engine, const Tensor& x) {
  RECUR_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
              "{} engine: computes in f32 or f64, got an input of dtype {}", engine,
              dtype_name(x.dtype()));
}

// ASSUMPTION: every defined tensor of the call lives on the input's GPU; the layer moves them.
// With `dtype`, it must also be of that dtype (an engine that computes in one dtype only).
inline void check_on(const char* engine, const Tensor& t, Device device, const char* what,
                     std::optional<DType> dtype = std::nullopt) {
  if (!t.defined()) return;
  if (dtype) {
    RECUR_CHECK(t.device() == device && t.dtype() == *dtype,
                "{} engine: {} is {} on {}, expected {} on {} like the input", engine, what,
                dtype_name(t.dtype()), t.device().name(), dtype_name(*dtype), device.name());
  } else {
    RECUR_CHECK(t.device() == device, "{} engine: {} is on {}, expected {} like the input", engine,
                what, t.device().name(), device.name());
  }
}

// Every defined parameter tensor on `device` (and of `dtype` where given).
inline void check_params_on(const char* engine, const SeqParams& p, Device device,
                            std::optional<DType> dtype = std::nullopt) {
  check_on(engine, p.w_ih, device, "weight_ih", dtype);
  check_on(engine, p.w_hh, device, "weight_hh", dtype);
  check_on(engine, p.b_ih, device, "bias_ih", dtype);
  check_on(engine, p.b_hh, device, "bias_hh", dtype);
  check_on(engine, p.w_hr, device, "weight_hr", dtype);
  check_on(engine, p.leak, device, "leak", dtype);
}

// A forward's states and outputs on `device` (and of `dtype` where given); lengths (i64) on
// `device` only.
inline void check_forward_on(const char* engine, const SeqForward& a, Device device,
                             std::optional<DType> dtype = std::nullopt) {
  check_on(engine, a.h0, device, "h0", dtype);
  check_on(engine, a.c0, device, "c0", dtype);
  check_on(engine, a.lengths, device, "lengths");
  check_on(engine, a.y, device, "output", dtype);
  check_on(engine, a.h_n, device, "h_n", dtype);
  check_on(engine, a.c_n, device, "c_n", dtype);
}

// A backward's incoming and outgoing gradients on `device`; lengths on `device`.
inline void check_backward_on(const char* engine, const SeqBackward& a, Device device) {
  check_on(engine, a.lengths, device, "lengths");
  check_on(engine, a.dy, device, "output gradient");
  check_on(engine, a.dh_n, device, "h_n gradient");
  check_on(engine, a.dc_n, device, "c_n gradient");
  check_on(engine, a.dx, device, "input gradient");
  check_on(engine, a.dh0, device, "h0 gradient");
  check_on(engine, a.dc0, device, "c0 gradient");
  for (const Tensor* g :
       {&a.grads.w_ih, &a.grads.w_hh, &a.grads.b_ih, &a.grads.b_hh, &a.grads.w_hr, &a.grads.leak})
    check_on(engine, *g, device, "a weight gradient");
}

}  // namespace recur::seq_checks
