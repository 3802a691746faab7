// LR schedules: config parsing and validation, and the closed forms of lr_at.
#include "train/lr_schedule.h"

#include <cmath>

#include "core/error.h"

namespace recur {

namespace {

constexpr double kPi = 3.14159265358979323846;  // math.pi

const nlohmann::json* find_key(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  return it == config.end() ? nullptr : &*it;
}

double read_number(const nlohmann::json& config, const char* key, double fallback) {
  const nlohmann::json* v = find_key(config, key);
  if (!v) return fallback;
  RECUR_CHECK(v->is_number(), "LR schedule config: expected \"{}\" to be a number, got {}", key,
              v->dump());
  return v->get<double>();
}

int64_t read_steps(const nlohmann::json& config, const char* key, int64_t fallback) {
  const nlohmann::json* v = find_key(config, key);
  if (!v) return fallback;
  RECUR_CHECK(v->is_number_integer(),
              "LR schedule config: expected \"{}\" to be an integer, got {}", key, v->dump());
  return v->get<int64_t>();
}

}  // namespace

void LrScheduleConfig::validate() const {
  const bool cosine = name == "cosine";
  RECUR_CHECK(cosine || name == "constant",
              "LR schedule: expected name \"constant\" or \"cosine\", got \"{}\"", name);
  RECUR_CHECK(std::isfinite(lr) && lr >= 0, "{} LR schedule: expected lr >= 0, got {}", name, lr);
  RECUR_CHECK(warmup_steps >= 0, "{} LR schedule: expected warmup_steps >= 0, got {}", name,
              warmup_steps);
  RECUR_CHECK(warmup_start_factor >= 0 && warmup_start_factor <= 1,
              "{} LR schedule: expected warmup_start_factor in [0, 1], got {}", name,
              warmup_start_factor);
  RECUR_CHECK(total_steps >= 0, "{} LR schedule: expected total_steps >= 0, got {}", name,
              total_steps);
  if (cosine) {
    RECUR_CHECK(total_steps > warmup_steps,
                "cosine LR schedule: expected total_steps > warmup_steps, got total_steps {} "
                "and warmup_steps {}",
                total_steps, warmup_steps);
    RECUR_CHECK(min_lr >= 0 && min_lr <= lr,
                "cosine LR schedule: expected 0 <= min_lr <= lr ({}), got {}", lr, min_lr);
  } else {
    RECUR_CHECK(total_steps == 0 || total_steps >= warmup_steps,
                "constant LR schedule: expected total_steps >= warmup_steps, got total_steps {} "
                "and warmup_steps {}",
                total_steps, warmup_steps);
    RECUR_CHECK(min_lr == 0, "constant LR schedule: expected no min_lr, got {}", min_lr);
  }
}

nlohmann::json LrScheduleConfig::to_json() const {
  nlohmann::json j = {{"name", name},
                      {"lr", lr},
                      {"warmup_steps", warmup_steps},
                      {"warmup_start_factor", warmup_start_factor},
                      {"total_steps", total_steps}};
  if (name == "cosine") j["min_lr"] = min_lr;
  return j;
}

LrScheduleConfig LrScheduleConfig::from_json(const nlohmann::json& config) {
  RECUR_CHECK(config.is_object(), "LR schedule config: expected a JSON object, got {}",
              config.dump());
  static const char* const kKeys[] = {"name",        "lr",    "warmup_steps", "warmup_start_factor",
                                      "total_steps", "min_lr"};
  for (auto it = config.begin(); it != config.end(); ++it) {
    bool known = false;
    for (const char* key : kKeys) known = known || it.key() == key;
    RECUR_CHECK(known,
                "LR schedule config: unknown key \"{}\" (expected one of: name, lr, "
                "warmup_steps, warmup_start_factor, total_steps, min_lr)",
                it.key());
  }
  const nlohmann::json* name = find_key(config, "name");
  RECUR_CHECK(name && name->is_string(),
              "LR schedule config: expected \"name\": \"constant\" or \"cosine\", got {}",
              name ? name->dump() : std::string("no name"));
  LrScheduleConfig c;
  c.name = name->get<std::string>();
  RECUR_CHECK(c.name == "constant" || c.name == "cosine",
              "LR schedule config: expected name \"constant\" or \"cosine\", got \"{}\"", c.name);
  RECUR_CHECK(find_key(config, "lr"), "{} LR schedule config: missing \"lr\"", c.name);
  c.lr = read_number(config, "lr", c.lr);
  c.warmup_steps = read_steps(config, "warmup_steps", c.warmup_steps);
  c.warmup_start_factor = read_number(config, "warmup_start_factor", c.warmup_start_factor);
  c.total_steps = read_steps(config, "total_steps", c.total_steps);
  c.min_lr = read_number(config, "min_lr", c.min_lr);
  RECUR_CHECK(c.name != "cosine" || find_key(config, "total_steps"),
              "cosine LR schedule config: missing \"total_steps\"");
  c.validate();
  return c;
}

LrSchedule::LrSchedule(const LrScheduleConfig& config) : config_(config) {
  config_.validate();
}

LrSchedule LrSchedule::constant(double lr) {
  LrScheduleConfig c;
  c.lr = lr;
  return LrSchedule(c);
}

LrSchedule LrSchedule::cosine(double lr, int64_t warmup_steps, int64_t total_steps, double min_lr) {
  LrScheduleConfig c;
  c.name = "cosine";
  c.lr = lr;
  c.warmup_steps = warmup_steps;
  c.total_steps = total_steps;
  c.min_lr = min_lr;
  return LrSchedule(c);
}

double LrSchedule::lr_at(int64_t step) const {
  RECUR_CHECK(step >= 0, "LR schedule: expected step >= 0, got {}", step);
  const LrScheduleConfig& c = config_;
  if (step < c.warmup_steps) {
    // LinearLR's closed form, term by term.
    const double factor = c.warmup_start_factor + (1.0 - c.warmup_start_factor) *
                                                      static_cast<double>(step) /
                                                      static_cast<double>(c.warmup_steps);
    return c.lr * factor;
  }
  if (c.name == "constant") return c.lr;
  const int64_t t = step - c.warmup_steps;
  const int64_t decay_steps = c.total_steps - c.warmup_steps;
  if (t >= decay_steps) return c.min_lr;
  // CosineAnnealingLR's closed form, term by term.
  return c.min_lr +
         (c.lr - c.min_lr) *
             (1 + std::cos(kPi * static_cast<double>(t) / static_cast<double>(decay_steps))) / 2;
}

}  // namespace recur
