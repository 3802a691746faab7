// --device / --engine / --precision / --threads / --tf32: where a command runs, checked before any
// work starts (a GPU that is not there, an engine that cannot run on the chosen device or
// precision, TF32 on the CPU: one clear line and exit status 2).
#include "apps/recur/commands.h"
#include "core/cuda_runtime.h"
#include "core/error.h"
#include "core/parallel.h"

namespace recur::app {

void add_compute_options(CLI::App* cmd, ComputeOptions& o) {
  cmd->add_option("--device", o.device, "auto, cpu or cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--engine", o.engine, "auto, reference, fused, cudnn or persistent")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "reference", "fused", "cudnn", "persistent"}));
  cmd->add_option("--precision", o.precision,
                  "math precision of the matrix products: f32, or bf16 / f16 mixed precision "
                  "(f32 weights and states; f16 training uses dynamic loss scaling)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16", "f16"}));
  cmd->add_option("--threads", o.threads, "CPU threads (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--tf32", o.tf32,
                "on a GPU, let f32 matrix products through cuBLAS use TF32 tensor cores (10-bit "
                "mantissa operands; off by default, as recur's f32 is full f32)");
}

Placement apply_compute_options(const ComputeOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  const int gpus = cuda_device_count();
  Placement where;
  if (o.device == "cuda") {
    RECUR_CHECK(
        gpus > 0, "--device cuda: {}; use --device cpu",
        cuda_compiled() ? "no GPU is visible to this process" : "this build of recur has no CUDA");
    where.device = Device::cuda(0);
  } else if (o.device == "auto" && gpus > 0) {
    where.device = Device::cuda(0);
  }
  if (o.tf32) {
    RECUR_CHECK(where.device.is_cuda(), "--tf32: applies to f32 math on a GPU; this run is on {}",
                where.device.name());
    set_cuda_allow_tf32(where.device.index, true);
  }
  where.engine = engine_from_name(o.engine);
  where.precision = precision_from_name(o.precision);
  // Check the engine now, so a bad combination is one clear line before any work starts.
  SeqConfig probe;
  probe.cell = CellKind::lstm;
  probe.precision = where.precision;
  choose_engine(where.engine, probe, where.device, DType::f32);
  return where;
}

std::string describe_compute(const Placement& where) {
  std::string d = where.describe();
  if (where.device.is_cpu()) d += ", " + std::to_string(num_threads()) + " threads";
  if (where.device.is_cuda() && cuda_allow_tf32(where.device.index)) d += ", TF32 allowed";
  return d;
}

}  // namespace recur::app
