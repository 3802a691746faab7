// The PyTorch golden fixtures of the sequence classifier: tests/data/seq_classifier_<case>
// .safetensors, by python_tools/make_classifier_fixture.py, hold a 2-layer bidirectional
// classifier's weights (PyTorch state_dict names), a padded batch with unsorted lengths
// ("input.tokens", or "input.features" [B,T,F] for the case `features_lstm`, which has no
// embedding; "input.lengths", "input.targets"), and the logits, mean cross-entropy and every
// parameter gradient ("output.logits", "output.loss", "grad.<name>") PyTorch computes in float64
// through pack_padded_sequence and the last layer's h_n.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "layers/loss.h"
#include "models/seq_classifier.h"
#include "support/compare.h"
#include "support/fixture_file.h"
#include "train/checkpoint.h"

namespace recur::testing {

struct ClassifierFixture {
  SafetensorsFile file;
  SeqClassifierConfig config;
};

inline ClassifierFixture load_classifier_fixture(const std::string& name) {
  ClassifierFixture f{read_fixture("seq_classifier_" + name), {}};
  const nlohmann::json j = nlohmann::json::parse(f.file.metadata.at("config"));
  f.config.cell = cell_from_name(j.at("cell").get<std::string>());
  if (j.contains("features")) {  // raw inputs: names f0.., no standardisation
    for (int64_t i = 0; i < j.at("features").get<int64_t>(); ++i) {
      f.config.features.push_back("f" + std::to_string(i));
      f.config.feature_mean.push_back(0.0);
      f.config.feature_std.push_back(1.0);
    }
  } else {
    f.config.vocab = j.at("vocab");
    f.config.embed = j.at("embed");
  }
  f.config.hidden = j.at("hidden");
  f.config.layers = j.at("layers");
  f.config.bidirectional = j.at("bidirectional");
  for (int64_t c = 0; c < j.at("classes").get<int64_t>(); ++c)
    f.config.labels.push_back("class" + std::to_string(c));
  return f;
}

// Forward, loss and backward of the fixture's batch by a model of `dtype` at `where`; compares
// the logits, the loss and every parameter gradient with PyTorch's.
// The fixture's input batch for a model of `dtype`: tokens, or features converted to `dtype`.
inline Tensor classifier_fixture_inputs(const ClassifierFixture& f, DType dtype) {
  const TensorMap& t = f.file.tensors;
  return f.config.reads_features() ? t.at("input.features").to(dtype) : t.at("input.tokens");
}

inline void check_classifier_against_pytorch(const std::string& name, DType dtype,
                                             const Tolerance& tol, const Placement& where = {}) {
  SCOPED_TRACE(name + " " + dtype_name(dtype) + " on " + where.describe());
  const ClassifierFixture f = load_classifier_fixture(name);
  const TensorMap& t = f.file.tensors;
  SeqClassifier model(f.config, 99, dtype);
  load_state_dict(model.parameters(), fixture_weights(f.file), /*strict=*/true);
  model.place(where);
  auto on_device = [&](const Tensor& t) { return where.device.is_cpu() ? t : t.to(where.device); };
  auto on_host = [](const Tensor& t) { return t.to(Device::cpu()); };
  model.set_training(true);
  model.zero_grad();
  ForwardOptions keep;
  keep.keep_for_backward = true;
  const Tensor logits =
      model.forward(on_device(classifier_fixture_inputs(f, dtype)), t.at("input.lengths"), keep);
  expect_close(on_host(logits), t.at("output.logits"), tol, "logits");
  SoftmaxCrossEntropy xent;
  const double loss = xent.forward(logits, on_device(t.at("input.targets")));
  EXPECT_NEAR(loss, t.at("output.loss").item({0}), tol.rtol * std::fabs(loss)) << "loss";
  model.backward(xent.backward());
  int checked = 0;
  for (Parameter& p : model.parameters()) {
    expect_close(on_host(p.grad), t.at("grad." + p.name), tol, "grad of " + p.name);
    ++checked;
  }
  // embed (bytes only), rnn (2 directions), head
  EXPECT_EQ(checked, (f.config.reads_features() ? 0 : 1) + f.config.layers * 2 * 4 + 2);
}

}  // namespace recur::testing
