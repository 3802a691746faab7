// Dynamic loss scaling for f16 mixed precision (core/precision.h), as PyTorch's
// torch.cuda.amp.GradScaler: f16 GEMM operands flush gradients below 2^-24 to zero, so the loss
// gradient is multiplied by scale() before backward (SoftmaxCrossEntropy::backward(scale)), which
// lifts small gradients into f16's range; a scale so large that some gradient overflows shows up
// as inf/NaN, and that step is skipped with the scale halved. After growth_interval clean steps
// in a row the scale doubles, so it tracks the largest scale that does not overflow.
//
//   loss.backward(scaler.scale());
//   if (auto norm = scaler.unscale_and_clip(params, max_norm)) optimizer.step();  // else skipped
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>

#include "layers/parameter.h"

namespace recur {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16, PyTorch's default
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;  // clean steps in a row before the scale grows
  double min_scale = 1.0;          // the scale never halves below this
  // This many overflowing steps in a row means the model itself overflows (an inf or NaN in the
  // forward, whatever the scale): unscale_and_clip throws instead of skipping forever.
  int64_t max_skips_in_a_row = 50;
  // Throws recur::Error naming the first invalid option.
  void validate() const;
};

class GradScaler {
 public:
  explicit GradScaler(const GradScalerOptions& options = {});

  // What the loss gradient is multiplied by before backward.
  double scale() const { return scale_; }

  // After a backward of the loss scaled by scale(): one global norm over every gradient. When it
  // is finite, every gradient is divided by the scale and clipped to max_norm (global L2, as
  // clip_grad_norm) in one pass, and the unscaled norm is returned: take the optimizer step. When
  // any gradient is inf or NaN, the gradients are left as they are and nullopt is returned: skip
  // the step. Either way the scale is updated (halved after an overflow; multiplied by
  // growth_factor after growth_interval clean steps in a row; never below min_scale).
  // max_norm <= 0: no clipping. Throws recur::Error ("diverged") after max_skips_in_a_row
  // overflowing steps in a row, gradients untouched.
  std::optional<double> unscale_and_clip(const ParameterList& params, double max_norm);

  int64_t skipped_steps() const { return skipped_; }

  // The scale and the step counts, for checkpoints (bit-exact resume).
  nlohmann::json state() const;
  // Throws recur::Error naming what is missing or invalid in `state`.
  void load_state(const nlohmann::json& state);

 private:
  GradScalerOptions options_;
  double scale_;
  int64_t clean_steps_ = 0;     // finite steps since the scale last changed
  int64_t skipped_ = 0;         // every skipped step
  int64_t skips_in_a_row_ = 0;  // skipped steps since the last finite one
};

}  // namespace recur
