// Learning-rate schedules: the lr for optimizer step `step` (0 for the first step), as
// torch.optim.lr_scheduler gives it at last_epoch == step.
//
//   warm-up (both):  step < warmup_steps:
//                      lr * (warmup_start_factor + (1 - warmup_start_factor) * step / warmup_steps)
//                    as LinearLR(start_factor=warmup_start_factor, total_iters=warmup_steps).
//                    warmup_start_factor defaults to 0: warm-up from lr 0 at step 0.
//   "constant":      lr after warm-up.
//   "cosine":        CosineAnnealingLR's closed form over the steps after warm-up,
//                    t = step - warmup_steps, T = total_steps - warmup_steps:
//                      min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2
//                    reaching min_lr at step total_steps and holding it afterwards (where
//                    CosineAnnealingLR would rise again).
//
// JSON config: {"name": "constant"|"cosine", "lr", "warmup_steps", "warmup_start_factor",
// "total_steps" (cosine: required), "min_lr" (cosine only)}; absent keys take the defaults below.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace recur {

struct LrScheduleConfig {
  std::string name = "constant";  // "constant" or "cosine"
  double lr = 1e-3;               // the base lr, reached at the end of warm-up
  int64_t warmup_steps = 0;
  double warmup_start_factor = 0.0;  // lr at step 0 = lr * warmup_start_factor; in [0, 1]
  int64_t total_steps = 0;           // cosine: the step where lr reaches min_lr
  double min_lr = 0.0;               // cosine: the floor, in [0, lr]

  // ASSUMPTION: a known name; lr finite >= 0; warmup_steps >= 0; warmup_start_factor in [0, 1];
  // cosine: total_steps > warmup_steps and 0 <= min_lr <= lr; constant: min_lr == 0 and
  // total_steps (informative only) 0 or >= warmup_steps. Throws recur::Error otherwise.
  void validate() const;
  nlohmann::json to_json() const;
  // Reads the keys above (unknown keys throw) and validates.
  static LrScheduleConfig from_json(const nlohmann::json& config);
};

class LrSchedule {
 public:
  // Validates the config (throws recur::Error).
  explicit LrSchedule(const LrScheduleConfig& config);
  static LrSchedule from_json(const nlohmann::json& config) {
    return LrSchedule(LrScheduleConfig::from_json(config));
  }
  static LrSchedule constant(double lr);
  static LrSchedule cosine(double lr, int64_t warmup_steps, int64_t total_steps,
                           double min_lr = 0.0);

  // The lr for optimizer step `step`. ASSUMPTION: step >= 0 (throws otherwise).
  double lr_at(int64_t step) const;
  const LrScheduleConfig& config() const { return config_; }

 private:
  LrScheduleConfig config_;
};

}  // namespace recur
