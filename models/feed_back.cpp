// Scheduled sampling's input mix (models/feed_back.h).
#include "models/feed_back.h"

#include <cstring>

#include "core/error.h"
#include "core/philox.h"

namespace recur {

Tensor feed_back_predictions(const Tensor& x, const Tensor& predictions, double p, uint64_t seed,
                             uint64_t step) {
  RECUR_CHECK(
      x.device().is_cpu() && (x.dtype() == DType::f32 || x.dtype() == DType::f64) && x.dim() == 3,
      "feed_back_predictions: expected CPU windows [B,W,F] of f32 or f64, got {} {} on {}",
      x.shape_str(), dtype_name(x.dtype()), x.device().name());
  RECUR_CHECK(predictions.device().is_cpu() && predictions.dtype() == x.dtype() &&
                  predictions.shape() == x.shape(),
              "feed_back_predictions: expected predictions {} {} on the CPU, got {} {} on {}",
              x.shape_str(), dtype_name(x.dtype()), predictions.shape_str(),
              dtype_name(predictions.dtype()), predictions.device().name());
  RECUR_CHECK(p >= 0.0 && p <= 1.0, "feed_back_predictions: expected p in [0, 1], got {}", p);
  Tensor out = x.contiguous().clone();
  const Tensor pred = predictions.contiguous();
  const int64_t B = x.size(0), W = x.size(1), F = x.size(2);
  const size_t row = static_cast<size_t>(F) * dtype_size(x.dtype());
  auto* to = static_cast<std::byte*>(out.raw_data());
  const auto* from = static_cast<const std::byte*>(pred.raw_data());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 1; t < W; ++t)
      if (philox_uniform(seed, kFeedBackStream, static_cast<uint32_t>(step),
                         static_cast<uint64_t>(b * W + t)) < p)
        std::memcpy(to + (b * W + t) * row, from + (b * W + t - 1) * row, row);
  return out;
}

}  // namespace recur
