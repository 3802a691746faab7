#include "models/seq_classifier.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "layers/embedding.h"
#include "layers/final_hidden.h"
#include "layers/linear.h"

namespace recur {

void SeqClassifierConfig::validate() const {
  RECUR_CHECK(vocab >= 2, "classifier: vocab must be at least 2, got {}", vocab);
  RECUR_CHECK(embed >= 1, "classifier: embed must be at least 1, got {}", embed);
  RECUR_CHECK(feature_mean.size() == features.size() && feature_std.size() == features.size(),
              "classifier: expected a feature_mean and a feature_std for each of the {} features, "
              "got {} and {}",
              features.size(), feature_mean.size(), feature_std.size());
  RECUR_CHECK(!id_column.empty() && !label_column.empty() && id_column != label_column,
              "classifier: expected distinct, non-empty id and label columns, got '{}' and '{}'",
              id_column, label_column);
  for (size_t f = 0; f < features.size(); ++f)
    RECUR_CHECK(!features[f].empty() && std::isfinite(feature_mean[f]) &&
                    std::isfinite(feature_std[f]) && feature_std[f] > 0.0,
                "classifier: feature {} ('{}'): expected a name, a finite mean and a positive "
                "std, got {} and {}",
                f, features[f], feature_mean[f], feature_std[f]);
  RECUR_CHECK(max_len >= 1, "classifier: max_len must be at least 1, got {}", max_len);
  RECUR_CHECK(window_stride >= 0 && window_stride <= max_len,
              "classifier: expected a window stride in [1, max_len = {}] (0: no windows), got {}",
              max_len, window_stride);
  RECUR_CHECK(labels.size() >= 2, "classifier: expected at least 2 labels, got {}", labels.size());
  std::set<std::string> seen;
  for (const std::string& label : labels)
    RECUR_CHECK(!label.empty() && seen.insert(label).second,
                "classifier: labels must be distinct and non-empty, got '{}' twice or empty",
                label);
  recurrent().validate();
}

const char* window_vote_name(WindowVote vote) {
  return vote == WindowVote::log_mean ? "log_mean" : "mean";
}

WindowVote window_vote_from_name(const std::string& name) {
  for (WindowVote v : {WindowVote::mean, WindowVote::log_mean})
    if (name == window_vote_name(v)) return v;
  RECUR_FAIL("unknown window vote '{}': expected mean or log_mean", name);
}

std::vector<double> combine_windows(const std::vector<std::vector<double>>& windows,
                                    WindowVote vote) {
  RECUR_CHECK(!windows.empty(), "combine_windows: expected at least one window");
  const size_t C = windows[0].size();
  std::vector<double> out(C, 0.0);
  for (const std::vector<double>& p : windows) {
    RECUR_CHECK(p.size() == C, "combine_windows: expected {} probabilities per window, got {}", C,
                p.size());
    // A probability that underflowed to 0 counts as 1e-300: one window cannot veto a class.
    for (size_t c = 0; c < C; ++c)
      out[c] += vote == WindowVote::mean ? p[c] : std::log(std::max(p[c], 1e-300));
  }
  const auto W = static_cast<double>(windows.size());
  if (vote == WindowVote::mean) {
    for (double& v : out) v /= W;
    return out;
  }
  double top = -std::numeric_limits<double>::infinity(), sum = 0.0;
  for (double& v : out) top = std::max(top, v /= W);
  for (double& v : out) sum += (v = std::exp(v - top));
  for (double& v : out) v /= sum;
  return out;
}

nlohmann::json SeqClassifierConfig::to_json() const {
  return {{"cell", cell_name(cell)},
          {"vocab", vocab},
          {"embed", embed},
          {"hidden", hidden},
          {"layers", layers},
          {"bidirectional", bidirectional},
          {"dropout", dropout},
          {"labels", labels},
          {"max_len", max_len},
          {"window_stride", window_stride},
          {"window_vote", window_vote_name(window_vote)},
          {"features", features},
          {"feature_mean", feature_mean},
          {"feature_std", feature_std},
          {"id_column", id_column},
          {"label_column", label_column}};
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
    // Checkpoints written before numeric inputs read bytes.
    c.features = j.value("features", std::vector<std::string>{});
    c.feature_mean = j.value("feature_mean", std::vector<double>{});
    c.feature_std = j.value("feature_std", std::vector<double>{});
    c.id_column = j.value("id_column", std::string("id"));
    c.label_column = j.value("label_column", std::string("label"));
    c.window_stride = j.value("window_stride", int64_t{0});  // written before windows: none
    c.window_vote = window_vote_from_name(j.value("window_vote", std::string("mean")));
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("classifier config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

RecurrentConfig SeqClassifierConfig::recurrent() const {
  RecurrentConfig r;
  r.cell = cell;
  r.input_size = reads_features() ? static_cast<int64_t>(features.size()) : embed;
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
  for (const char* in : {"inputs", "h0", "c0", "lengths"}) graph_.add_input(in);
  if (!config_.reads_features())
    graph_.add("embed", Embedding(config_.vocab, config_.embed, dtype, seed), {"inputs"});
  const char* sequence = config_.reads_features() ? "inputs" : "embed";
  Recurrent& rnn =
      graph_.add("rnn", Recurrent(rc, dtype, seed + 1), {sequence, "h0", "c0", "lengths"});
  rnn.set_dropout_seed(seed + 2);
  graph_.add("features", FinalHidden(rc.directions()), {"rnn:1"});
  graph_.add("head", Linear(rc.output_size(), config_.classes(), true, dtype, seed + 3),
             {"features"});
  graph_.set_outputs({"head"});
}

Tensor SeqClassifier::forward(const Tensor& inputs, const Tensor& lengths,
                              const ForwardOptions& options) {
  if (config_.reads_features())
    check_shape(inputs, {"B", "T", static_cast<int64_t>(config_.features.size())},
                "classifier features");
  else
    check_shape(inputs, {"B", "T"}, "classifier tokens");
  return graph_.forward(
      {{"inputs", inputs}, {"h0", Tensor()}, {"c0", Tensor()}, {"lengths", lengths}}, options)[0];
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
