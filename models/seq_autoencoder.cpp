#include "models/seq_autoencoder.h"

#include "layers/linear.h"

namespace recur {

void SeqAutoencoderConfig::validate() const {
  RECUR_CHECK(window >= 1, "autoencoder: window must be at least 1, got {}", window);
  RECUR_CHECK(features >= 1, "autoencoder: features must be at least 1, got {}", features);
  check_feature_scaling(scaling, columns, features, "autoencoder");
  encoder().validate();
}

nlohmann::json SeqAutoencoderConfig::to_json() const {
  return {{"cell", cell_name(cell)}, {"features", features}, {"hidden", hidden},
          {"layers", layers},        {"window", window},     {"scaling", scalings_to_json(scaling)},
          {"columns", columns}};
}

SeqAutoencoderConfig SeqAutoencoderConfig::from_json(const nlohmann::json& j) {
  RECUR_CHECK(j.is_object(), "autoencoder config: expected a JSON object, got {}", j.dump());
  SeqAutoencoderConfig c;
  try {
    c.cell = cell_from_name(j.at("cell").get<std::string>());
    c.features = j.at("features").get<int64_t>();
    c.hidden = j.at("hidden").get<int64_t>();
    c.layers = j.at("layers").get<int64_t>();
    c.window = j.at("window").get<int64_t>();
    c.scaling = scalings_from_json(j.at("scaling"));
    c.columns = j.value("columns", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("autoencoder config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

RecurrentConfig SeqAutoencoderConfig::encoder() const {
  RecurrentConfig r;
  r.cell = cell;
  r.input_size = features;
  r.hidden_size = hidden;
  r.num_layers = layers;
  return r;
}

SeqAutoencoder::SeqAutoencoder(const SeqAutoencoderConfig& config, uint64_t seed, DType dtype)
    : config_(config), dtype_(dtype) {
  config_.validate();
  for (const char* in : {"x", "zeros"}) graph_.add_input(in);
  graph_.add("encoder", Recurrent(config_.encoder(), dtype, seed), {"x"});
  graph_.add("decoder", Recurrent(config_.encoder(), dtype, seed + 1),
             {"zeros", "encoder:1", "encoder:2"});
  graph_.add("head", Linear(config_.hidden, config_.features, true, dtype, seed + 2),
             {"decoder:0"});
  graph_.set_outputs({"head"});
}

Tensor SeqAutoencoder::forward(const Tensor& x, const ForwardOptions& options) {
  check_shape(x, {"B", "W", config_.features}, "autoencoder input");
  if (!zeros_.defined() || zeros_.shape() != x.shape() || zeros_.device() != x.device())
    zeros_ = Tensor::zeros(x.shape(), dtype_, x.device());
  return graph_.forward({{"x", x}, {"zeros", zeros_}}, options)[0];
}

void SeqAutoencoder::backward(const Tensor& dreconstruction) {
  check_shape(dreconstruction, {"B", "W", config_.features}, "autoencoder dreconstruction");
  graph_.backward({dreconstruction});
}

void SeqAutoencoder::place(const Placement& where) {
  graph_.to(where.device);
  device_ = where.device;
  zeros_ = Tensor();
  for (const char* rnn : {"encoder", "decoder"})
    dynamic_cast<Recurrent&>(graph_.layer(rnn)).set_engine(where.engine);
  graph_.set_precision(where.precision);
}

}  // namespace recur
