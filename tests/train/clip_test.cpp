// clip_grad_norm against torch.nn.utils.clip_grad_norm_ (tests/data/optim_golden.json) in f32 and
// f64, and its refusal to touch gradients whose norm is nan or inf.
#include "train/clip.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "tests/train/optim_golden.h"

namespace recur {
namespace {

using test::expect_error;
using test::golden_parameters;
using test::optim_golden;
using test::set_grads;

template <class T>
class ClipGolden : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ClipGolden, FloatTypes);

TYPED_TEST(ClipGolden, MatchesPyTorch) {
  const double tol = test::golden_tolerance<TypeParam>();
  for (const nlohmann::json& c : optim_golden()["clip"]) {
    const double max_norm = c["max_norm"].get<double>();
    SCOPED_TRACE(max_norm);
    const ParameterList params = golden_parameters<TypeParam>();
    set_grads(params, c["grads"]);
    const double expected_norm = c["total_norm"].get<double>();
    const double total_norm = clip_grad_norm(params, max_norm);
    EXPECT_LE(std::abs(total_norm - expected_norm), tol * expected_norm);
    for (const Parameter& p : params)
      test::expect_values_near(p.grad, c["clipped"][p.name].get<std::vector<double>>(), tol,
                               p.name);
    if (max_norm < expected_norm) {  // clipped to just under max_norm (the 1e-6 guard)
      const double clipped_norm = max_norm * expected_norm / (expected_norm + 1e-6);
      EXPECT_NEAR(grad_norm(params), clipped_norm, tol * max_norm);
    }
  }
}

TYPED_TEST(ClipGolden, LeavesGradientsBelowMaxNormBitIdentical) {
  const ParameterList params = golden_parameters<TypeParam>();
  set_grads(params, optim_golden()["grads"][1]);
  const std::vector<double> before = params[1].grad.to_vector();
  const double norm = grad_norm(params);
  EXPECT_EQ(clip_grad_norm(params, 2 * norm), norm);
  EXPECT_EQ(params[1].grad.to_vector(), before);
}

TYPED_TEST(ClipGolden, NonFiniteNormThrowsAndLeavesGradientsUntouched) {
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    const ParameterList params = golden_parameters<TypeParam>();
    set_grads(params, optim_golden()["grads"][0]);
    Tensor weight_grad = params[1].grad;
    weight_grad.data<TypeParam>()[5] = static_cast<TypeParam>(bad);
    const std::vector<double> bias_before = params[0].grad.to_vector();
    const std::vector<TypeParam> weight_before(weight_grad.data<TypeParam>(),
                                               weight_grad.data<TypeParam>() + weight_grad.numel());
    expect_error([&] { clip_grad_norm(params, 0.1); }, "gradient norm is nan/inf");
    EXPECT_EQ(params[0].grad.to_vector(), bias_before);
    for (int64_t i = 0; i < weight_grad.numel(); ++i) {
      const TypeParam now = weight_grad.data<TypeParam>()[i];
      // Bit-identical, nan included.
      EXPECT_EQ(std::memcmp(&now, &weight_before[i], sizeof(TypeParam)), 0) << i;
    }
  }
}

TEST(Clip, IgnoresEntriesWithoutGradients) {
  ParameterList params = golden_parameters<double>();
  params[0].grad.fill(3.0);  // bias [5]
  params[1].grad.fill(0.0);  // weight [3,4]
  params.push_back(
      {"frozen", Tensor::zeros({2}, DType::f64), Tensor::full({2}, 1e9, DType::f64), false});
  params.push_back({"buffer", Tensor::zeros({2}, DType::f64), Tensor(), true});
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 1.0), std::sqrt(45.0));
  EXPECT_EQ(params[2].grad.item({0}), 1e9);
  EXPECT_EQ(clip_grad_norm(ParameterList{}, 1.0), 0.0);
}

TEST(Clip, MixesF32AndF64Gradients) {
  ParameterList params;
  params.push_back({"a", Tensor::zeros({1}, DType::f32), Tensor::full({1}, 3.0, DType::f32), true});
  params.push_back({"b", Tensor::zeros({1}, DType::f64), Tensor::full({1}, 4.0, DType::f64), true});
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 1.0), 5.0);
  EXPECT_NEAR(params[0].grad.item(), 3.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_DOUBLE_EQ(params[1].grad.item(), 4.0 * (1.0 / (5.0 + 1e-6)));
}

TEST(Clip, RejectsNonPositiveMaxNorm) {
  const ParameterList params = golden_parameters<double>();
  expect_error([&] { clip_grad_norm(params, 0.0); }, "expected max_norm > 0, got 0");
  expect_error([&] { clip_grad_norm(params, -1.0); }, "expected max_norm > 0, got -1");
}

}  // namespace
}  // namespace recur
