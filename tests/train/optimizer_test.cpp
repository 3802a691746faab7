// SGD, Adam and AdamW against PyTorch's trajectories (tests/data/optim_golden.json) in f32 and
// f64, the state save/load round trip, and the errors of the optimizer interface.
#include "train/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "tests/train/optim_golden.h"
#include "train/adam.h"
#include "train/sgd.h"

namespace recur {
namespace {

using test::expect_bitwise_equal;
using test::expect_error;
using test::golden_optimizer;
using test::golden_parameters;
using test::optim_golden;
using test::set_grads;

// Sets the golden gradients of step k (and that step's lr, for cases that change it) and steps.
void golden_step(Optimizer& opt, const nlohmann::json& golden_case, size_t k) {
  set_grads(opt.parameters(), optim_golden()["grads"][k]);
  if (golden_case.contains("lrs")) opt.set_lr(golden_case["lrs"][k].get<double>());
  opt.step();
}

template <class T>
void expect_matches_pytorch(const std::string& name) {
  const nlohmann::json& golden_case = golden_optimizer(name);
  const ParameterList params = golden_parameters<T>();
  std::unique_ptr<Optimizer> opt = make_optimizer(params, golden_case["config"]);
  const nlohmann::json& trajectory = golden_case["trajectory"];
  ASSERT_EQ(trajectory.size(), optim_golden()["grads"].size());
  for (size_t k = 0; k < trajectory.size(); ++k) {
    golden_step(*opt, golden_case, k);
    EXPECT_EQ(opt->steps(), static_cast<int64_t>(k + 1));
    for (const Parameter& p : params)
      test::expect_values_near(p.value, trajectory[k][p.name].get<std::vector<double>>(),
                               test::golden_tolerance<T>(),
                               fmt::format("{} {} after step {}", name, p.name, k + 1));
  }
}

const std::vector<std::string> kGoldenCases = {
    "sgd_plain",         "sgd_momentum_dampening_weight_decay",
    "sgd_nesterov",      "adam",
    "adam_weight_decay", "adamw",
    "adamw_changing_lr"};

template <class T>
class OptimizerGolden : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(OptimizerGolden, FloatTypes);

TYPED_TEST(OptimizerGolden, SgdPlainMatchesPyTorch) {
  expect_matches_pytorch<TypeParam>("sgd_plain");
}
TYPED_TEST(OptimizerGolden, SgdMomentumDampeningWeightDecayMatchesPyTorch) {
  expect_matches_pytorch<TypeParam>("sgd_momentum_dampening_weight_decay");
}
TYPED_TEST(OptimizerGolden, SgdNesterovMatchesPyTorch) {
  expect_matches_pytorch<TypeParam>("sgd_nesterov");
}
TYPED_TEST(OptimizerGolden, AdamMatchesPyTorch) {
  expect_matches_pytorch<TypeParam>("adam");
}
TYPED_TEST(OptimizerGolden, AdamWeightDecayMatchesPyTorch) {
  expect_matches_pytorch<TypeParam>("adam_weight_decay");
}
TYPED_TEST(OptimizerGolden, AdamWMatchesPyTorch) {
  expect_matches_pytorch<TypeParam>("adamw");
}
TYPED_TEST(OptimizerGolden, AdamWWithChangingLrMatchesPyTorch) {
  expect_matches_pytorch<TypeParam>("adamw_changing_lr");
}

// Step 3 times, save, build a new optimizer on a copy of the parameters, load, step twice: the
// same bits as 5 steps straight. The state goes through a JSON string and cloned tensors, as it
// would through a checkpoint.
TYPED_TEST(OptimizerGolden, StateRoundTripContinuesBitIdentically) {
  for (const std::string& name : kGoldenCases) {
    SCOPED_TRACE(name);
    const nlohmann::json& golden_case = golden_optimizer(name);
    const ParameterList straight_params = golden_parameters<TypeParam>();
    auto straight = make_optimizer(straight_params, golden_case["config"]);
    for (size_t k = 0; k < 5; ++k) golden_step(*straight, golden_case, k);

    const ParameterList first_params = golden_parameters<TypeParam>();
    auto first = make_optimizer(first_params, golden_case["config"]);
    for (size_t k = 0; k < 3; ++k) golden_step(*first, golden_case, k);
    TensorMap saved_tensors;
    for (const auto& [key, t] : first->state_tensors()) saved_tensors[key] = t.clone();
    const nlohmann::json saved_scalars = nlohmann::json::parse(first->state_scalars().dump());

    ParameterList resumed_params = golden_parameters<TypeParam>();
    for (size_t i = 0; i < resumed_params.size(); ++i)
      resumed_params[i].value.copy_from(first_params[i].value);
    auto resumed = make_optimizer(resumed_params, saved_scalars);
    resumed->load_state(saved_tensors, saved_scalars);
    EXPECT_EQ(resumed->steps(), 3);
    EXPECT_EQ(resumed->lr(), first->lr());
    EXPECT_EQ(resumed->state_scalars(), first->state_scalars());
    for (size_t k = 3; k < 5; ++k) golden_step(*resumed, golden_case, k);

    EXPECT_EQ(resumed->steps(), 5);
    for (size_t i = 0; i < straight_params.size(); ++i)
      expect_bitwise_equal(resumed_params[i].value, straight_params[i].value,
                           straight_params[i].name);
    const TensorMap straight_state = straight->state_tensors();
    const TensorMap resumed_state = resumed->state_tensors();
    ASSERT_EQ(straight_state.size(), resumed_state.size());
    for (const auto& [key, t] : straight_state) expect_bitwise_equal(resumed_state.at(key), t, key);
  }
}

TEST(OptimizerGoldenFile, HoldsExactlyTheTestedCases) {
  std::set<std::string> names;
  for (const nlohmann::json& c : optim_golden()["optimizers"]) names.insert(c["name"]);
  EXPECT_EQ(names, std::set<std::string>(kGoldenCases.begin(), kGoldenCases.end()));
}

TEST(OptimizerState, NamesBuffersByParameter) {
  const ParameterList params = golden_parameters<double>();
  Adam adam(params);
  const TensorMap adam_state = adam.state_tensors();
  EXPECT_EQ(adam_state.size(), 4u);
  EXPECT_EQ(adam_state.at("exp_avg.weight").shape(), (Shape{3, 4}));
  EXPECT_EQ(adam_state.at("exp_avg_sq.bias").shape(), (Shape{5}));
  const nlohmann::json scalars = adam.state_scalars();
  EXPECT_EQ(scalars["name"], "adam");
  EXPECT_EQ(scalars["step"], 0);
  EXPECT_EQ(scalars["lr"], 1e-3);
  EXPECT_EQ(scalars["betas"], nlohmann::json({0.9, 0.999}));

  SgdOptions momentum;
  momentum.lr = 0.1;
  momentum.momentum = 0.9;
  Sgd sgd(params, momentum);
  EXPECT_EQ(sgd.state_tensors().count("momentum_buffer.weight"), 1u);
  SgdOptions plain;
  Sgd plain_sgd(params, plain);
  EXPECT_TRUE(plain_sgd.state_tensors().empty());
}

TEST(OptimizerState, LoadRestoresSavedHyperparametersAsPyTorch) {
  const ParameterList params = golden_parameters<double>();
  AdamW saved(params);
  saved.set_lr(0.25);
  nlohmann::json scalars = saved.state_scalars();
  scalars["betas"] = {0.5, 0.75};
  AdamW loaded(golden_parameters<double>());
  loaded.load_state(saved.state_tensors(), scalars);
  EXPECT_EQ(loaded.lr(), 0.25);
  EXPECT_EQ(loaded.options().beta1, 0.5);
  EXPECT_EQ(loaded.options().beta2, 0.75);
  EXPECT_EQ(loaded.options().weight_decay, 1e-2);  // AdamW's default, saved and restored
}

TEST(OptimizerState, LoadingWithAMissingTensorThrowsAndChangesNothing) {
  const ParameterList params = golden_parameters<double>();
  Adam saved(params);
  set_grads(params, optim_golden()["grads"][0]);
  saved.step();
  TensorMap tensors = saved.state_tensors();
  tensors.erase("exp_avg_sq.weight");

  Adam target(golden_parameters<double>());
  expect_error([&] { target.load_state(tensors, saved.state_scalars()); },
               "missing tensor 'exp_avg_sq.weight' (expected shape [3,4])");
  EXPECT_EQ(target.steps(), 0);
  for (const auto& [key, t] : target.state_tensors())
    EXPECT_EQ(t.to_vector(), std::vector<double>(t.numel(), 0.0)) << key;
}

TEST(OptimizerState, LoadingAMismatchedShapeThrows) {
  const ParameterList params = golden_parameters<float>();
  SgdOptions o;
  o.momentum = 0.9;
  Sgd sgd(params, o);
  TensorMap tensors = sgd.state_tensors();
  tensors["momentum_buffer.weight"] = Tensor::zeros({4, 3}, DType::f32);
  expect_error([&] { sgd.load_state(tensors, sgd.state_scalars()); },
               "'momentum_buffer.weight' expected shape [3,4], got [4,3]");
}

TEST(OptimizerState, LoadingAnotherOptimizersStateThrows) {
  const ParameterList params = golden_parameters<double>();
  Adam adam(params);
  AdamW adamw(params);
  expect_error([&] { adam.load_state(adamw.state_tensors(), adamw.state_scalars()); },
               "expected name \"adam\", got \"adamw\"");
  nlohmann::json no_step = adam.state_scalars();
  no_step.erase("step");
  expect_error([&] { adam.load_state(adam.state_tensors(), no_step); }, "\"step\"");
}

TEST(OptimizerState, LoadConvertsBuffersToTheParameterDtype) {
  Adam f64(golden_parameters<double>());
  set_grads(f64.parameters(), optim_golden()["grads"][0]);
  f64.step();
  Adam f32(golden_parameters<float>());
  f32.load_state(f64.state_tensors(), f64.state_scalars());
  EXPECT_EQ(f32.state_tensors().at("exp_avg.bias").dtype(), DType::f32);
  EXPECT_EQ(f32.steps(), 1);
}

TEST(Optimizer, SkipsBuffersAndParametersWithoutGrad) {
  ParameterList params = golden_parameters<double>();
  Tensor frozen = Tensor::full({2}, 7.0, DType::f64);
  params.push_back({"frozen", frozen, Tensor::zeros({2}, DType::f64), false});
  params.push_back({"running_mean", Tensor::full({2}, 3.0, DType::f64), Tensor(), true});
  SgdOptions o;
  o.lr = 1.0;
  Sgd sgd(params, o);
  ASSERT_EQ(sgd.parameters().size(), 2u);
  set_grads(sgd.parameters(), optim_golden()["grads"][0]);
  params[2].grad.fill(1.0);
  sgd.step();
  EXPECT_EQ(frozen.to_vector(), (std::vector<double>{7.0, 7.0}));
  EXPECT_EQ(params[3].value.to_vector(), (std::vector<double>{3.0, 3.0}));
}

TEST(Optimizer, UpdatesTheLayersStorageInPlace) {
  ParameterList params = golden_parameters<double>();
  Tensor weight = params[1].value;  // the layer's own handle
  const double before = weight.item({0, 0});
  SgdOptions o;
  o.lr = 0.5;
  Sgd sgd(params, o);
  params[1].grad.fill(2.0);
  sgd.step();
  EXPECT_EQ(weight.item({0, 0}), before - 1.0);
  sgd.zero_grad();
  EXPECT_EQ(params[1].grad.item({0, 0}), 0.0);
}

TEST(Optimizer, RejectsParametersItCannotTrain) {
  expect_error([] { Adam adam(ParameterList{}); }, "expected at least one parameter");
  ParameterList bad_grad = {
      {"w", Tensor::zeros({2, 3}, DType::f32), Tensor::zeros({3, 2}, DType::f32), true}};
  expect_error([&] { Adam adam(bad_grad); }, "parameter 'w': expected a grad of shape [2,3]");
  ParameterList ints = {
      {"w", Tensor::zeros({2}, DType::i32), Tensor::zeros({2}, DType::i32), true}};
  expect_error([&] { Adam adam(ints); }, "expected dtype f32 or f64, got i32");
  ParameterList twice = golden_parameters<float>();
  twice.push_back(twice[0]);
  expect_error([&] { Adam adam(twice); }, "expected unique parameter names");
}

TEST(Optimizer, SetLrRejectsNegativeAndNonFiniteValues) {
  Adam adam(golden_parameters<double>());
  expect_error([&] { adam.set_lr(-0.1); }, "expected lr >= 0, got -0.1");
  expect_error([&] { adam.set_lr(std::numeric_limits<double>::quiet_NaN()); }, "expected lr >= 0");
  adam.set_lr(0.5);
  EXPECT_EQ(adam.lr(), 0.5);
  EXPECT_EQ(adam.options().lr, 0.5);
}

TEST(Optimizer, MakeOptimizerRejectsBadConfigs) {
  const ParameterList params = golden_parameters<double>();
  expect_error(
      [&] {
        make_optimizer(params, {{"name", "rmsprop"}, {"lr", 0.1}});
      },
      "got \"rmsprop\"");
  expect_error([&] { make_optimizer(params, {{"lr", 0.1}}); }, "expected \"name\"");
  expect_error([&] { make_optimizer(params, {{"name", "sgd"}}); }, "missing \"lr\"");
  expect_error(
      [&] {
        make_optimizer(params, {{"name", "sgd"}, {"lr", 0.1}, {"momentun", 0.9}});
      },
      "unknown key \"momentun\"");
  expect_error(
      [&] {
        make_optimizer(params, {{"name", "adam"}, {"betas", {0.9}}});
      },
      "expected \"betas\": [beta1, beta2]");
  expect_error(
      [&] {
        make_optimizer(params, {{"name", "adam"}, {"lr", "fast"}});
      },
      "expected \"lr\" to be a number");
  EXPECT_EQ(make_optimizer(params, {{"name", "adamw"}})->state_scalars()["weight_decay"], 1e-2);
}

TEST(Sgd, NesterovNeedsMomentumAndNoDampening) {
  const ParameterList params = golden_parameters<double>();
  SgdOptions o;
  o.nesterov = true;
  expect_error([&] { Sgd sgd(params, o); }, "nesterov expects momentum > 0 and dampening == 0");
  o.momentum = 0.9;
  o.dampening = 0.1;
  expect_error([&] { Sgd sgd(params, o); }, "nesterov expects momentum > 0 and dampening == 0");
  o.dampening = 0.0;
  Sgd sgd(params, o);
  EXPECT_TRUE(sgd.options().nesterov);
}

TEST(Sgd, RejectsNegativeHyperparameters) {
  const ParameterList params = golden_parameters<double>();
  SgdOptions o;
  o.lr = -0.1;
  expect_error([&] { Sgd sgd(params, o); }, "SGD: expected lr >= 0, got -0.1");
  o.lr = 0.1;
  o.momentum = -0.5;
  expect_error([&] { Sgd sgd(params, o); }, "expected momentum >= 0");
  o.momentum = 0;
  o.weight_decay = -1;
  expect_error([&] { Sgd sgd(params, o); }, "expected weight_decay >= 0");
}

TEST(Sgd, FirstMomentumStepTakesTheGradientAsBuffer) {
  const ParameterList params = golden_parameters<double>();
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.dampening = 0.5;  // not applied on the first step, as in PyTorch
  Sgd sgd(params, o);
  set_grads(params, optim_golden()["grads"][0]);
  sgd.step();
  expect_bitwise_equal(sgd.state_tensors().at("momentum_buffer.weight"), params[1].grad,
                       "momentum_buffer.weight");
}

TEST(Adam, RejectsInvalidHyperparameters) {
  const ParameterList params = golden_parameters<double>();
  AdamOptions o;
  o.lr = -1e-3;
  expect_error([&] { Adam adam(params, o); }, "Adam: expected lr >= 0, got -0.001");
  o = AdamOptions();
  o.beta1 = 1.0;
  expect_error([&] { Adam adam(params, o); }, "expected 0 <= beta1 < 1, got 1");
  o = AdamOptions();
  o.beta2 = -0.1;
  expect_error([&] { Adam adam(params, o); }, "expected 0 <= beta2 < 1");
  o = AdamOptions();
  o.eps = -1e-8;
  expect_error([&] { AdamW adamw(params, o); }, "expected eps >= 0");
}

}  // namespace
}  // namespace recur
