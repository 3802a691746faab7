// The PyTorch golden fixtures of the forecaster: tests/data/forecaster_<case>.safetensors (lstm,
// gru, features_lstm: two features), by python_tools/make_forecaster_fixture.py, hold a 2-layer
// model's weights (PyTorch state_dict names), a history and its future ("input.history",
// "input.future": [N] for one feature, [F,N] for F), PyTorch's forecasts of the future ahead and
// one step ahead ("output.ahead", "output.one_step"), and two training windows with their MSE
// and its gradients ("input.x", "input.y", "output.loss", "grad.<name>"), all in float64; the
// metadata "config" is ForecasterConfig::to_json().
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

inline ForecasterFixture load_forecaster_fixture(const std::string& name) {
  return load_model_fixture<ForecasterConfig>("forecaster_" + name);
}

inline Forecaster fixture_model(const ForecasterFixture& f, DType dtype) {
  Forecaster model(f.config, 5, dtype);
  load_state_dict(model.parameters(), fixture_weights(f.file), /*strict=*/true);
  return model;
}

// Columns [F][K] as a fixture stores them: [K] for one, [F,K] for F.
inline Tensor columns_tensor(const SeriesColumns& columns) {
  std::vector<double> values;
  for (const auto& c : columns) values.insert(values.end(), c.begin(), c.end());
  const auto F = static_cast<int64_t>(columns.size()), K = static_cast<int64_t>(columns[0].size());
  return F == 1 ? Tensor::from_vector(values, {K}) : Tensor::from_vector(values, {F, K});
}

// The fixture's forecasts (ahead and one step ahead), training loss and every parameter gradient
// by a model of `dtype` at `where`, against PyTorch's.
inline void check_forecaster_against_pytorch(const std::string& name, DType dtype,
                                             const Tolerance& tol, const Placement& where = {}) {
  SCOPED_TRACE(name + " " + dtype_name(dtype) + " on " + where.describe());
  const ForecasterFixture f = load_forecaster_fixture(name);
  const SeriesColumns history = fixture_columns(f.at("input.history"));
  const SeriesColumns future = fixture_columns(f.at("input.future"));
  // The scaling the fixture was written with is the one recur fits on the same history.
  const std::vector<SeriesScaling> fitted = fit_scalings(history, f.config.difference());
  ASSERT_EQ(fitted.size(), f.config.scaling.size());
  for (size_t k = 0; k < fitted.size(); ++k) {
    const SeriesScaling& theirs = f.config.scaling[k];
    EXPECT_NEAR(fitted[k].mean, theirs.mean, 1e-12 * std::fabs(theirs.mean));
    EXPECT_NEAR(fitted[k].scale, theirs.scale, 1e-12 * theirs.scale);
  }

  Forecaster model = fixture_model(f, dtype);
  model.place(where);
  auto on_device = [&](const Tensor& t) { return where.device.is_cpu() ? t : t.to(where.device); };
  auto on_host = [](const Tensor& t) { return t.to(Device::cpu()); };
  const auto horizon = static_cast<int64_t>(future[0].size());
  expect_close(columns_tensor(forecast_ahead(model, history, horizon)), f.at("output.ahead"), tol,
               "ahead");
  expect_close(columns_tensor(forecast_one_step(model, history, future)), f.at("output.one_step"),
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
