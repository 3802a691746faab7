#include "models/seq_classifier_eval.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "train/checkpoint.h"

namespace recur {

SeqClassifier load_seq_classifier(const std::string& path, const Placement& where) {
  const Checkpoint ck = load_checkpoint(path, /*with_optimizer=*/false);
  RECUR_CHECK(ck.config.is_object() && ck.config.contains("kind") &&
                  ck.config.at("kind") == kSeqClassifierKind && ck.config.contains("model"),
              "{} is not a sequence classifier checkpoint (expected config kind '{}')", path,
              kSeqClassifierKind);
  SeqClassifier model(SeqClassifierConfig::from_json(ck.config.at("model")));
  load_state_dict(model.parameters(), ck.model);
  model.place(where);
  return model;
}

std::unique_ptr<ClassData> open_class_data(const std::string& path,
                                           const SeqClassifierConfig& model) {
  if (!model.reads_features()) {
    auto corpus = std::make_unique<LabelledCorpus>(path, model.labels);
    if (model.reads_windows()) corpus->cut_windows(model.max_len, model.window_stride);
    return corpus;
  }
  auto data = std::make_unique<LabelledSequences>(
      path, SequenceColumns{model.id_column, model.label_column, model.features}, model.labels);
  data->set_standardisation({model.feature_mean, model.feature_std});
  if (model.reads_windows()) data->cut_windows(model.max_len, model.window_stride);
  return data;
}

int64_t ClassifierScores::correct() const {
  int64_t n = 0;
  for (size_t c = 0; c < confusion.size(); ++c) n += confusion[c][c];
  return n;
}

double ClassifierScores::accuracy() const {
  return documents > 0 ? static_cast<double>(correct()) / static_cast<double>(documents) : 0.0;
}

double ClassifierScores::precision(int64_t label) const {
  int64_t predicted = 0;
  for (const auto& row : confusion) predicted += row[static_cast<size_t>(label)];
  const int64_t hit = confusion[static_cast<size_t>(label)][static_cast<size_t>(label)];
  return predicted > 0 ? static_cast<double>(hit) / static_cast<double>(predicted) : 0.0;
}

double ClassifierScores::recall(int64_t label) const {
  const auto& row = confusion[static_cast<size_t>(label)];
  int64_t count = 0;
  for (int64_t n : row) count += n;
  return count > 0
             ? static_cast<double>(row[static_cast<size_t>(label)]) / static_cast<double>(count)
             : 0.0;
}

nlohmann::json ClassifierScores::to_json(const std::vector<std::string>& labels) const {
  nlohmann::json per_label = nlohmann::json::object();
  for (size_t c = 0; c < labels.size(); ++c) {
    int64_t count = 0;
    for (int64_t n : confusion[c]) count += n;
    const auto label = static_cast<int64_t>(c);
    per_label[labels[c]] = {
        {"count", count}, {"precision", precision(label)}, {"recall", recall(label)}};
  }
  return {{"documents", documents},
          {"loss", loss},
          {"accuracy", accuracy()},
          {"per_label", per_label},
          {"confusion", confusion}};
}

std::string ClassifierScores::report(const std::vector<std::string>& labels,
                                     const std::string& items) const {
  std::string out = fmt::format("  accuracy {:.4f} ({} of {}), loss {:.4f}\n", accuracy(),
                                correct(), documents, loss);
  for (size_t c = 0; c < labels.size(); ++c) {
    int64_t count = 0;
    for (int64_t n : confusion[c]) count += n;
    const auto label = static_cast<int64_t>(c);
    out += fmt::format("  {:>12s}: {:6d} {}, precision {:.4f}, recall {:.4f}\n", labels[c], count,
                       items, precision(label), recall(label));
  }
  return out;
}

std::vector<std::vector<double>> class_probabilities(SeqClassifier& model,
                                                     const ClassBatch& batch) {
  model.set_training(false);
  const Device device = model.device();
  const Tensor inputs = device.is_cpu() ? batch.inputs : batch.inputs.to(device);
  const Tensor logits = model.forward(inputs, batch.lengths).to(Device::cpu());
  const int64_t B = logits.size(0), C = logits.size(1);
  const std::vector<double> values = logits.to_vector();
  std::vector<std::vector<double>> probs(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const double* row = values.data() + b * C;
    const double top = *std::max_element(row, row + C);
    double sum = 0.0;
    auto& p = probs[static_cast<size_t>(b)];
    for (int64_t c = 0; c < C; ++c) sum += p.emplace_back(std::exp(row[c] - top));
    for (double& v : p) v /= sum;
  }
  return probs;
}

std::vector<std::vector<double>> class_probabilities(SeqClassifier& model, const ClassData& data,
                                                     const std::vector<int64_t>& items,
                                                     int64_t batch) {
  RECUR_CHECK(batch >= 1, "class_probabilities: expected batch >= 1, got {}", batch);
  std::vector<std::vector<double>> probs;
  probs.reserve(items.size());
  for (size_t i = 0; i < items.size(); i += static_cast<size_t>(batch)) {
    const std::vector<int64_t> part(
        items.begin() + static_cast<ptrdiff_t>(i),
        items.begin() + static_cast<ptrdiff_t>(std::min(items.size(), i + batch)));
    for (auto& p : class_probabilities(model, data.batch(part, model.config().max_len)))
      probs.push_back(std::move(p));
  }
  return probs;
}

GroupProbabilities group_probabilities(const ClassData& data, const std::vector<int64_t>& items,
                                       const std::vector<std::vector<double>>& probabilities,
                                       WindowVote vote) {
  check_items(data, items, "group_probabilities");
  RECUR_CHECK(probabilities.size() == items.size(),
              "group_probabilities: expected the probabilities of {} items, got {}", items.size(),
              probabilities.size());
  GroupProbabilities out;
  std::map<int64_t, size_t> index;                   // group -> its row in out
  std::vector<std::vector<std::vector<double>>> of;  // [G][its items][C]
  for (size_t r = 0; r < items.size(); ++r) {
    const int64_t g = data.group(items[r]);
    auto [it, added] = index.emplace(g, out.groups.size());
    if (added) {
      out.groups.push_back(g);
      out.labels.push_back(data.label(items[r]));
      of.emplace_back();
    }
    RECUR_CHECK(probabilities[r].size() == probabilities[0].size(),
                "group_probabilities: expected {} probabilities for item {}, got {}",
                probabilities[0].size(), items[r], probabilities[r].size());
    of[it->second].push_back(probabilities[r]);
  }
  for (const auto& windows : of) out.probabilities.push_back(combine_windows(windows, vote));
  return out;
}

ClassifierScores score_probabilities(const std::vector<std::vector<double>>& probabilities,
                                     const std::vector<int64_t>& targets, int64_t classes) {
  RECUR_CHECK(probabilities.size() == targets.size(),
              "score_probabilities: expected one target per row, got {} rows and {} targets",
              probabilities.size(), targets.size());
  const auto C = static_cast<size_t>(classes);
  ClassifierScores s;
  s.confusion.assign(C, std::vector<int64_t>(C, 0));
  double nats = 0.0;
  for (size_t r = 0; r < targets.size(); ++r) {
    const auto& p = probabilities[r];
    RECUR_CHECK(p.size() == C && targets[r] >= 0 && targets[r] < classes,
                "score_probabilities: row {}: expected {} probabilities and a target in [0, {}), "
                "got {} and {}",
                r, C, C, p.size(), targets[r]);
    const auto target = static_cast<size_t>(targets[r]);
    const auto predicted = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    ++s.confusion[target][predicted];
    nats -= std::log(std::max(p[target], 1e-300));
  }
  s.documents = static_cast<int64_t>(targets.size());
  s.loss = s.documents > 0 ? nats / static_cast<double>(s.documents) : 0.0;
  return s;
}

ClassifierEvaluation evaluate_classifier(SeqClassifier& model, const ClassData& data,
                                         const std::vector<int64_t>& items, int64_t batch) {
  RECUR_CHECK(data.labels() == model.config().labels,
              "{}: its labels ({}) are not the model's ({})", data.path(),
              fmt::format("{}", fmt::join(data.labels(), ", ")),
              fmt::format("{}", fmt::join(model.config().labels, ", ")));
  const int64_t C = model.config().classes();
  const auto probs = class_probabilities(model, data, items, batch);
  std::vector<int64_t> targets;
  for (int64_t i : items) targets.push_back(data.label(i));
  ClassifierEvaluation e;
  e.items = score_probabilities(probs, targets, C);
  e.windows = model.config().reads_windows();
  e.group_noun = data.group_noun();
  e.vote = model.config().window_vote;
  auto score_groups = [&](WindowVote vote) {
    const GroupProbabilities groups = group_probabilities(data, items, probs, vote);
    return score_probabilities(groups.probabilities, groups.labels, C);
  };
  e.sequences = score_groups(e.vote);
  if (e.windows) e.sequences_other_vote = score_groups(e.other_vote());  // only windows show it
  return e;
}

nlohmann::json ClassifierEvaluation::to_json(const std::vector<std::string>& labels) const {
  nlohmann::json j = items.to_json(labels);
  if (windows) {
    j["sequences"] = sequences.to_json(labels);
    j["sequences"]["vote"] = window_vote_name(vote);
    j["sequences_other_vote"] = sequences_other_vote.to_json(labels);
    j["sequences_other_vote"]["vote"] = window_vote_name(other_vote());
  }
  return j;
}

std::string ClassifierEvaluation::report(const std::vector<std::string>& labels,
                                         const std::string& noun) const {
  std::string out = items.report(labels, noun);
  if (windows) {
    const std::string one = group_noun.substr(0, group_noun.size() - 1);
    out += fmt::format(" per {} (the {} of its windows' probabilities):\n", one,
                       vote == WindowVote::mean ? "mean" : "normalised geometric mean") +
           sequences.report(labels, group_noun);
    out += fmt::format(" per {} by the other vote (--window-vote {}): accuracy {:.4f}\n", one,
                       window_vote_name(other_vote()), sequences_other_vote.accuracy());
  }
  return out;
}

}  // namespace recur
