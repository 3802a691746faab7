// The PyTorch golden fixtures of the forecaster: tests/data/forecaster_<cell>.safetensors, by
// python_tools/make_forecaster_fixture.py, hold a 2-layer model's weights (PyTorch state_dict
// names), a history and its future ("input.history", "input.future"), PyTorch's forecasts of the
// future ahead and one step ahead ("output.ahead", "output.one_step"), and two training windows
// with their MSE and its gradients ("input.x", "input.y", "output.loss", "grad.<name>"), all in
// float64; the metadata "config" is ForecasterConfig::to_json().
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "layers/loss.h"
#include "models/forecast.h"
#include "support/compare.h"
#include "support/fixture_file.h"
#include "train/checkpoint.h"

namespace recur::testing {

using ForecasterFixture = ModelFixture<ForecasterConfig>;

inline ForecasterFixture load_forecaster_fixture(const std::string& cell) {
  return load_model_fixture<ForecasterConfig>("forecaster_" + cell);
}

inline Forecaster fixture_model(const ForecasterFixture& f, DType dtype) {
  Forecaster model(f.config, 5, dtype);
  load_state_dict(model.parameters(), fixture_weights(f.file), /*strict=*/true);
  return model;
}

inline Tensor vector_tensor(const std::vector<double>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

// The fixture's forecasts (ahead and one step ahead), training loss and every parameter gradient
// by a model of `dtype` at `where`, against PyTorch's.
inline void check_forecaster_against_pytorch(const std::string& cell, DType dtype,
                                             const Tolerance& tol, const Placement& where = {}) {
  SCOPED_TRACE(cell + " " + dtype_name(dtype) + " on " + where.describe());
  const ForecasterFixture f = load_forecaster_fixture(cell);
  const std::vector<double> history = f.at("input.history").to_vector();
  const std::vector<double> future = f.at("input.future").to_vector();
  // The scaling the fixture was written with is the one recur fits on the same history.
  const SeriesScaling fitted = SeriesScaling::fit(history, f.config.scaling.difference);
  EXPECT_NEAR(fitted.mean, f.config.scaling.mean, 1e-12 * std::fabs(f.config.scaling.mean));
  EXPECT_NEAR(fitted.scale, f.config.scaling.scale, 1e-12 * f.config.scaling.scale);

  Forecaster model = fixture_model(f, dtype);
  model.place(where);
  auto on_device = [&](const Tensor& t) { return where.device.is_cpu() ? t : t.to(where.device); };
  auto on_host = [](const Tensor& t) { return t.to(Device::cpu()); };
  const auto horizon = static_cast<int64_t>(future.size());
  expect_close(vector_tensor(forecast_ahead(model, history, horizon)), f.at("output.ahead"), tol,
               "ahead");
  expect_close(vector_tensor(forecast_one_step(model, history, future)), f.at("output.one_step"),
               tol, "one step");

  model.set_training(true);
  model.zero_grad();
  ForwardOptions keep;
  keep.keep_for_backward = true;
  const Forecaster::Output out = model.forward(on_device(f.at("input.x").to(dtype)), {}, keep);
  MeanSquaredError mse;
  const double loss = mse.forward(out.prediction, on_device(f.at("input.y").to(dtype)));
  EXPECT_NEAR(loss, f.at("output.loss").item({0}), tol.rtol * loss) << "loss";
  model.backward(mse.backward());
  int checked = 0;
  for (Parameter& p : model.parameters()) {
    expect_close(on_host(p.grad), f.at("grad." + p.name), tol, "grad of " + p.name);
    ++checked;
  }
  EXPECT_EQ(checked, f.config.layers * 4 + 2);
}

}  // namespace recur::testing
