#include "models/seq_classifier.h"

#include <set>

#include "layers/embedding.h"
#include "layers/final_hidden.h"
#include "layers/linear.h"

namespace recur {

void SeqClassifierConfig::validate() const {
  RECUR_CHECK(vocab >= 2, "classifier: vocab must be at least 2, got {}", vocab);
  RECUR_CHECK(embed >= 1, "classifier: embed must be at least 1, got {}", embed);
  RECUR_CHECK(max_len >= 1, "classifier: max_len must be at least 1, got {}", max_len);
  RECUR_CHECK(labels.size() >= 2, "classifier: expected at least 2 labels, got {}", labels.size());
  std::set<std::string> seen;
  for (const std::string& label : labels)
    RECUR_CHECK(!label.empty() && seen.insert(label).second,
                "classifier: labels must be distinct and non-empty, got '{}' twice or empty",
                label);
  recurrent().validate();
}

nlohmann::json SeqClassifierConfig::to_json() const {
  return {{"cell", cell_name(cell)}, {"vocab", vocab},   {"embed", embed},
          {"hidden", hidden},        {"layers", layers}, {"bidirectional", bidirectional},
          {"dropout", dropout},      {"labels", labels}, {"max_len", max_len}};
}

SeqClassifierConfig SeqClassifierConfig::from_json(const nlohmann::json& j) {
  RECUR_CHECK(j.is_object(), "classifier config: expected a JSON object, got {}", j.dump());
  SeqClassifierConfig c;
  try {
    c.cell = cell_from_name(j.at("cell").get<std::string>());
    c.vocab = j.at("vocab").get<int64_t>();
    c.embed = j.at("embed").get<int64_t>();
    c.hidden = j.at("hidden").get<int64_t>();
    c.layers = j.at("layers").get<int64_t>();
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.dropout = j.value("dropout", 0.0);
    c.labels = j.at("labels").get<std::vector<std::string>>();
    c.max_len = j.at("max_len").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("classifier config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

RecurrentConfig SeqClassifierConfig::recurrent() const {
  RecurrentConfig r;
  r.cell = cell;
  r.input_size = embed;
  r.hidden_size = hidden;
  r.num_layers = layers;
  r.bidirectional = bidirectional;
  r.dropout = dropout;
  return r;
}

SeqClassifier::SeqClassifier(const SeqClassifierConfig& config, uint64_t seed, DType dtype)
    : config_(config) {
  config_.validate();
  const RecurrentConfig rc = config_.recurrent();
  for (const char* in : {"tokens", "h0", "c0", "lengths"}) graph_.add_input(in);
  graph_.add("embed", Embedding(config_.vocab, config_.embed, dtype, seed), {"tokens"});
  Recurrent& rnn =
      graph_.add("rnn", Recurrent(rc, dtype, seed + 1), {"embed", "h0", "c0", "lengths"});
  rnn.set_dropout_seed(seed + 2);
  graph_.add("features", FinalHidden(rc.directions()), {"rnn:1"});
  graph_.add("head", Linear(rc.output_size(), config_.classes(), true, dtype, seed + 3),
             {"features"});
  graph_.set_outputs({"head"});
}

Tensor SeqClassifier::forward(const Tensor& tokens, const Tensor& lengths,
                              const ForwardOptions& options) {
  check_shape(tokens, {"B", "T"}, "classifier tokens");
  return graph_.forward(
      {{"tokens", tokens}, {"h0", Tensor()}, {"c0", Tensor()}, {"lengths", lengths}}, options)[0];
}

void SeqClassifier::backward(const Tensor& dlogits) {
  check_shape(dlogits, {"B", config_.classes()}, "classifier dlogits");
  graph_.backward({dlogits});
}

void SeqClassifier::place(const Placement& where) {
  graph_.to(where.device);
  device_ = where.device;
  dynamic_cast<Recurrent&>(graph_.layer("rnn")).set_engine(where.engine);
  graph_.set_precision(where.precision);
}

}  // namespace recur
