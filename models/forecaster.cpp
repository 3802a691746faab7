#include "models/forecaster.h"

#include <algorithm>

#include "layers/linear.h"

namespace recur {

void ForecasterConfig::validate() const {
  RECUR_CHECK(window >= 1, "forecaster: window must be at least 1, got {}", window);
  check_feature_scaling(scaling, columns, std::max<int64_t>(features(), 1), "forecaster");
  recurrent().validate();
}

nlohmann::json ForecasterConfig::to_json() const {
  nlohmann::json j = {{"cell", cell_name(cell)}, {"hidden", hidden},
                      {"layers", layers},        {"dropout", dropout},
                      {"window", window},        {"scaling", scalings_to_json(scaling)}};
  if (!columns.empty()) j["columns"] = columns;  // (checkpoints before columns had none)
  return j;
}

ForecasterConfig ForecasterConfig::from_json(const nlohmann::json& j) {
  RECUR_CHECK(j.is_object(), "forecaster config: expected a JSON object, got {}", j.dump());
  ForecasterConfig c;
  try {
    c.cell = cell_from_name(j.at("cell").get<std::string>());
    c.hidden = j.at("hidden").get<int64_t>();
    c.layers = j.at("layers").get<int64_t>();
    c.dropout = j.value("dropout", 0.0);
    c.window = j.at("window").get<int64_t>();
    c.scaling = scalings_from_json(j.at("scaling"));
    c.columns = j.value("columns", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("forecaster config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

RecurrentConfig ForecasterConfig::recurrent() const {
  RecurrentConfig r;
  r.cell = cell;
  r.input_size = features();
  r.hidden_size = hidden;
  r.num_layers = layers;
  r.dropout = dropout;
  return r;
}

Forecaster::Forecaster(const ForecasterConfig& config, uint64_t seed, DType dtype)
    : config_(config), dtype_(dtype) {
  config_.validate();
  for (const char* in : {"z", "h0", "c0"}) graph_.add_input(in);
  Recurrent& rnn =
      graph_.add("rnn", Recurrent(config_.recurrent(), dtype, seed), {"z", "h0", "c0"});
  rnn.set_dropout_seed(seed + 2);
  graph_.add("head", Linear(config_.hidden, config_.features(), true, dtype, seed + 1), {"rnn:0"});
  graph_.set_outputs({"head", "rnn:1", "rnn:2"});
}

Forecaster::Output Forecaster::forward(const Tensor& z, const RecurrentState& state,
                                       const ForwardOptions& options) {
  check_shape(z, {"B", "T", config_.features()}, "forecaster input");
  std::vector<Tensor> out = graph_.forward({{"z", z}, {"h0", state.h}, {"c0", state.c}}, options);
  return {out[0], {out[1], out[2]}};
}

void Forecaster::backward(const Tensor& dprediction) {
  check_shape(dprediction, {"B", "T", config_.features()}, "forecaster dprediction");
  graph_.backward({dprediction, Tensor(), Tensor()});
}

void Forecaster::place(const Placement& where) {
  graph_.to(where.device);
  device_ = where.device;
  dynamic_cast<Recurrent&>(graph_.layer("rnn")).set_engine(where.engine);
  graph_.set_precision(where.precision);
}

}  // namespace recur
