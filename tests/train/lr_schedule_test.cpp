// LR schedules against torch.optim.lr_scheduler's LinearLR and CosineAnnealingLR
// (tests/data/optim_golden.json), and the config errors.
#include "train/lr_schedule.h"

#include <gtest/gtest.h>

#include "tests/train/optim_golden.h"

namespace recur {
namespace {

using test::expect_error;

TEST(LrSchedule, MatchesPyTorchSchedulers) {
  for (const nlohmann::json& s : test::optim_golden()["schedules"]) {
    SCOPED_TRACE(s["config"].dump());
    const LrSchedule schedule = LrSchedule::from_json(s["config"]);
    const std::vector<double> expected = s["lrs"].get<std::vector<double>>();
    const double base = schedule.config().lr;
    for (size_t step = 0; step < expected.size(); ++step)
      EXPECT_LE(std::abs(schedule.lr_at(static_cast<int64_t>(step)) - expected[step]),
                1e-12 * std::max(std::abs(expected[step]), base))
          << "step " << step << ": got " << schedule.lr_at(static_cast<int64_t>(step))
          << ", PyTorch " << expected[step];
  }
}

TEST(LrSchedule, WarmupStartsFromZeroByDefaultAndEndsAtBaseLr) {
  LrScheduleConfig c;
  c.lr = 0.4;
  c.warmup_steps = 4;
  const LrSchedule schedule(c);
  EXPECT_EQ(schedule.lr_at(0), 0.0);
  EXPECT_EQ(schedule.lr_at(2), 0.2);
  EXPECT_EQ(schedule.lr_at(4), 0.4);
  EXPECT_EQ(schedule.lr_at(1000000), 0.4);
}

TEST(LrSchedule, CosineReachesMinLrAtTotalStepsAndHoldsIt) {
  const LrSchedule schedule = LrSchedule::cosine(0.1, 10, 110, 0.01);
  EXPECT_EQ(schedule.lr_at(10), 0.1);
  EXPECT_NEAR(schedule.lr_at(60), 0.055, 1e-15);
  EXPECT_EQ(schedule.lr_at(110), 0.01);
  EXPECT_EQ(schedule.lr_at(111), 0.01);
  EXPECT_EQ(schedule.lr_at(5000), 0.01);
  for (int64_t step = 11; step <= 110; ++step)
    EXPECT_LT(schedule.lr_at(step), schedule.lr_at(step - 1)) << step;
}

TEST(LrSchedule, ConfigRoundTripsThroughJson) {
  const LrSchedule schedule = LrSchedule::cosine(0.05, 3, 40, 0.001);
  const LrSchedule copy = LrSchedule::from_json(schedule.config().to_json());
  for (int64_t step = 0; step < 50; ++step) EXPECT_EQ(copy.lr_at(step), schedule.lr_at(step));
  EXPECT_EQ(LrSchedule::constant(0.3).lr_at(7), 0.3);
}

TEST(LrSchedule, RejectsInvalidConfigs) {
  using J = nlohmann::json;
  auto parse = [](const J& config) { return [config] { LrSchedule::from_json(config); }; };
  expect_error(parse({{"name", "linear"}, {"lr", 0.1}}),
               "expected name \"constant\" or \"cosine\", got \"linear\"");
  expect_error(parse({{"lr", 0.1}}), "expected \"name\"");
  expect_error(parse({{"name", "constant"}}), "missing \"lr\"");
  expect_error(parse({{"name", "constant"}, {"lr", -0.1}}), "expected lr >= 0, got -0.1");
  expect_error(parse({{"name", "constant"}, {"lr", 0.1}, {"warmup_steps", -5}}),
               "expected warmup_steps >= 0, got -5");
  expect_error(parse({{"name", "constant"}, {"lr", 0.1}, {"warmup_steps", 2.5}}),
               "expected \"warmup_steps\" to be an integer, got 2.5");
  expect_error(parse({{"name", "constant"}, {"lr", 0.1}, {"warmup", 10}}),
               "unknown key \"warmup\"");
  expect_error(parse({{"name", "constant"}, {"lr", 0.1}, {"warmup_start_factor", 1.5}}),
               "expected warmup_start_factor in [0, 1], got 1.5");
  expect_error(parse({{"name", "constant"}, {"lr", 0.1}, {"min_lr", 0.01}}), "no min_lr");
  expect_error(parse({{"name", "cosine"}, {"lr", 0.1}}), "missing \"total_steps\"");
  expect_error(parse({{"name", "cosine"}, {"lr", 0.1}, {"warmup_steps", 20}, {"total_steps", 10}}),
               "expected total_steps > warmup_steps, got total_steps 10 and warmup_steps 20");
  expect_error(parse({{"name", "cosine"}, {"lr", 0.1}, {"warmup_steps", 10}, {"total_steps", 10}}),
               "expected total_steps > warmup_steps");
  expect_error(parse({{"name", "cosine"}, {"lr", 0.1}, {"total_steps", -3}}),
               "expected total_steps >= 0, got -3");
  expect_error(parse({{"name", "cosine"}, {"lr", 0.1}, {"total_steps", 10}, {"min_lr", 0.2}}),
               "expected 0 <= min_lr <= lr (0.1), got 0.2");
  expect_error([] { LrSchedule::constant(0.1).lr_at(-1); }, "expected step >= 0, got -1");
}

}  // namespace
}  // namespace recur
