// The Fused engine for one direction of a recurrent layer on a GPU (kernels/recurrent_seq.h): the
// time loop shared with the CPU reference (kernels/recurrent_seq_driver.h), run with cuBLAS GEMMs,
// ONE fused pointwise kernel per step for the gates, cell update and new state
// (kernels/cuda/cell_step_cuda.cu; the training variant keeps its cache, the inference variant
// keeps nothing) and the masked row copies of kernels/cuda/recurrent_seq_ops.cu. Everything is
// queued on the device's recur stream; nothing here synchronises.
#include "core/cuda/context.h"
#include "kernels/cuda/cuda_seq_ops.h"
#include "kernels/cuda/seq_arg_checks.h"
#include "kernels/recurrent_seq.h"
#include "kernels/recurrent_seq_driver.h"

namespace recur {

namespace {

constexpr const char* kEngine = "Fused";

}  // namespace

void recurrent_seq_fwd_fused(const SeqConfig& config, const SeqParams& params, SeqForward& args) {
  const Device d = seq_checks::input_gpu(kEngine, *args.x);
  seq_checks::check_float_input(kEngine, *args.x);
  seq_checks::check_params_on(kEngine, params, d);
  seq_checks::check_forward_on(kEngine, args, d);
  DeviceGuard guard(d.index);  // kernels launch on the current device
  if (args.x->dtype() == DType::f64) {
    CudaSeqOps<double> ops(d.index);
    seq_driver::forward<double>(ops, config, params, args);
  } else {
    CudaSeqOps<float> ops(d.index);
    seq_driver::forward<float>(ops, config, params, args);
  }
}

void recurrent_seq_bwd_fused(const SeqConfig& config, const SeqParams& params, SeqBackward& args) {
  const Device d = seq_checks::input_gpu(kEngine, *args.x);
  seq_checks::check_float_input(kEngine, *args.x);
  seq_checks::check_params_on(kEngine, params, d);
  seq_checks::check_backward_on(kEngine, args, d);
  RECUR_CHECK(args.saved != nullptr && args.saved->hs.defined() && args.saved->hs.device() == d,
              "Fused engine backward: expected the saved forward of a fused training forward on {}",
              d.name());
  DeviceGuard guard(d.index);
  if (args.x->dtype() == DType::f64) {
    CudaSeqOps<double> ops(d.index);
    seq_driver::backward<double>(ops, config, params, args);
  } else {
    CudaSeqOps<float> ops(d.index);
    seq_driver::backward<float>(ops, config, params, args);
  }
}

}  // namespace recur
