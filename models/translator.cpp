#include "models/translator.h"

#include "layers/attention.h"
#include "layers/embedding.h"
#include "layers/linear.h"

namespace recur {

void TranslatorConfig::validate() const {
  RECUR_CHECK(vocab == 256, "translator: vocab must be 256 (byte tokens), got {}", vocab);
  RECUR_CHECK(embed >= 1, "translator: embed must be at least 1, got {}", embed);
  RECUR_CHECK(max_len >= 1, "translator: max_len must be at least 1, got {}", max_len);
  encoder().validate();
}

nlohmann::json TranslatorConfig::to_json() const {
  return {{"cell", cell_name(cell)}, {"vocab", vocab},   {"embed", embed},
          {"hidden", hidden},        {"layers", layers}, {"max_len", max_len}};
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
    c.max_len = j.at("max_len").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("translator config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

RecurrentConfig TranslatorConfig::encoder() const {
  RecurrentConfig r;
  r.cell = cell;
  r.input_size = embed;
  r.hidden_size = hidden;
  r.num_layers = layers;
  return r;
}

Translator::Translator(const TranslatorConfig& config, uint64_t seed, DType dtype)
    : config_(config), dtype_(dtype) {
  config_.validate();
  for (const char* in : {"source", "source_lengths", "target_in", "target_lengths", "h0", "c0"})
    graph_.add_input(in);
  graph_.add("source_embed", Embedding(config_.vocab, config_.embed, dtype, seed), {"source"});
  graph_.add("target_embed", Embedding(config_.vocab, config_.embed, dtype, seed + 1),
             {"target_in"});
  graph_.add("encoder", Recurrent(config_.encoder(), dtype, seed + 2),
             {"source_embed", "h0", "c0", "source_lengths"});
  graph_.add("decoder", Recurrent(config_.encoder(), dtype, seed + 3),
             {"target_embed", "encoder:1", "encoder:2", "target_lengths"});
  graph_.add("attention", Attention(config_.hidden, dtype, seed + 4),
             {"decoder:0", "encoder:0", "source_lengths"});
  graph_.add("head", Linear(config_.hidden, config_.vocab, true, dtype, seed + 5), {"attention:0"});
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

std::vector<std::string> Translator::translate(const std::vector<std::string_view>& sources,
                                               int64_t max_tokens) {
  if (max_tokens <= 0) max_tokens = config_.max_len + 1;
  const TranslationBatch batch = make_source_batch(sources);
  const int64_t B = static_cast<int64_t>(sources.size()), V = config_.vocab;
  const ForwardOptions inference;  // keeps nothing for backward
  auto& encoder = dynamic_cast<Recurrent&>(graph_.layer("encoder"));
  auto& decoder = dynamic_cast<Recurrent&>(graph_.layer("decoder"));
  const Tensor source =
      graph_.layer("source_embed").forward({on_device(batch.source)}, inference)[0];
  const Recurrent::Output encoded = encoder.run(source, {}, batch.source_lengths, inference);

  RecurrentState state = encoded.final_state;
  std::vector<int64_t> previous(static_cast<size_t>(B), kBos);
  std::vector<std::string> translations(static_cast<size_t>(B));
  std::vector<bool> done(static_cast<size_t>(B), false);
  int64_t open = B;
  for (int64_t step = 0; step < max_tokens && open > 0; ++step) {
    const Tensor tokens = on_device(Tensor::from_vector(previous, {B, 1}));
    const Tensor x = graph_.layer("target_embed").forward({tokens}, inference)[0];
    const Recurrent::Output decoded = decoder.run(x, state, {}, inference);
    state = decoded.final_state;
    const Tensor attended =
        graph_.layer("attention")
            .forward({decoded.y, encoded.y, batch.source_lengths}, inference)[0];
    const Tensor logits = graph_.layer("head").forward({attended}, inference)[0].to(Device::cpu());
    const Tensor scores = logits.to(DType::f64);  // [B,1,V]
    for (int64_t b = 0; b < B; ++b) {
      const double* row = scores.data<double>() + b * V;
      int64_t best = 0;
      for (int64_t v = 1; v < V; ++v)
        if (row[v] > row[best]) best = v;
      previous[static_cast<size_t>(b)] = best;
      if (done[static_cast<size_t>(b)]) continue;
      if (best == kEos) {
        done[static_cast<size_t>(b)] = true;
        --open;
      } else {
        translations[static_cast<size_t>(b)] += static_cast<char>(best);
      }
    }
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
