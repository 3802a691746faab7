#include "models/translation.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <set>
#include <unordered_map>

#include "layers/loss.h"
#include "train/checkpoint.h"

namespace recur {

Translator load_translator(const std::string& path, const Placement& where) {
  const Checkpoint ck = load_checkpoint(path, /*with_optimizer=*/false);
  RECUR_CHECK(ck.config.is_object() && ck.config.value("kind", "") == kTranslatorKind &&
                  ck.config.contains("model"),
              "{} is not a translator checkpoint (expected config kind '{}')", path,
              kTranslatorKind);
  Translator model(TranslatorConfig::from_json(ck.config.at("model")));
  load_state_dict(model.parameters(), ck.model);
  model.place(where);
  return model;
}

namespace {

// Indices 0..n-1 sorted by `length` (stable), cut into batches of `batch`.
template <class Length>
std::vector<std::vector<int64_t>> sorted_batches(size_t n, int64_t batch, Length length) {
  RECUR_CHECK(batch >= 1, "translation: expected a batch of at least 1, got {}", batch);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return length(a) < length(b); });
  std::vector<std::vector<int64_t>> batches;
  for (size_t i = 0; i < n; i += static_cast<size_t>(batch))
    batches.emplace_back(order.begin() + static_cast<int64_t>(i),
                         order.begin() + static_cast<int64_t>(std::min(n, i + batch)));
  return batches;
}

}  // namespace

double translation_loss(Translator& model, const std::vector<TranslationPair>& pairs,
                        int64_t batch) {
  RECUR_CHECK(!pairs.empty(), "translation loss: expected at least one pair");
  model.set_training(false);
  double total = 0;
  int64_t tokens = 0;
  const auto batches = sorted_batches(
      pairs.size(), batch, [&](int64_t i) { return pairs[static_cast<size_t>(i)].target.size(); });
  for (const std::vector<int64_t>& chosen : batches) {
    const TranslationBatch b = make_translation_batch(pairs, chosen);
    const Tensor logits = model.forward(b).logits;
    SoftmaxCrossEntropy xent(kIgnoredTarget);
    const Tensor targets = model.device().is_cpu() ? b.target_out : b.target_out.to(model.device());
    total += xent.forward(logits, targets) * static_cast<double>(xent.counted());
    tokens += xent.counted();
  }
  return total / static_cast<double>(tokens);
}

std::vector<std::string> translate_all(Translator& model, const std::vector<std::string>& sources,
                                       int64_t batch, const DecodeOptions& options) {
  model.set_training(false);
  std::vector<std::string> out(sources.size());
  const auto batches = sorted_batches(
      sources.size(), batch, [&](int64_t i) { return sources[static_cast<size_t>(i)].size(); });
  for (const std::vector<int64_t>& chosen : batches) {
    std::vector<std::string_view> views;
    for (int64_t i : chosen) views.emplace_back(sources[static_cast<size_t>(i)]);
    const std::vector<std::string> done = model.translate(views, options);
    for (size_t k = 0; k < chosen.size(); ++k) out[static_cast<size_t>(chosen[k])] = done[k];
  }
  return out;
}

namespace {

// The distinct trigrams of `text` (ASCII lowercased), each as 3 bytes packed into an integer.
std::set<uint32_t> trigrams(const std::string& text) {
  std::set<uint32_t> out;
  for (size_t i = 0; i + 3 <= text.size(); ++i) {
    uint32_t key = 0;
    for (size_t k = 0; k < 3; ++k)
      key = (key << 8) |
            static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(text[i + k])));
    out.insert(key);
  }
  return out;
}

}  // namespace

std::vector<std::string> translation_memory(const std::vector<TranslationPair>& memory,
                                            const std::vector<std::string>& sources) {
  std::unordered_map<uint32_t, std::vector<int64_t>> holders;  // trigram -> memory pairs
  for (size_t i = 0; i < memory.size(); ++i)
    for (uint32_t t : trigrams(memory[i].source)) holders[t].push_back(static_cast<int64_t>(i));
  std::vector<std::string> out;
  std::vector<int64_t> shared(memory.size(), 0);
  for (const std::string& source : sources) {
    std::fill(shared.begin(), shared.end(), 0);
    int64_t best = -1;
    for (uint32_t t : trigrams(source)) {
      const auto it = holders.find(t);
      if (it == holders.end()) continue;
      for (int64_t i : it->second) ++shared[static_cast<size_t>(i)];
    }
    for (size_t i = 0; i < memory.size(); ++i)
      if (shared[i] > 0 && (best < 0 || shared[i] > shared[static_cast<size_t>(best)]))
        best = static_cast<int64_t>(i);
    out.push_back(best < 0 ? source : memory[static_cast<size_t>(best)].target);
  }
  return out;
}

}  // namespace recur
