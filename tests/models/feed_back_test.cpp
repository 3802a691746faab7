// Scheduled sampling's input mix (models/feed_back.h).
#include "models/feed_back.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/philox.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

using testing::random_tensor;

// x [B,W,F] and predictions of it, recognisable: x = 1000 + i, predictions = -(1 + i).
struct Windows {
  Tensor x, predictions;
};
Windows windows(int64_t B, int64_t W, int64_t F) {
  std::vector<double> x, p;
  for (int64_t i = 0; i < B * W * F; ++i) {
    x.push_back(1000.0 + static_cast<double>(i));
    p.push_back(-1.0 - static_cast<double>(i));
  }
  return {Tensor::from_vector<double>(x, {B, W, F}), Tensor::from_vector<double>(p, {B, W, F})};
}

TEST(FeedBack, NoneAllOrEachStepByItsCoin) {
  const int64_t B = 5, W = 40, F = 3;
  const Windows w = windows(B, W, F);
  EXPECT_EQ(feed_back_predictions(w.x, w.predictions, 0.0, 1, 7).to_vector(), w.x.to_vector());
  const std::vector<double> x = w.x.to_vector(), p = w.predictions.to_vector();
  // p = 1: every step but each window's first reads the prediction made the step before.
  const std::vector<double> all = feed_back_predictions(w.x, w.predictions, 1.0, 1, 7).to_vector();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < W; ++t)
      for (int64_t f = 0; f < F; ++f) {
        const int64_t i = (b * W + t) * F + f;
        ASSERT_EQ(all[i], t == 0 ? x[i] : p[i - F]) << b << "," << t << "," << f;
      }
  // p = 0.3: whole steps (all features together), as the coin of (seed, step, b, t) says.
  const std::vector<double> some = feed_back_predictions(w.x, w.predictions, 0.3, 1, 7).to_vector();
  int64_t fed = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 1; t < W; ++t) {
      const bool coin =
          philox_uniform(1, kFeedBackStream, 7, static_cast<uint64_t>(b * W + t)) < 0.3;
      fed += coin;
      for (int64_t f = 0; f < F; ++f) {
        const int64_t i = (b * W + t) * F + f;
        ASSERT_EQ(some[i], coin ? p[i - F] : x[i]) << b << "," << t << "," << f;
      }
    }
  EXPECT_GT(fed, 30);  // of 195 steps, about 58 expected
  EXPECT_LT(fed, 90);
  // Another training step draws other coins; the same one the same (a resumed run).
  EXPECT_NE(feed_back_predictions(w.x, w.predictions, 0.3, 1, 8).to_vector(), some);
  EXPECT_EQ(feed_back_predictions(w.x, w.predictions, 0.3, 1, 7).to_vector(), some);
  EXPECT_EQ(w.x.to_vector(), x);  // the input is left as it was
}

TEST(FeedBack, F32WindowsStayF32) {
  const Windows w = windows(2, 4, 1);
  const Tensor got =
      feed_back_predictions(w.x.to(DType::f32), w.predictions.to(DType::f32), 1.0, 3, 0);
  EXPECT_EQ(got.dtype(), DType::f32);
  EXPECT_EQ(got.to_vector()[1], -1.0);
}

TEST(FeedBack, BadInputsAreErrors) {
  const Windows w = windows(2, 4, 1);
  testing::expect_error([&] { feed_back_predictions(w.x, w.predictions, 1.5, 1, 0); },
                        "p in [0, 1], got 1.5");
  testing::expect_error(
      [&] { feed_back_predictions(w.x, w.predictions.narrow(1, 0, 3).contiguous(), 0.5, 1, 0); },
      {"expected predictions [2,4,1]", "got [2,3,1]"});
  testing::expect_error(
      [&] { feed_back_predictions(w.x, w.predictions.to(DType::f32), 0.5, 1, 0); }, "f64");
  testing::expect_error(
      [&] {
        feed_back_predictions(random_tensor({2, 4}, 1), w.predictions, 0.5, 1, 0);
      },
      "expected CPU windows [B,W,F]");
}

}  // namespace
}  // namespace recur
