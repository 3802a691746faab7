// Dynamic loss scaling (train/grad_scaler.h): unscaling and clipping in one pass, skipping an
// overflowing step with the gradients untouched, halving and growing the scale, its state for
// resume, and the option errors.
#include "train/grad_scaler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/expect_error.h"

namespace recur {
namespace {

Parameter param(const std::string& name, std::vector<float> grad) {
  const int64_t n = static_cast<int64_t>(grad.size());
  return {name, Tensor::zeros({n}, DType::f32), Tensor::from_vector<float>(grad, {n}), true};
}

TEST(GradScaler, UnscalesFiniteGradientsAndReturnsTheUnscaledNorm) {
  GradScalerOptions o;
  o.init_scale = 1024;
  GradScaler scaler(o);
  // Gradients of a loss scaled by 1024: unscaled they are (3, 4) and (0), norm 5.
  ParameterList params{param("a", {3 * 1024.f, 4 * 1024.f}), param("b", {0.f})};
  const std::optional<double> norm = scaler.unscale_and_clip(params, /*max_norm=*/0);
  ASSERT_TRUE(norm.has_value());
  EXPECT_DOUBLE_EQ(*norm, 5.0);
  EXPECT_FLOAT_EQ(params[0].grad.data<float>()[0], 3.f);
  EXPECT_FLOAT_EQ(params[0].grad.data<float>()[1], 4.f);
  EXPECT_EQ(scaler.scale(), 1024);
  EXPECT_EQ(scaler.skipped_steps(), 0);
}

TEST(GradScaler, ClipsOnTheUnscaledNormInTheSamePass) {
  GradScalerOptions o;
  o.init_scale = 256;
  GradScaler scaler(o);
  ParameterList params{param("a", {3 * 256.f, 4 * 256.f})};
  ASSERT_DOUBLE_EQ(*scaler.unscale_and_clip(params, /*max_norm=*/1.0), 5.0);
  // clip_grad_norm's coefficient 1 / (5 + 1e-6): the result has norm 1.
  EXPECT_NEAR(params[0].grad.data<float>()[0], 0.6f, 1e-6);
  EXPECT_NEAR(params[0].grad.data<float>()[1], 0.8f, 1e-6);
}

TEST(GradScaler, SkipsAnOverflowingStepLeavingTheGradientsAndHalvingTheScale) {
  GradScaler scaler;
  for (float bad : {std::numeric_limits<float>::infinity(), std::nanf("")}) {
    const double before = scaler.scale();
    ParameterList params{param("a", {1.f, bad}), param("b", {2.f})};
    EXPECT_FALSE(scaler.unscale_and_clip(params, 1.0).has_value());
    EXPECT_EQ(params[0].grad.data<float>()[0], 1.f);  // untouched
    EXPECT_EQ(params[1].grad.data<float>()[0], 2.f);
    EXPECT_EQ(scaler.scale(), before / 2);
  }
  EXPECT_EQ(scaler.skipped_steps(), 2);
}

TEST(GradScaler, NeverHalvesBelowItsFloorAndGivesUpOnAForwardThatAlwaysOverflows) {
  GradScalerOptions o;
  o.init_scale = 4;
  o.min_scale = 1;
  o.max_skips_in_a_row = 4;
  GradScaler scaler(o);
  auto overflow = [&] {
    ParameterList params{param("a", {std::numeric_limits<float>::infinity()})};
    return scaler.unscale_and_clip(params, 0).has_value();
  };
  EXPECT_FALSE(overflow());
  EXPECT_EQ(scaler.scale(), 2);
  EXPECT_FALSE(overflow());
  EXPECT_FALSE(overflow());
  EXPECT_EQ(scaler.scale(), 1);  // the floor
  testing::expect_error(overflow, {"diverged", "4 steps in a row"});
  // A finite step in between starts the count again.
  GradScaler again(o);
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE([&] {
      ParameterList params{param("a", {std::nanf("")})};
      return again.unscale_and_clip(params, 0).has_value();
    }());
  ParameterList good{param("a", {1.f})};
  EXPECT_TRUE(again.unscale_and_clip(good, 0).has_value());
  ParameterList bad{param("a", {std::nanf("")})};
  EXPECT_FALSE(again.unscale_and_clip(bad, 0).has_value());
}

TEST(GradScaler, GrowsAfterGrowthIntervalCleanStepsInARow) {
  GradScalerOptions o;
  o.init_scale = 8;
  o.growth_interval = 3;
  GradScaler scaler(o);
  auto step = [&](float g) {
    ParameterList params{param("a", {g})};
    return scaler.unscale_and_clip(params, 0).has_value();
  };
  EXPECT_TRUE(step(1));
  EXPECT_TRUE(step(1));
  EXPECT_FALSE(step(std::numeric_limits<float>::infinity()));  // resets the count, scale 4
  EXPECT_EQ(scaler.scale(), 4);
  EXPECT_TRUE(step(1));
  EXPECT_TRUE(step(1));
  EXPECT_EQ(scaler.scale(), 4);
  EXPECT_TRUE(step(1));  // third clean step in a row
  EXPECT_EQ(scaler.scale(), 8);
}

TEST(GradScaler, StateRoundTripsForResume) {
  GradScalerOptions o;
  o.growth_interval = 5;
  GradScaler a(o);
  ParameterList bad{param("a", {std::numeric_limits<float>::infinity()})};
  a.unscale_and_clip(bad, 0);
  ParameterList good{param("a", {1.f})};
  a.unscale_and_clip(good, 0);
  GradScaler b(o);
  b.load_state(a.state());
  EXPECT_EQ(b.scale(), a.scale());
  EXPECT_EQ(b.skipped_steps(), 1);
  EXPECT_EQ(b.state(), a.state());
  testing::expect_error([&] { b.load_state({{"scale", 2.0}}); }, "scale and clean_steps");
  testing::expect_error(
      [&] {
        b.load_state({{"scale", -1.0}, {"clean_steps", 0}});
      },
      "expected scale > 0");
}

TEST(GradScaler, InvalidOptionsAreErrors) {
  GradScalerOptions o;
  o.backoff_factor = 1.5;
  testing::expect_error([&] { GradScaler s(o); }, "backoff_factor in (0, 1)");
  o = {};
  o.init_scale = 0;
  testing::expect_error([&] { GradScaler s(o); }, "init_scale > 0");
  o = {};
  o.growth_interval = 0;
  testing::expect_error([&] { GradScaler s(o); }, "growth_interval >= 1");
  o = {};
  o.min_scale = 1e6;  // above init_scale
  testing::expect_error([&] { GradScaler s(o); }, "min_scale in [2^-100, init_scale]");
  o = {};
  o.max_skips_in_a_row = 0;
  testing::expect_error([&] { GradScaler s(o); }, "max_skips_in_a_row >= 1");
}

}  // namespace
}  // namespace recur
