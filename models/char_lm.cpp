#include "models/char_lm.h"

#include "layers/embedding.h"
#include "layers/linear.h"

namespace recur {

void CharLMConfig::validate() const {
  RECUR_CHECK(vocab >= 2, "char LM: vocab must be at least 2, got {}", vocab);
  RECUR_CHECK(embed >= 1, "char LM: embed must be at least 1, got {}", embed);
  recurrent().validate();
}

nlohmann::json CharLMConfig::to_json() const {
  return {{"cell", cell_name(cell)}, {"vocab", vocab},   {"embed", embed},
          {"hidden", hidden},        {"layers", layers}, {"dropout", dropout}};
}

CharLMConfig CharLMConfig::from_json(const nlohmann::json& j) {
  RECUR_CHECK(j.is_object(), "char LM config: expected a JSON object, got {}", j.dump());
  CharLMConfig c;
  try {
    c.cell = cell_from_name(j.at("cell").get<std::string>());
    c.vocab = j.at("vocab").get<int64_t>();
    c.embed = j.at("embed").get<int64_t>();
    c.hidden = j.at("hidden").get<int64_t>();
    c.layers = j.at("layers").get<int64_t>();
    c.dropout = j.value("dropout", 0.0);
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("char LM config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

RecurrentConfig CharLMConfig::recurrent() const {
  RecurrentConfig r;
  r.cell = cell;
  r.input_size = embed;
  r.hidden_size = hidden;
  r.num_layers = layers;
  r.dropout = dropout;
  return r;
}

CharLM::CharLM(const CharLMConfig& config, uint64_t seed) : config_(config) {
  config_.validate();
  for (const char* in : {"tokens", "h0", "c0", "lengths"}) graph_.add_input(in);
  graph_.add("embed", Embedding(config_.vocab, config_.embed, DType::f32, seed), {"tokens"});
  Recurrent& rnn = graph_.add("rnn", Recurrent(config_.recurrent(), DType::f32, seed + 1),
                              {"embed", "h0", "c0", "lengths"});
  rnn.set_dropout_seed(seed + 2);
  graph_.add("head", Linear(config_.hidden, config_.vocab, true, DType::f32, seed + 3), {"rnn:0"});
  graph_.set_outputs({"head", "rnn:1", "rnn:2"});
}

CharLM::Output CharLM::forward(const Tensor& tokens, const RecurrentState& state,
                               const Tensor& lengths, const ForwardOptions& options) {
  check_shape(tokens, {"B", "T"}, "char LM tokens");
  std::vector<Tensor> out = graph_.forward(
      {{"tokens", tokens}, {"h0", state.h}, {"c0", state.c}, {"lengths", lengths}}, options);
  return {out[0], {out[1], out[2]}};
}

void CharLM::backward(const Tensor& dlogits) {
  graph_.backward({dlogits, Tensor(), Tensor()});
}

std::string Placement::describe() const {
  return device.name() + ", engine " + engine_name(engine) + ", " + precision_name(precision) +
         " math";
}

void CharLM::set_engine(Engine engine) {
  dynamic_cast<Recurrent&>(graph_.layer("rnn")).set_engine(engine);
}

void CharLM::place(const Placement& where) {
  to(where.device);
  set_engine(where.engine);
  graph_.set_precision(where.precision);
}

void reset_state_row(RecurrentState& state, int64_t b) {
  for (Tensor* t : {&state.h, &state.c}) {
    if (!t->defined()) continue;
    for (int64_t layer = 0; layer < t->size(0); ++layer) t->select(0, layer).select(0, b).zero();
  }
}

}  // namespace recur
