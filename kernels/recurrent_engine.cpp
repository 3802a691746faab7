// Engine choice and dispatch for recurrent sequences (kernels/recurrent_engine.h).
#include "kernels/recurrent_engine.h"

#include <algorithm>
#include <atomic>

#include "core/cuda_runtime.h"
#include "core/log.h"
#include "kernels/engine_table.h"

namespace recur {

namespace {

bool float_dtype(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64;
}

// The data type the engine table files a call under: the tensors' dtype, or at a mixed precision
// its operand type (bf16, f16).
DType measured_as(const SeqConfig& config, DType dtype) {
  return config.precision == Precision::f32 ? dtype : operand_dtype(config.precision);
}

// The engine table's entry for the nearest measured shape, or null (batch unknown, nothing
// measured for the cell, mode and data type). `table` keeps the entry alive.
const EngineTableEntry* measured_entry(const EngineTable& table, const SeqConfig& config,
                                       DType dtype, const CallShape& call) {
  if (call.batch <= 0) return nullptr;
  return table.nearest(config.cell, call.training, measured_as(config, dtype), call.batch,
                       config.hidden_size, call.steps);
}

// Preference order of auto_ for a call. On a GPU: the measured ranking of the nearest shape in
// the engine table (kernels/engine_table.h; the one for calls with sequences of different
// lengths where the call has them), when there is one; then the fixed order fused,
// cudnn. The persistent engine is only chosen where a measurement ranks it.
// At a 16-bit math precision cuDNN runs its own 16-bit RNN (data, states and cell state in 16
// bits), another computation than recur's mixed precision (16-bit GEMM operands, everything else
// f32): however fast it measured, it comes last there, after every engine that computes the
// latter.
std::vector<Engine> preferences(Device device, const SeqConfig& config, DType dtype,
                                const CallShape& call) {
  if (!device.is_cuda()) return {Engine::reference};
  const bool cudnn_last = config.precision != Precision::f32;
  std::vector<Engine> order;
  const std::shared_ptr<const EngineTable> table = EngineTable::active();
  if (const EngineTableEntry* measured = measured_entry(*table, config, dtype, call))
    for (const std::string& name : measured->ranking_for(call.varying_lengths))
      if (Engine e = engine_from_name(name); !(cudnn_last && e == Engine::cudnn))
        order.push_back(e);
  for (Engine e : {Engine::fused, Engine::cudnn})
    if (std::find(order.begin(), order.end(), e) == order.end()) order.push_back(e);
  return order;
}

constexpr Engine kEngines[] = {Engine::auto_, Engine::reference, Engine::fused, Engine::cudnn,
                               Engine::persistent};
constexpr CudnnAlgo kCudnnAlgos[] = {CudnnAlgo::auto_, CudnnAlgo::standard,
                                     CudnnAlgo::persist_static, CudnnAlgo::persist_dynamic,
                                     CudnnAlgo::persist_static_small_h};
constexpr PersistentBarrier kBarriers[] = {PersistentBarrier::auto_, PersistentBarrier::grid_sync,
                                           PersistentBarrier::counter, PersistentBarrier::cluster};
std::atomic<CudnnAlgo> g_cudnn_algo{CudnnAlgo::auto_};
std::atomic<PersistentBarrier> g_persistent_barrier{PersistentBarrier::auto_};

}  // namespace

const char* engine_name(Engine engine) {
  switch (engine) {
    case Engine::auto_:
      return "auto";
    case Engine::reference:
      return "reference";
    case Engine::fused:
      return "fused";
    case Engine::cudnn:
      return "cudnn";
    case Engine::persistent:
      return "persistent";
  }
  return "?";
}

Engine engine_from_name(const std::string& name) {
  for (Engine e : kEngines)
    if (name == engine_name(e)) return e;
  RECUR_FAIL("unknown recurrent engine '{}': expected auto, reference, fused, cudnn or persistent",
             name);
}

const char* cudnn_algo_name(CudnnAlgo algo) {
  switch (algo) {
    case CudnnAlgo::auto_:
      return "auto";
    case CudnnAlgo::standard:
      return "standard";
    case CudnnAlgo::persist_static:
      return "persist_static";
    case CudnnAlgo::persist_dynamic:
      return "persist_dynamic";
    case CudnnAlgo::persist_static_small_h:
      return "persist_static_small_h";
  }
  return "?";
}

CudnnAlgo cudnn_algo_from_name(const std::string& name) {
  for (CudnnAlgo a : kCudnnAlgos)
    if (name == cudnn_algo_name(a)) return a;
  RECUR_FAIL(
      "unknown cuDNN RNN algorithm '{}': expected auto, standard, persist_static, "
      "persist_dynamic or persist_static_small_h",
      name);
}

void set_cudnn_algorithm(CudnnAlgo algo) {
  g_cudnn_algo.store(algo);
}

CudnnAlgo cudnn_algorithm() {
  return g_cudnn_algo.load();
}

CudnnAlgo cudnn_algorithm_for(const SeqConfig& config, DType dtype, const CallShape& call) {
  const CudnnAlgo setting = cudnn_algorithm();
  if (setting != CudnnAlgo::auto_) return setting;
  const std::shared_ptr<const EngineTable> table = EngineTable::active();
  const EngineTableEntry* measured = measured_entry(*table, config, dtype, call);
  const std::string name = measured ? measured->cudnn_algo_for(call.varying_lengths) : "";
  // The table's names were checked when it was parsed.
  return name.empty() ? CudnnAlgo::standard : cudnn_algo_from_name(name);
}

const char* persistent_barrier_name(PersistentBarrier barrier) {
  switch (barrier) {
    case PersistentBarrier::auto_:
      return "auto";
    case PersistentBarrier::grid_sync:
      return "grid_sync";
    case PersistentBarrier::counter:
      return "counter";
    case PersistentBarrier::cluster:
      return "cluster";
  }
  return "?";
}

PersistentBarrier persistent_barrier_from_name(const std::string& name) {
  for (PersistentBarrier b : kBarriers)
    if (name == persistent_barrier_name(b)) return b;
  RECUR_FAIL("unknown persistent barrier '{}': expected auto, grid_sync, counter or cluster", name);
}

void set_persistent_barrier(PersistentBarrier barrier) {
  g_persistent_barrier.store(barrier);
}

PersistentBarrier persistent_barrier() {
  return g_persistent_barrier.load();
}

PersistentBarrier persistent_barrier_for(const SeqConfig& config, const CallShape& call) {
  const PersistentBarrier setting = persistent_barrier();
  if (setting != PersistentBarrier::auto_) return setting;
  const std::shared_ptr<const EngineTable> table = EngineTable::active();
  // The persistent engine takes f32 tensors: its rows are filed under f32 or the math precision.
  const EngineTableEntry* measured = measured_entry(*table, config, DType::f32, call);
  return measured && !measured->persistent_barrier.empty()
             ? persistent_barrier_from_name(measured->persistent_barrier)
             : PersistentBarrier::grid_sync;
}

std::string engine_unsupported_reason(Engine engine, const SeqConfig& config, Device device,
                                      DType dtype) {
  if (engine != Engine::auto_ && config.precision != Precision::f32 && dtype != DType::f32)
    return fmt::format("{} math precision needs f32 tensors (the master weights), not {}",
                       precision_name(config.precision), dtype_name(dtype));
  switch (engine) {
    case Engine::auto_:
      return "auto is a choice among engines, not an engine";
    case Engine::reference:
      if (!device.is_cpu())
        return fmt::format("the reference engine runs on the CPU, the tensors are on {}",
                           device.name());
      if (!float_dtype(dtype))
        return fmt::format("the reference engine computes in f32 or f64, not {}",
                           dtype_name(dtype));
      return "";
    case Engine::fused:
      if (!cuda_compiled()) return "this build of recur has no CUDA";
      if (!device.is_cuda())
        return fmt::format("the fused engine runs on a GPU, the tensors are on {}", device.name());
      if (!float_dtype(dtype))
        return fmt::format("the fused engine computes in f32 or f64 so far, not {}",
                           dtype_name(dtype));
      return "";
    case Engine::cudnn:
#if RECUR_WITH_CUDNN
      if (!device.is_cuda())
        return fmt::format("the cudnn engine runs on a GPU, the tensors are on {}", device.name());
      if (!float_dtype(dtype))
        return fmt::format("the cudnn engine computes in f32 or f64 so far, not {}",
                           dtype_name(dtype));
      if (config.cell == CellKind::leaky)
        return "cuDNN has no leaky cell (its RNN cells are rnn_tanh, rnn_relu, gru and lstm)";
      return "";
#else
      (void)config;
      return cuda_compiled() ? "this build of recur has no cuDNN"
                             : "this build of recur has no CUDA (nor cuDNN)";
#endif
    case Engine::persistent:
#if RECUR_WITH_CUDA
      return persistent_config_reason(config, device, dtype);
#else
      return "this build of recur has no CUDA";
#endif
  }
  return "unknown engine";
}

namespace {

// Auto's run-time check of the persistent engine: the config, then H and the batch on the GPU.
std::string auto_persistent_reason(const SeqConfig& config, Device device, DType dtype,
                                   int64_t batch) {
  std::string why = engine_unsupported_reason(Engine::persistent, config, device, dtype);
  if (!why.empty()) return why;
#if RECUR_WITH_CUDA
  return persistent_supports(config, batch, device, dtype);
#else
  (void)batch;
  return why;
#endif
}

}  // namespace

Engine choose_engine(Engine requested, const SeqConfig& config, Device device, DType dtype,
                     const CallShape& call) {
  const int64_t batch = call.batch;
  if (requested != Engine::auto_) {
    const std::string why = engine_unsupported_reason(requested, config, device, dtype);
    RECUR_CHECK(why.empty(),
                "{} {} layer on {} ({}): engine {} was requested but cannot run it: {}",
                cell_name(config.cell), config.hidden_size, device.name(), dtype_name(dtype),
                engine_name(requested), why);
    return requested;
  }
  std::string skipped;
  for (Engine e : preferences(device, config, dtype, call)) {
    // Without the batch there is no call to fit yet (a preview, as the recur command's check):
    // persistent is passed over without a log line.
    if (e == Engine::persistent && batch <= 0) continue;
    const std::string why = e == Engine::persistent
                                ? auto_persistent_reason(config, device, dtype, batch)
                                : engine_unsupported_reason(e, config, device, dtype);
    if (why.empty()) {
      if (!skipped.empty())
        log_info_once(fmt::format("recurrent engine auto: {}; using {}", skipped, engine_name(e)));
      return e;
    }
    skipped += (skipped.empty() ? "" : "; ") + std::string(engine_name(e)) + " skipped: " + why;
  }
  RECUR_FAIL("{} layer on {} ({}): no recurrent engine can run it ({})", cell_name(config.cell),
             device.name(), dtype_name(dtype), skipped);
}

namespace {

// ASSUMPTION: every engine reads lengths as a contiguous [B] i64 tensor on the input's device.
void check_lengths(const Tensor& lengths, const Tensor& x) {
  if (!lengths.defined()) return;
  check_device_dtype(lengths, x.device(), DType::i64, "recurrent lengths");
  check_shape(lengths, {x.size(0)}, "recurrent lengths");
  RECUR_CHECK(lengths.is_contiguous(), "recurrent lengths: expected a contiguous tensor");
}

}  // namespace

void recurrent_seq_fwd(Engine engine, const SeqConfig& config, const SeqParams& params,
                       SeqForward& args) {
  check_lengths(args.lengths, *args.x);
  switch (engine) {
    case Engine::reference:
      return recurrent_seq_fwd_ref(config, params, args);
    case Engine::fused:
#if RECUR_WITH_CUDA
      return recurrent_seq_fwd_fused(config, params, args);
#else
      break;
#endif
    case Engine::cudnn:
#if RECUR_WITH_CUDNN
      return recurrent_seq_fwd_cudnn(config, params, args);
#else
      break;
#endif
    case Engine::persistent:
#if RECUR_WITH_CUDA
      return recurrent_seq_fwd_persistent(config, params, args);
#else
      break;
#endif
    case Engine::auto_:
      break;
  }
  RECUR_FAIL("recurrent_seq_fwd: engine {} cannot run here (use choose_engine first)",
             engine_name(engine));
}

void recurrent_seq_bwd(Engine engine, const SeqConfig& config, const SeqParams& params,
                       SeqBackward& args) {
  check_lengths(args.lengths, *args.x);
  switch (engine) {
    case Engine::reference:
      return recurrent_seq_bwd_ref(config, params, args);
    case Engine::fused:
#if RECUR_WITH_CUDA
      return recurrent_seq_bwd_fused(config, params, args);
#else
      break;
#endif
    case Engine::cudnn:
#if RECUR_WITH_CUDNN
      return recurrent_seq_bwd_cudnn(config, params, args);
#else
      break;
#endif
    case Engine::persistent:
#if RECUR_WITH_CUDA
      return recurrent_seq_bwd_persistent(config, params, args);
#else
      break;
#endif
    case Engine::auto_:
      break;
  }
  RECUR_FAIL("recurrent_seq_bwd: engine {} cannot run here (use choose_engine first)",
             engine_name(engine));
}

}  // namespace recur
