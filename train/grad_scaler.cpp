// Dynamic loss scaling (train/grad_scaler.h): one norm decides, one scaling pass unscales and
// clips together.
#include "train/grad_scaler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/clip.h"

namespace recur {

void GradScalerOptions::validate() const {
  RECUR_CHECK(std::isfinite(init_scale) && init_scale > 0,
              "grad scaler: expected init_scale > 0, got {}", init_scale);
  RECUR_CHECK(std::isfinite(growth_factor) && growth_factor >= 1,
              "grad scaler: expected growth_factor >= 1, got {}", growth_factor);
  RECUR_CHECK(backoff_factor > 0 && backoff_factor < 1,
              "grad scaler: expected backoff_factor in (0, 1), got {}", backoff_factor);
  RECUR_CHECK(growth_interval >= 1, "grad scaler: expected growth_interval >= 1, got {}",
              growth_interval);
  // 1/scale must stay a finite float: the unscale factor is applied in each grad's dtype.
  RECUR_CHECK(min_scale >= 0x1p-100 && min_scale <= init_scale,
              "grad scaler: expected min_scale in [2^-100, init_scale], got {}", min_scale);
  RECUR_CHECK(max_skips_in_a_row >= 1, "grad scaler: expected max_skips_in_a_row >= 1, got {}",
              max_skips_in_a_row);
}

GradScaler::GradScaler(const GradScalerOptions& options)
    : options_(options), scale_(options.init_scale) {
  options_.validate();
}

std::optional<double> GradScaler::unscale_and_clip(const ParameterList& params, double max_norm) {
  const double scaled_norm = grad_norm(params);
  if (!std::isfinite(scaled_norm)) {
    RECUR_CHECK(skips_in_a_row_ + 1 < options_.max_skips_in_a_row,
                "the model diverged: its gradients overflowed in {} steps in a row, the last at "
                "loss scale {} (an inf or NaN from the forward itself, whatever the scale)",
                skips_in_a_row_ + 1, scale_);
    scale_ = std::max(options_.min_scale, scale_ * options_.backoff_factor);
    clean_steps_ = 0;
    ++skipped_;
    ++skips_in_a_row_;
    return std::nullopt;
  }
  skips_in_a_row_ = 0;
  const double norm = scaled_norm / scale_;
  double factor = 1.0 / scale_;
  // clip_grad_norm's coefficient, on the unscaled norm.
  if (max_norm > 0) factor *= std::min(1.0, max_norm / (norm + 1e-6));
  scale_grads(params, factor);
  if (++clean_steps_ >= options_.growth_interval) {
    // Growing past f32's range would turn every gradient into inf; stay put there.
    if (scale_ * options_.growth_factor <= 0x1p100) scale_ *= options_.growth_factor;
    clean_steps_ = 0;
  }
  return norm;
}

nlohmann::json GradScaler::state() const {
  return {{"scale", scale_},
          {"clean_steps", clean_steps_},
          {"skipped_steps", skipped_},
          {"skips_in_a_row", skips_in_a_row_}};
}

void GradScaler::load_state(const nlohmann::json& state) {
  RECUR_CHECK(state.is_object() && state.contains("scale") && state.contains("clean_steps"),
              "grad scaler state: expected an object with scale and clean_steps, got {}",
              state.dump());
  const double scale = state.at("scale").get<double>();
  RECUR_CHECK(std::isfinite(scale) && scale > 0, "grad scaler state: expected scale > 0, got {}",
              scale);
  scale_ = scale;
  clean_steps_ = state.at("clean_steps").get<int64_t>();
  skipped_ = state.value("skipped_steps", int64_t{0});
  skips_in_a_row_ = state.value("skips_in_a_row", int64_t{0});
}

}  // namespace recur
