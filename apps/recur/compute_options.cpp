// --device / --engine / --precision / --threads: what this build can run, and the clear errors
// for what it cannot yet (the GPU engines arrive with their own issue).
#include "apps/recur/commands.h"
#include "core/error.h"
#include "core/parallel.h"

namespace recur::app {

void add_compute_options(CLI::App* cmd, ComputeOptions& o) {
  cmd->add_option("--device", o.device, "auto, cpu or cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--engine", o.engine, "auto, reference, fused or cudnn")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "reference", "fused", "cudnn"}));
  cmd->add_option("--precision", o.precision, "f32, bf16 or f16")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16", "f16"}));
  cmd->add_option("--threads", o.threads, "CPU threads (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
}

std::string apply_compute_options(const ComputeOptions& o) {
  RECUR_CHECK(o.device != "cuda",
              "--device cuda: this recur has no GPU engine yet (the CUDA kernels build, but the "
              "fused and cuDNN engines are not wired into training); use --device cpu");
  RECUR_CHECK(o.engine == "auto" || o.engine == "reference",
              "--engine {}: that engine runs on the GPU, which this recur cannot use yet; use "
              "--engine auto (the CPU reference)",
              o.engine);
  RECUR_CHECK(o.precision == "f32",
              "--precision {}: the CPU engine computes in f32 (bf16 and f16 are GPU precisions)",
              o.precision);
  if (o.threads > 0) set_num_threads(o.threads);
  return "cpu, reference engine, f32, " + std::to_string(num_threads()) + " threads";
}

}  // namespace recur::app
