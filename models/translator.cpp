#include "models/translator.h"

#include <algorithm>
#include <numeric>

#include "kernels/embedding.h"
#include "layers/attention.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/merge_directions.h"
#include "models/beam_search.h"

namespace recur {

void TranslatorConfig::validate() const {
  RECUR_CHECK(vocab == 256, "translator: vocab must be 256 (byte tokens), got {}", vocab);
  RECUR_CHECK(embed >= 1, "translator: embed must be at least 1, got {}", embed);
  RECUR_CHECK(max_len >= 1, "translator: max_len must be at least 1, got {}", max_len);
  RECUR_CHECK(!bidirectional || hidden % 2 == 0,
              "translator: a bidirectional encoder splits hidden between its directions: expected "
              "an even hidden, got {}",
              hidden);
  RECUR_CHECK(dropout >= 0 && dropout < 1, "translator: dropout must be in [0, 1), got {}",
              dropout);
  encoder().validate();
  decoder().validate();
}

nlohmann::json TranslatorConfig::to_json() const {
  return {{"cell", cell_name(cell)}, {"vocab", vocab},    {"embed", embed},
          {"hidden", hidden},        {"layers", layers},  {"bidirectional", bidirectional},
          {"dropout", dropout},      {"max_len", max_len}};
}

TranslatorConfig TranslatorConfig::from_json(const nlohmann::json& j) {
  RECUR_CHECK(j.is_object(), "translator config: expected a JSON object, got {}", j.dump());
  TranslatorConfig c;
  try {
    c.cell = cell_from_name(j.at("cell").get<std::string>());
    c.vocab = j.at("vocab").get<int64_t>();
    c.embed = j.at("embed").get<int64_t>();
    c.hidden = j.at("hidden").get<int64_t>();
    c.layers = j.at("layers").get<int64_t>();
    c.bidirectional = j.value("bidirectional", false);  // absent in checkpoints before them
    c.dropout = j.value("dropout", 0.0);
    c.max_len = j.at("max_len").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("translator config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

RecurrentConfig TranslatorConfig::encoder() const {
  RecurrentConfig r = decoder();
  r.bidirectional = bidirectional;
  if (bidirectional) r.hidden_size = hidden / 2;
  return r;
}

RecurrentConfig TranslatorConfig::decoder() const {
  RecurrentConfig r;
  r.cell = cell;
  r.input_size = embed;
  r.hidden_size = hidden;
  r.num_layers = layers;
  r.dropout = dropout;
  return r;
}

Translator::Translator(const TranslatorConfig& config, uint64_t seed, DType dtype)
    : config_(config), dtype_(dtype) {
  config_.validate();
  for (const char* in : {"source", "source_lengths", "target_in", "target_lengths", "h0", "c0"})
    graph_.add_input(in);
  // `node` after dropout: the name of the dropout node that follows it, or `node` without one.
  uint32_t dropouts = 0;
  auto dropped = [&](const std::string& node) {
    if (config_.dropout == 0) return node;
    graph_.add(node + "_dropout", Dropout(config_.dropout, seed + 6, dropouts++), {node});
    return node + "_dropout";
  };
  graph_.add("source_embed", Embedding(config_.vocab, config_.embed, dtype, seed), {"source"});
  graph_.add("target_embed", Embedding(config_.vocab, config_.embed, dtype, seed + 1),
             {"target_in"});
  Recurrent& encoder = graph_.add("encoder", Recurrent(config_.encoder(), dtype, seed + 2),
                                  {dropped("source_embed"), "h0", "c0", "source_lengths"});
  std::vector<std::string> state{"encoder:1", "encoder:2"};
  if (config_.bidirectional) {
    graph_.add("encoder_state", MergeDirections(), state);
    state = {"encoder_state:0", "encoder_state:1"};
  }
  Recurrent& decoder = graph_.add("decoder", Recurrent(config_.decoder(), dtype, seed + 3),
                                  {dropped("target_embed"), state[0], state[1], "target_lengths"});
  encoder.set_dropout_seed(seed + 7);
  decoder.set_dropout_seed(seed + 8);
  graph_.add("attention", Attention(config_.hidden, dtype, seed + 4),
             {"decoder:0", "encoder:0", "source_lengths"});
  graph_.add("head", Linear(config_.hidden, config_.vocab, true, dtype, seed + 5),
             {dropped("attention")});
  graph_.set_outputs({"head", "attention:1"});
}

Tensor Translator::on_device(const Tensor& ids) const {
  return device_.is_cpu() ? ids : ids.to(device_);
}

Translator::Output Translator::forward(const TranslationBatch& batch,
                                       const ForwardOptions& options) {
  RECUR_CHECK(batch.target_in.defined(), "translator: expected a batch with targets");
  check_shape(batch.source, {"B", "S"}, "translator source");
  check_shape(batch.target_in, {batch.source.size(0), "T"}, "translator target_in");
  const std::vector<Tensor> out = graph_.forward({{"source", on_device(batch.source)},
                                                  {"source_lengths", batch.source_lengths},
                                                  {"target_in", on_device(batch.target_in)},
                                                  {"target_lengths", batch.target_lengths},
                                                  {"h0", Tensor()},
                                                  {"c0", Tensor()}},
                                                 options);
  return {out[0], out[1]};
}

void Translator::backward(const Tensor& dlogits) {
  check_shape(dlogits, {"B", "T", config_.vocab}, "translator dlogits");
  graph_.backward({dlogits, Tensor()});
}

namespace {

// Rows `ids` (each in [0, N)) of t [N, ...], in that order: [ids.size(), ...] on t's device.
Tensor pick_rows(const Tensor& t, const std::vector<int64_t>& ids) {
  const Tensor flat = t.contiguous().reshape({t.size(0), t.numel() / t.size(0)});
  Tensor ids_on = Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())});
  if (!t.device().is_cpu()) ids_on = ids_on.to(t.device());
  Tensor out =
      Tensor::empty({static_cast<int64_t>(ids.size()), flat.size(1)}, t.dtype(), t.device());
  embedding_fwd(ids_on, flat, out);  // a row gather
  Shape shape = t.shape();
  shape[0] = static_cast<int64_t>(ids.size());
  return out.reshape(shape);
}

// The batch rows `ids` of a recurrent state ([L*D,N,H] tensors): [L*D, ids.size(), H].
RecurrentState pick_state_rows(const RecurrentState& state, const std::vector<int64_t>& ids) {
  auto pick = [&](const Tensor& t) {
    if (!t.defined()) return t;
    const int64_t layers = t.size(0), N = t.size(1), M = static_cast<int64_t>(ids.size());
    std::vector<int64_t> flat_ids;
    flat_ids.reserve(static_cast<size_t>(layers * M));
    for (int64_t l = 0; l < layers; ++l)
      for (int64_t id : ids) flat_ids.push_back(l * N + id);
    return pick_rows(t.contiguous().reshape({layers * N, t.size(2)}), flat_ids)
        .reshape({layers, M, t.size(2)});
  };
  return {pick(state.h), pick(state.c)};
}

// ids picks every one of n rows, in order: picking them would copy the tensor unchanged.
bool picks_all(const std::vector<int64_t>& ids, int64_t n) {
  if (static_cast<int64_t>(ids.size()) != n) return false;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] != static_cast<int64_t>(i)) return false;
  return true;
}

// Eval mode for as long as it lives (a translation: no dropout, even between recurrent layers),
// then the mode the caller had.
class EvalMode {
 public:
  explicit EvalMode(Graph& graph)
      : graph_(graph), was_training_(graph.layer("decoder").training()) {
    graph_.set_training(false);
  }
  ~EvalMode() { graph_.set_training(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  Graph& graph_;
  bool was_training_;
};

}  // namespace

std::vector<std::string> Translator::translate(const std::vector<std::string_view>& sources,
                                               const DecodeOptions& options) {
  const int64_t max_tokens = options.max_tokens > 0 ? options.max_tokens : config_.max_len + 1;
  const TranslationBatch batch = make_source_batch(sources);
  const int64_t B = static_cast<int64_t>(sources.size()), K = options.beam;
  BeamSearch search(B, K, max_tokens, options.length_alpha, kBos, kEos);
  const ForwardOptions inference;  // keeps nothing for backward
  const EvalMode eval(graph_);
  auto& encoder = dynamic_cast<Recurrent&>(graph_.layer("encoder"));
  auto& decoder = dynamic_cast<Recurrent&>(graph_.layer("decoder"));
  const Tensor source =
      graph_.layer("source_embed").forward({on_device(batch.source)}, inference)[0];
  Recurrent::Output encoded = encoder.run(source, {}, batch.source_lengths, inference);
  if (config_.bidirectional) {
    const std::vector<Tensor> merged =
        graph_.layer("encoder_state")
            .forward({encoded.final_state.h, encoded.final_state.c}, inference);
    encoded.final_state = {merged[0], merged[1]};
  }

  // The decoder runs K rows for each source in `kept` (rows i*K..i*K+K-1 for kept[i]), each with
  // its source's keys, length and state. Finished sources are dropped once they are a quarter of
  // the rows: a batch waits for its longest translation, and each drop gathers the keys again.
  std::vector<int64_t> kept(static_cast<size_t>(B));
  std::iota(kept.begin(), kept.end(), int64_t{0});
  Tensor keys, lengths;  // [kept*K, S, H], [kept*K]
  auto gather_sources = [&] {
    std::vector<int64_t> source_of_row, key_lengths;
    for (int64_t s : kept)
      for (int64_t k = 0; k < K; ++k) {
        source_of_row.push_back(s);
        key_lengths.push_back(batch.source_lengths.data<int64_t>()[s]);
      }
    keys = picks_all(source_of_row, B) ? encoded.y : pick_rows(encoded.y, source_of_row);
    lengths = Tensor::from_vector(key_lengths, {static_cast<int64_t>(key_lengths.size())});
    return source_of_row;
  };
  const std::vector<int64_t> first_rows = gather_sources();
  RecurrentState state = picks_all(first_rows, B)
                             ? encoded.final_state
                             : pick_state_rows(encoded.final_state, first_rows);
  std::vector<double> scores(static_cast<size_t>(B * K * config_.vocab));  // [B*K, V]
  while (!search.done()) {
    const int64_t rows = static_cast<int64_t>(kept.size()) * K;
    const std::vector<int64_t> all_tokens = search.next_tokens();
    std::vector<int64_t> step_tokens;
    for (int64_t s : kept)
      for (int64_t k = 0; k < K; ++k)
        step_tokens.push_back(all_tokens[static_cast<size_t>(s * K + k)]);
    const Tensor tokens = on_device(Tensor::from_vector(step_tokens, {rows, 1}));
    const Tensor x = graph_.layer("target_embed").forward({tokens}, inference)[0];
    const Recurrent::Output decoded = decoder.run(x, state, {}, inference);
    const Tensor attended =
        graph_.layer("attention").forward({decoded.y, keys, lengths}, inference)[0];
    const Tensor logits = graph_.layer("head").forward({attended}, inference)[0].to(Device::cpu());
    const Tensor step_scores = logits.to(DType::f64).contiguous();  // [rows, 1, V]
    for (size_t i = 0; i < kept.size(); ++i)
      std::copy_n(step_scores.data<double>() + static_cast<int64_t>(i) * K * config_.vocab,
                  K * config_.vocab, scores.data() + kept[i] * K * config_.vocab);
    const std::vector<int64_t> parents = search.advance(scores.data(), config_.vocab);

    std::vector<int64_t> position(static_cast<size_t>(B), -1);  // of each kept source this step
    for (size_t i = 0; i < kept.size(); ++i)
      position[static_cast<size_t>(kept[i])] = static_cast<int64_t>(i);
    std::vector<int64_t> open;
    for (int64_t s : kept)
      if (!search.source_done(s)) open.push_back(s);
    const bool drop = !open.empty() && 4 * (kept.size() - open.size()) >= kept.size();
    if (drop) kept = open;
    std::vector<int64_t> state_rows;  // the row of this step's batch each next row continues
    for (int64_t s : kept)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t parent = parents[static_cast<size_t>(s * K + k)];
        state_rows.push_back(position[static_cast<size_t>(parent / K)] * K + parent % K);
      }
    state = picks_all(state_rows, rows) ? decoded.final_state
                                        : pick_state_rows(decoded.final_state, state_rows);
    if (drop) gather_sources();
  }
  std::vector<std::string> translations;
  for (const std::vector<int64_t>& tokens : search.best()) {
    std::string text;
    for (int64_t token : tokens) text += static_cast<char>(token);
    translations.push_back(std::move(text));
  }
  return translations;
}

void Translator::place(const Placement& where) {
  graph_.to(where.device);
  device_ = where.device;
  for (const char* rnn : {"encoder", "decoder"})
    dynamic_cast<Recurrent&>(graph_.layer(rnn)).set_engine(where.engine);
  graph_.set_precision(where.precision);
}

}  // namespace recur
