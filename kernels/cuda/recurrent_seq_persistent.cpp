// The Persistent engine for one direction of a recurrent layer on a GPU (kernels/recurrent_seq.h):
// the input projection of all T steps as one cuBLAS GEMM, then ONE cooperative kernel for every
// step (kernels/cuda/persistent_rnn.h). It fills SeqSaved exactly as the shared time loop
// (kernels/recurrent_seq_driver.h) does. The backward is ONE cooperative kernel for every step
// too, then the weight gradients as large GEMMs after it, the driver's own tail
// (seq_driver::after_the_loop); it runs on the saved tensors of a persistent or fused training
// forward alike. lstm and gru, f32 tensors, no projection; f32 or bf16/f16 math (every GEMM's
// operands rounded, as the shared time loop rounds them). Everything is queued on the device's
// recur stream.
#include "core/cuda/context.h"
#include "core/cuda_runtime.h"
#include "core/log.h"
#include "kernels/cuda/cuda_seq_ops.h"
#include "kernels/cuda/persistent_rnn.h"
#include "kernels/cuda/seq_arg_checks.h"
#include "kernels/recurrent_engine.h"
#include "kernels/recurrent_seq.h"
#include "kernels/recurrent_seq_driver.h"

namespace recur {

namespace {

constexpr const char* kEngine = "Persistent";

// The barrier a call runs with and its layout: persistent_barrier_for's choice, or under auto,
// where the call does not fit the measured barrier (one cluster holds only small layers),
// grid_sync, logged once.
struct BarrierPlan {
  PersistentBarrier barrier;
  PersistentPlan plan;
};

BarrierPlan barrier_plan(const SeqConfig& config, const CallShape& call, int device,
                         bool backward) {
  const PersistentBarrier chosen = persistent_barrier_for(config, call);
  auto plan_with = [&](PersistentBarrier barrier) {
    return persistent_plan(config.cell, config.hidden_size, call.batch, device, backward, barrier,
                           config.precision);
  };
  PersistentPlan plan = plan_with(chosen);
  if (plan.why_not.empty() || persistent_barrier() != PersistentBarrier::auto_ ||
      chosen == PersistentBarrier::grid_sync)
    return {chosen, plan};
  log_info_once(fmt::format(
      "persistent engine (barrier auto): {} H={} B={} {} does not fit the measured {} barrier "
      "({}); using grid_sync",
      cell_name(config.cell), config.hidden_size, call.batch, backward ? "backward" : "forward",
      persistent_barrier_name(chosen), plan.why_not));
  return {PersistentBarrier::grid_sync, plan_with(PersistentBarrier::grid_sync)};
}

// Why the call cannot run (config, then the GPU's fit for H and B), as one error.
BarrierPlan plan_or_throw(const SeqConfig& config, const CallShape& call, Device device,
                          DType dtype) {
  BarrierPlan chosen{PersistentBarrier::grid_sync, {}};
  chosen.plan.why_not = persistent_config_reason(config, device, dtype);
  if (chosen.plan.why_not.empty())
    chosen = barrier_plan(config, call, device.index, /*backward=*/false);
  RECUR_CHECK(chosen.plan.why_not.empty(),
              "persistent engine cannot run {} H={} B={} ({}) on {}: {}", cell_name(config.cell),
              config.hidden_size, call.batch, dtype_name(dtype), device.name(),
              chosen.plan.why_not);
  return chosen;
}

// The parameters whose GEMMs run outside the kernels (W_ih: the input projection, dx): at bf16/f16
// math seq_driver::Gemms rounds what it is given once per call, and the kernels round their own
// W_hh on loading it, so W_hh is left out.
SeqParams input_weights_only(const SeqParams& params) {
  SeqParams out = params;
  out.w_hh = Tensor();
  return out;
}

// The counter barrier's arrival count, zeroed on `device`'s stream; undefined for the others.
Tensor barrier_counter(PersistentBarrier barrier, Device device) {
  return barrier == PersistentBarrier::counter ? Tensor::zeros({1}, DType::i32, device) : Tensor();
}

}  // namespace

std::string persistent_config_reason(const SeqConfig& config, Device device, DType dtype) {
  if (config.cell != CellKind::lstm && config.cell != CellKind::gru)
    return fmt::format("the persistent engine runs lstm and gru cells, not {}",
                       cell_name(config.cell));
  if (config.proj_size > 0) return "the persistent engine has no lstm projection (proj_size > 0)";
  if (dtype != DType::f32)
    return fmt::format(
        "the persistent engine takes f32 tensors (bf16/f16 as a math precision), "
        "not {}",
        dtype_name(dtype));
  if (!device.is_cuda())
    return fmt::format("the persistent engine runs on a GPU, the tensors are on {}", device.name());
  return "";
}

std::string persistent_supports(const SeqConfig& config, int64_t B, Device device, DType dtype) {
  std::string why = persistent_config_reason(config, device, dtype);
  if (!why.empty()) return why;
  if (device.index >= cuda_device_count())
    return fmt::format("there is no GPU {} ({} visible)", device.name(), cuda_device_count());
  // Under auto a call runs with grid_sync wherever the measured barrier does not fit it.
  const PersistentBarrier setting = persistent_barrier();
  return persistent_plan(
             config.cell, config.hidden_size, B, device.index, /*backward=*/false,
             setting == PersistentBarrier::auto_ ? PersistentBarrier::grid_sync : setting,
             config.precision)
      .why_not;
}

void recurrent_seq_fwd_persistent(const SeqConfig& config, const SeqParams& params,
                                  SeqForward& args) {
  const Tensor& x = *args.x;
  const Device d = x.device();
  const int64_t B = x.size(0), Tn = x.size(1), I = config.input_size, H = config.hidden_size;
  const int64_t G = config.gate_rows(), W = cell_cache_blocks(config.cell) * H;
  const bool lstm = config.cell == CellKind::lstm;
  const auto [barrier, plan] = plan_or_throw(config, {B, Tn, args.saved != nullptr}, d, x.dtype());
  seq_checks::check_params_on(kEngine, params, d, DType::f32);
  seq_checks::check_forward_on(kEngine, args, d, DType::f32);
  DeviceGuard guard(d.index);

  // Stands in for absent biases.
  Tensor zeros = Tensor::zeros({G}, DType::f32, d);
  // Input projection for every step at once: xp [B*T, G] = x [B*T, I] W_ih^T, at the call's
  // math precision as the shared time loop computes it.
  Tensor xp = Tensor::empty({B * Tn, G}, DType::f32, d);
  CudaSeqOps<float> ops(d.index);
  seq_driver::Gemms<float, CudaSeqOps<float>> gemm(ops, config, input_weights_only(params), B, Tn);
  gemm(false, true, B * Tn, G, I, 1.f, x.data<float>(), I, params.w_ih.data<float>(), I, 0.f,
       xp.data<float>(), G);
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
  const Tensor counter = barrier_counter(barrier, d);
  k.counter = counter.defined() ? static_cast<unsigned*>(counter.raw_data()) : nullptr;
  if (B > 0 && Tn > 0)
    launch_persistent_rnn_fwd(config.cell, k, plan, d.index, cuda_stream(d.index), barrier);

  const int64_t last = args.saved ? Tn : Tn % 2;
  copy_bytes(args.h_n.data<float>(), d, sv.hs.data<float>() + last * B * H, d, state_bytes);
  if (lstm)
    copy_bytes(args.c_n.data<float>(), d, sv.cs.data<float>() + last * B * H, d, state_bytes);
}

void recurrent_seq_bwd_persistent(const SeqConfig& config, const SeqParams& params,
                                  SeqBackward& args) {
  const Tensor& x = *args.x;
  const Device d = x.device();
  const std::string why = persistent_config_reason(config, d, x.dtype());
  RECUR_CHECK(why.empty(), "persistent engine cannot run {} H={} backward: {}",
              cell_name(config.cell), config.hidden_size, why);
  const bool lstm = config.cell == CellKind::lstm;
  const SeqSaved* saved = args.saved;
  auto kept = [&](const Tensor& t) { return t.defined() && t.device() == d; };
  RECUR_CHECK(
      saved != nullptr && kept(saved->cache) && kept(saved->hs) && (!lstm || kept(saved->cs)),
      "Persistent engine backward: expected the saved forward of a persistent or fused "
      "training forward on {}",
      d.name());
  const int64_t B = x.size(0), Tn = x.size(1), H = config.hidden_size, G = config.gate_rows();
  const auto [barrier, plan] = barrier_plan(config, {B, Tn, true}, d.index, /*backward=*/true);
  if (!plan.why_not.empty()) {
    // The forward fitted but the backward's larger staging row does not: the fused backward
    // computes the same from the same saved tensors. Logged once per shape, never silent.
    log_info_once(
        fmt::format("persistent engine: backward of {} H={} B={} runs the fused "
                    "backward ({})",
                    cell_name(config.cell), H, B, plan.why_not));
    recurrent_seq_bwd_fused(config, params, args);
    return;
  }
  seq_checks::check_params_on(kEngine, params, d, DType::f32);
  seq_checks::check_backward_on(kEngine, args, d);
  DeviceGuard guard(d.index);
  const SeqSaved& sv = *args.saved;
  const size_t state_bytes = static_cast<size_t>(B * H) * sizeof(float);
  auto start_from = [&](const Tensor& given, Tensor& into) {
    into = Tensor::empty({B, H}, DType::f32, d);
    if (given.defined())
      copy_bytes(into.data<float>(), d, given.data<float>(), d, state_bytes);
    else
      zero_bytes(into.data<float>(), d, state_bytes);
  };

  Tensor dxp = Tensor::empty({B * Tn, G}, DType::f32, d);  // batch-first, like the forward's xp
  Tensor dhp = Tensor::empty({Tn, B, G}, DType::f32, d);   // by processing step
  Tensor dh, dc;
  start_from(args.dh_n, dh);
  if (lstm) start_from(args.dc_n, dc);
  Tensor dh_other = Tensor::empty({B, H}, DType::f32, d);
  Tensor dh_total = Tensor::empty({B, H}, DType::f32, d);
  Tensor dc_other = lstm ? Tensor::empty({B, H}, DType::f32, d) : Tensor();

  PersistentRnnBwd k;
  k.B = B;
  k.T = Tn;
  k.H = H;
  k.reverse = config.reverse;
  k.lengths = args.lengths.defined() ? args.lengths.data<int64_t>() : nullptr;
  k.w_hh = params.w_hh.data<float>();
  k.cache = sv.cache.data<float>();
  k.hs = sv.hs.data<float>();
  k.cs = lstm ? sv.cs.data<float>() : nullptr;
  k.dy = args.dy.defined() ? args.dy.data<float>() + args.dy_col : nullptr;
  k.ld_dy_step = args.dy.defined() ? args.dy.size(2) : 0;
  k.dxp = dxp.data<float>();
  k.dhp = dhp.data<float>();
  k.dh = dh.data<float>();
  k.dh_other = dh_other.data<float>();
  k.dh_total = dh_total.data<float>();
  k.dc = lstm ? dc.data<float>() : nullptr;
  k.dc_other = lstm ? dc_other.data<float>() : nullptr;
  const Tensor counter = barrier_counter(barrier, d);
  k.counter = counter.defined() ? static_cast<unsigned*>(counter.raw_data()) : nullptr;
  if (B > 0 && Tn > 0)
    launch_persistent_rnn_bwd(config.cell, k, plan, d.index, cuda_stream(d.index), barrier);

  if (args.dh0.defined()) copy_bytes(args.dh0.data<float>(), d, dh.data<float>(), d, state_bytes);
  if (lstm && args.dc0.defined())
    copy_bytes(args.dc0.data<float>(), d, dc.data<float>(), d, state_bytes);
  CudaSeqOps<float> ops(d.index);
  seq_driver::Gemms<float, CudaSeqOps<float>> gemm(ops, config, input_weights_only(params), B, Tn);
  seq_driver::after_the_loop<float>(ops, gemm, config, params, args, dxp, dhp, Tensor());
}

}  // namespace recur
