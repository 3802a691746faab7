// Scheduled sampling for one-step forecasters (Bengio et al., "Scheduled sampling for sequence
// prediction with recurrent neural networks", NeurIPS 2015), in one pass: a model trained only on
// true inputs (teacher forcing) has never read its own forecasts, and when it forecasts ahead it
// reads nothing else, so its errors compound. Before a training step the model predicts the
// window from the true values; then each step t >= 1 of each window reads, with probability p,
// that prediction of it (made after step t-1) instead of the true value. The targets stay true.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recur {

// x [B,W,F] a batch of training windows (CPU, f32 or f64); predictions [B,W,F] of the same
// dtype, the model's prediction of x[:, t+1] after each step t -> x with the step t >= 1 of window
// b replaced by predictions[b, t-1] where the coin of (seed, step, b, t) shows p: Philox uniform
// (seed, stream kFeedBackStream, step) at index b*W + t below p. p in [0, 1].
Tensor feed_back_predictions(const Tensor& x, const Tensor& predictions, double p, uint64_t seed,
                             uint64_t step);

inline constexpr uint32_t kFeedBackStream = 0xfeedu;

}  // namespace recur
