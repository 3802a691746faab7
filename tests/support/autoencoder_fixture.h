// The PyTorch golden fixtures of the sequence autoencoder: tests/data/seq_autoencoder_<cell>
// .safetensors, by python_tools/make_autoencoder_fixture.py, hold a 2-layer model's weights
// (PyTorch state_dict names), a series ("input.series": [N], or [F,N] one column per feature),
// three model-space windows ("input.x")
// with their reconstruction, its MSE and that loss's gradients ("output.reconstruction",
// "output.loss", "grad.<name>"), and every value's anomaly score ("output.scores"), in float64;
// the metadata "config" is SeqAutoencoderConfig::to_json().
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "layers/loss.h"
#include "models/anomaly.h"
#include "support/compare.h"
#include "support/fixture_file.h"
#include "train/checkpoint.h"

namespace recur::testing {

using AutoencoderFixture = ModelFixture<SeqAutoencoderConfig>;

inline AutoencoderFixture load_autoencoder_fixture(const std::string& cell) {
  return load_model_fixture<SeqAutoencoderConfig>("seq_autoencoder_" + cell);
}

// The fixture's series as columns: [N] is one, [F,N] is F.
inline SeriesColumns autoencoder_fixture_columns(const AutoencoderFixture& f) {
  return fixture_columns(f.at("input.series"));
}

inline SeqAutoencoder autoencoder_fixture_model(const AutoencoderFixture& f, DType dtype) {
  SeqAutoencoder model(f.config, 5, dtype);
  load_state_dict(model.parameters(), fixture_weights(f.file), /*strict=*/true);
  return model;
}

// The fixture's reconstruction, loss, every parameter gradient and every value's anomaly score
// by a model of `dtype` at `where`, against PyTorch's.
inline void check_autoencoder_against_pytorch(const std::string& cell, DType dtype,
                                              const Tolerance& tol, const Placement& where = {}) {
  SCOPED_TRACE(cell + " " + dtype_name(dtype) + " on " + where.describe());
  const AutoencoderFixture f = load_autoencoder_fixture(cell);
  SeqAutoencoder model = autoencoder_fixture_model(f, dtype);
  model.place(where);
  auto on_device = [&](const Tensor& t) { return where.device.is_cpu() ? t : t.to(where.device); };
  auto on_host = [](const Tensor& t) { return t.to(Device::cpu()); };

  model.set_training(true);
  model.zero_grad();
  ForwardOptions keep;
  keep.keep_for_backward = true;
  const Tensor x = on_device(f.at("input.x").to(dtype));
  const Tensor reconstruction = model.forward(x, keep);
  expect_close(on_host(reconstruction), f.at("output.reconstruction"), tol, "reconstruction");
  MeanSquaredError mse;
  const double loss = mse.forward(reconstruction, x);
  EXPECT_NEAR(loss, f.at("output.loss").item({0}), tol.rtol * loss) << "loss";
  model.backward(mse.backward());
  int checked = 0;
  for (Parameter& p : model.parameters()) {
    expect_close(on_host(p.grad), f.at("grad." + p.name), tol, "grad of " + p.name);
    ++checked;
  }
  EXPECT_EQ(checked, 2 * f.config.layers * 4 + 2);  // encoder, decoder, head

  const std::vector<double> scores =
      reconstruction_scores(model, autoencoder_fixture_columns(f), /*batch=*/4);
  expect_close(Tensor::from_vector(scores, {static_cast<int64_t>(scores.size())}),
               f.at("output.scores"), tol, "anomaly scores");
}

}  // namespace recur::testing
