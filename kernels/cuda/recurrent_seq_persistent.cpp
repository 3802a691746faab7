// The Persistent engine for one direction of a recurrent layer on a GPU (kernels/recurrent_seq.h):
// the input projection of all T steps as one cuBLAS GEMM, then ONE cooperative kernel for every
// step (kernels/cuda/persistent_rnn.h). It fills SeqSaved exactly as the shared time loop
// (kernels/recurrent_seq_driver.h) does, so its backward is the Fused engine's backward.
// lstm and gru, f32, no projection. Everything is queued on the device's recur stream.
#include "core/cuda/context.h"
#include "core/cuda_runtime.h"
#include "kernels/cuda/gemm_cuda.h"
#include "kernels/cuda/persistent_rnn.h"
#include "kernels/cuda/seq_arg_checks.h"
#include "kernels/recurrent_seq.h"

namespace recur {

namespace {

constexpr const char* kEngine = "Persistent";

// Why the call cannot run (config, then the GPU's fit for H and B), as one error.
PersistentPlan plan_or_throw(const SeqConfig& config, int64_t B, Device device, DType dtype) {
  PersistentPlan plan;
  plan.why_not = persistent_config_reason(config, device, dtype);
  if (plan.why_not.empty())
    plan = persistent_plan(config.cell, config.hidden_size, B, device.index);
  RECUR_CHECK(plan.why_not.empty(), "persistent engine cannot run {} H={} B={} ({}) on {}: {}",
              cell_name(config.cell), config.hidden_size, B, dtype_name(dtype), device.name(),
              plan.why_not);
  return plan;
}

}  // namespace

std::string persistent_config_reason(const SeqConfig& config, Device device, DType dtype) {
  if (config.cell != CellKind::lstm && config.cell != CellKind::gru)
    return fmt::format("the persistent engine runs lstm and gru cells, not {}",
                       cell_name(config.cell));
  if (config.proj_size > 0) return "the persistent engine has no lstm projection (proj_size > 0)";
  if (dtype != DType::f32)
    return fmt::format("the persistent engine computes in f32 so far, not {}", dtype_name(dtype));
  if (config.precision != Precision::f32)
    return fmt::format("the persistent engine runs f32 math so far, not {}",
                       precision_name(config.precision));
  if (!device.is_cuda())
    return fmt::format("the persistent engine runs on a GPU, the tensors are on {}", device.name());
  return "";
}

std::string persistent_supports(const SeqConfig& config, int64_t B, Device device, DType dtype) {
  std::string why = persistent_config_reason(config, device, dtype);
  if (!why.empty()) return why;
  if (device.index >= cuda_device_count())
    return fmt::format("there is no GPU {} ({} visible)", device.name(), cuda_device_count());
  return persistent_plan(config.cell, config.hidden_size, B, device.index).why_not;
}

void recurrent_seq_fwd_persistent(const SeqConfig& config, const SeqParams& params,
                                  SeqForward& args) {
  const Tensor& x = *args.x;
  const Device d = x.device();
  const int64_t B = x.size(0), Tn = x.size(1), I = config.input_size, H = config.hidden_size;
  const int64_t G = config.gate_rows(), W = cell_cache_blocks(config.cell) * H;
  const bool lstm = config.cell == CellKind::lstm;
  const PersistentPlan plan = plan_or_throw(config, B, d, x.dtype());
  seq_checks::check_params_on(kEngine, params, d, DType::f32);
  seq_checks::check_forward_on(kEngine, args, d, DType::f32);
  DeviceGuard guard(d.index);

  // Stands in for absent biases.
  Tensor zeros = Tensor::zeros({G}, DType::f32, d);
  // Input projection for every step at once: xp [B*T, G] = x [B*T, I] W_ih^T.
  Tensor xp = Tensor::empty({B * Tn, G}, DType::f32, d);
  gemm_cuda<float>(d.index, false, true, B * Tn, G, I, 1.f, x.data<float>(), I,
                   params.w_ih.data<float>(), I, 0.f, xp.data<float>(), G);
  Tensor hp = Tensor::empty({B, G}, DType::f32, d);

  // As the driver: the whole state sequence for training, two ping-pong slots for inference.
  SeqSaved local;
  SeqSaved& sv = args.saved ? *args.saved : local;
  const int64_t slots = args.saved ? Tn + 1 : 2;
  sv.hs = Tensor::empty({slots, B, H}, DType::f32, d);
  if (lstm) sv.cs = Tensor::empty({slots, B, H}, DType::f32, d);
  if (args.saved) sv.cache = Tensor::empty({Tn, B, W}, DType::f32, d);
  const size_t state_bytes = static_cast<size_t>(B * H) * sizeof(float);
  if (args.h0.defined())
    copy_bytes(sv.hs.data<float>(), d, args.h0.data<float>(), d, state_bytes);
  else
    zero_bytes(sv.hs.data<float>(), d, state_bytes);
  if (lstm) {
    if (args.c0.defined())
      copy_bytes(sv.cs.data<float>(), d, args.c0.data<float>(), d, state_bytes);
    else
      zero_bytes(sv.cs.data<float>(), d, state_bytes);
  }

  PersistentRnnFwd k;
  k.B = B;
  k.T = Tn;
  k.H = H;
  k.reverse = config.reverse;
  k.lengths = args.lengths.defined() ? args.lengths.data<int64_t>() : nullptr;
  k.xp = xp.data<float>();
  k.w_hh = params.w_hh.data<float>();
  k.b_ih = params.b_ih.defined() ? params.b_ih.data<float>() : zeros.data<float>();
  k.b_hh = params.b_hh.defined() ? params.b_hh.data<float>() : zeros.data<float>();
  k.hp = hp.data<float>();
  k.hs = sv.hs.data<float>();
  k.cs = lstm ? sv.cs.data<float>() : nullptr;
  k.cache = args.saved ? sv.cache.data<float>() : nullptr;
  k.y = args.y.data<float>() + args.y_col;
  k.ld_y_step = args.y.size(2);
  if (B > 0 && Tn > 0)
    launch_persistent_rnn_fwd(config.cell, k, plan, d.index, cuda_stream(d.index));

  const int64_t last = args.saved ? Tn : Tn % 2;
  copy_bytes(args.h_n.data<float>(), d, sv.hs.data<float>() + last * B * H, d, state_bytes);
  if (lstm)
    copy_bytes(args.c_n.data<float>(), d, sv.cs.data<float>() + last * B * H, d, state_bytes);
}

void recurrent_seq_bwd_persistent(const SeqConfig& config, const SeqParams& params,
                                  SeqBackward& args) {
  const std::string why = persistent_config_reason(config, args.x->device(), args.x->dtype());
  RECUR_CHECK(why.empty(), "persistent engine cannot run {} H={} backward: {}",
              cell_name(config.cell), config.hidden_size, why);
  // The saved tensors are laid out as the driver's, so the fused backward runs on them.
  recurrent_seq_bwd_fused(config, params, args);
}

}  // namespace recur
