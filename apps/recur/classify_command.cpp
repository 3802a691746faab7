// `recur classify`: trains a sequence-to-vector classifier (models/seq_classifier.h) on a
// labelled corpus (datasets/labelled_corpus.h: LABEL<TAB>TEXT documents, e.g. `spam`: the
// SpamAssassin messages as ham or spam) or on numeric feature sequences (a .csv file,
// datasets/labelled_sequences.h: one row of features per time step); with --window, each document
// or sequence is cut into windows whose mean probabilities classify it. Reports accuracy,
// per-label precision and recall on a held-out tenth after every epoch against the
// majority-class baseline; writes metrics.jsonl and atomic last/best checkpoints (best by
// validation accuracy: per window when cut).
// `recur predict`: a trained classifier's label and probabilities for each document of a text
// file or each sequence of an unlabelled CSV, or its scores on labelled data.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/ranges.h>

#include "apps/recur/commands.h"
#include "apps/recur/epoch_run.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "layers/loss.h"
#include "models/seq_classifier_eval.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/clip.h"
#include "train/grad_scaler.h"

namespace recur::app {

namespace {

constexpr int64_t kValidationEvery = 10;  // every 10th document of each label is held out

struct ClassifyOptions {
  SeqClassifierConfig model;
  std::string cell = "lstm";
  std::string out;
  bool resume = false;
  EpochTraining train{"",        /*batch=*/32, /*epochs=*/8, /*steps=*/0, /*lr=*/3e-3, /*clip=*/1.0,
                      /*seed=*/1};
  ComputeOptions compute;
  int64_t window = 0, stride = 0;    // --window, --stride: set model.max_len and window_stride
  std::string window_vote = "mean";  // --window-vote: sets model.window_vote
  bool window_vote_given = false;
  bool max_len_given = false;  // --max-len on the command line
};

struct StepResult {
  double loss = 0.0;  // mean cross-entropy of the batch
  int64_t hits = 0;   // documents whose largest logit is their label
};

// One optimisation step on a batch: forward keeping what backward needs, cross-entropy,
// backward, clipping by global norm, Adam. With a scaler (f16) the loss gradient is scaled and a
// step whose gradients overflow is skipped (train/grad_scaler.h).
StepResult train_step(SeqClassifier& model, Adam& optimizer, GradScaler* scaler,
                      const ClassBatch& b, Device device, double clip, int64_t step) {
  auto on_device = [&](const Tensor& t) { return device.is_cpu() ? t : t.to(device); };
  model.set_training(true);
  model.zero_grad();
  ForwardOptions fo;
  fo.keep_for_backward = true;
  fo.step = static_cast<uint64_t>(step);
  const Tensor logits = model.forward(on_device(b.inputs), b.lengths, fo);
  SoftmaxCrossEntropy xent;
  StepResult r;
  r.loss = xent.forward(logits, on_device(b.targets));
  RECUR_CHECK(std::isfinite(r.loss), "step {}: the loss is {}; lower --lr", step + 1, r.loss);
  const std::vector<double> host = logits.to(Device::cpu()).to_vector();
  const int64_t C = logits.size(1);
  for (int64_t row = 0; row < b.targets.size(0); ++row) {
    const double* l = host.data() + row * C;
    r.hits += std::max_element(l, l + C) - l == b.targets.data<int64_t>()[row];
  }
  model.backward(xent.backward(scaler ? scaler->scale() : 1.0));
  if (!scaler)
    clip_grad_norm(optimizer.parameters(), clip);
  else if (!scaler->unscale_and_clip(optimizer.parameters(), clip))
    return r;  // overflowed at this scale: skipped, the scale halved
  optimizer.step();
  return r;
}

// A checkpoint's "config": its kind, the model's config and the training options.
nlohmann::json run_config(const ClassifyOptions& o) {
  return {{"kind", kSeqClassifierKind},
          {"model", o.model.to_json()},
          {"train", o.train.to_json(o.compute)}};
}

bool is_feature_csv(const std::string& data) {
  return std::filesystem::path(data).extension() == ".csv";
}

// The training data of run `o`: feature sequences of a CSV file, whose features (the run's, or
// those of --features, or every column) and standardisation (the run's, or fitted on `train`
// of its split) it records in o.model; or a labelled corpus of byte documents.
std::unique_ptr<ClassData> open_training_data(ClassifyOptions& o) {
  if (!is_feature_csv(o.train.data)) {
    RECUR_CHECK(o.model.features.empty(),
                "--features: {} is a labelled corpus of byte documents; features come from the "
                "columns of a .csv file of feature sequences",
                o.train.data);
    auto corpus = std::make_unique<LabelledCorpus>(resolve_labelled_corpus(o.train.data));
    if (o.model.reads_windows()) corpus->cut_windows(o.model.max_len, o.model.window_stride);
    return corpus;
  }
  auto data = std::make_unique<LabelledSequences>(
      o.train.data, SequenceColumns{o.model.id_column, o.model.label_column, o.model.features});
  o.model.features = data->features();
  if (!o.resume) {
    Standardisation s = data->fit_standardisation(data->split(kValidationEvery).train);
    o.model.feature_mean = s.mean;
    o.model.feature_std = s.std;
  }
  data->set_standardisation({o.model.feature_mean, o.model.feature_std});
  // After the fit: rows are counted once, and the split of the windows is that of their
  // sequences (ClassData::split keeps a sequence's windows together).
  if (o.model.reads_windows()) data->cut_windows(o.model.max_len, o.model.window_stride);
  return data;
}

int run_classify(ClassifyOptions o) {
  const Placement where = apply_compute_options(o.compute);
  Checkpoint resumed;
  if (o.resume) resumed = resume_command(o, kSeqClassifierKind, "classifier");
  RECUR_CHECK(o.train.batch >= 1 && o.train.epochs >= 1,
              "--batch and --epochs: expected at least 1");
  const std::unique_ptr<ClassData> data = open_training_data(o);
  const ClassData& corpus = *data;
  const bool features = o.model.reads_features();
  const char* items = corpus.noun();
  RECUR_CHECK(corpus.labels().size() >= 2,
              "{}: expected at least 2 labels to classify, got {} ('{}')", corpus.path(),
              corpus.labels().size(), corpus.labels()[0]);
  o.model.cell = cell_from_name(o.cell);
  RECUR_CHECK(!o.resume || o.model.labels == corpus.labels(),
              "--resume: {} no longer has the labels the run was trained on", corpus.path());
  o.model.labels = corpus.labels();
  o.train.data = corpus.path();  // a name resolves to the cached file: the path is what resumes
  const ClassData::Split split = corpus.split(kValidationEvery);
  RECUR_CHECK(!split.train.empty() && !split.validation.empty(),
              "{}: {} {} are too few to hold out every {}th", corpus.path(), corpus.size(), items,
              kValidationEvery);

  SeqClassifier model(o.model, o.train.seed);
  model.place(where);
  EpochRun run(model.parameters(), o.train, where, o.out, "classifier", /*no_best=*/-1.0,
               o.resume ? &resumed : nullptr);  // the best validation accuracy: none yet
  EpochProgress& p = run.progress;
  const std::string metrics = o.out + "/metrics.jsonl";

  // The majority class of the training split: the accuracy to beat.
  std::vector<int64_t> train_counts(corpus.labels().size(), 0);
  for (int64_t i : split.train) ++train_counts[static_cast<size_t>(corpus.label(i))];
  const auto majority = static_cast<int64_t>(
      std::max_element(train_counts.begin(), train_counts.end()) - train_counts.begin());
  int64_t majority_hits = 0;
  for (int64_t i : split.validation) majority_hits += corpus.label(i) == majority;
  const double baseline =
      static_cast<double>(majority_hits) / static_cast<double>(split.validation.size());

  const char* step = features ? "steps" : "bytes";
  const std::string steps = o.model.reads_windows()
                                ? fmt::format("windows of {} {}, one every {}", o.model.max_len,
                                              step, o.model.window_stride)
                                : fmt::format("up to {} {}", o.model.max_len, step);
  const std::string input =
      features ? fmt::format("{} features (standardised), {}", o.model.features.size(), steps)
               : fmt::format("embed {}, {}", o.model.embed, steps);
  const std::string cut = o.model.reads_windows()
                              ? fmt::format("{} {} cut into ", corpus.groups(), corpus.group_noun())
                              : std::string();
  std::fprintf(stderr,
               "recur classify: %s, %s%lld %s (%lld train, %lld validation), labels %s\n"
               "model: %s, hidden %lld x %lld layer(s)%s, reads %s; %s\n",
               corpus.path().c_str(), cut.c_str(), static_cast<long long>(corpus.size()), items,
               static_cast<long long>(split.train.size()),
               static_cast<long long>(split.validation.size()),
               fmt::format("{}", fmt::join(corpus.labels(), ", ")).c_str(), o.cell.c_str(),
               static_cast<long long>(o.model.hidden), static_cast<long long>(o.model.layers),
               o.model.bidirectional ? ", bidirectional" : "", input.c_str(),
               describe_compute(where).c_str());
  std::fprintf(stderr, "baseline: always '%s' scores %.4f on validation\n",
               corpus.labels()[static_cast<size_t>(majority)].c_str(), baseline);

  if (o.resume)
    std::fprintf(stderr, "resuming at epoch %lld, batch %lld (step %lld)\n",
                 static_cast<long long>(p.epoch), static_cast<long long>(p.next_batch + 1),
                 static_cast<long long>(p.step));
  const auto start = std::chrono::steady_clock::now();
  bool stop = false;
  for (; p.epoch <= o.train.epochs && !stop; ++p.epoch, p.next_batch = 0) {
    const int64_t epoch = p.epoch;
    const auto batches = bucket_batches(corpus, split.train, o.train.batch, o.model.max_len,
                                        o.train.seed * 1000 + epoch);
    if (p.next_batch == 0) p.start_epoch();
    for (auto k = static_cast<size_t>(p.next_batch); k < batches.size(); ++k) {
      const auto step_start = std::chrono::steady_clock::now();
      const ClassBatch b = corpus.batch(batches[k], o.model.max_len);
      const StepResult r = train_step(model, run.optimizer, run.scaler.get(), b, where.device,
                                      o.train.clip, p.step++);
      const int64_t B = b.targets.size(0);
      p.hits += r.hits;
      p.loss_sum += r.loss * static_cast<double>(B);
      p.seen += B;
      p.trained += B;
      p.train_seconds += seconds_since(step_start);
      p.next_batch = static_cast<int64_t>(k) + 1;
      if ((k + 1) % 20 == 0 || k + 1 == batches.size())
        std::fprintf(stderr, "epoch %lld  batch %zu/%zu  loss %.4f  accuracy %.4f  %.1f %s/s\n",
                     static_cast<long long>(epoch), k + 1, batches.size(),
                     p.loss_sum / static_cast<double>(p.seen),
                     static_cast<double>(p.hits) / static_cast<double>(p.seen),
                     static_cast<double>(p.trained) / std::max(1e-9, p.train_seconds), items);
      if (run.stop_mid_epoch(k + 1 == batches.size(), model.state_dict(), run_config(o)))
        return 130;
      if (o.train.steps > 0 && p.step >= o.train.steps) {
        stop = true;
        break;
      }
    }
    const ClassifierEvaluation evaluation =
        evaluate_classifier(model, corpus, split.validation, std::max<int64_t>(o.train.batch, 64));
    const ClassifierScores& val = evaluation.items;
    std::fprintf(stderr, "epoch %lld validation (baseline %.4f):\n%s",
                 static_cast<long long>(epoch), baseline,
                 evaluation.report(corpus.labels(), items).c_str());
    nlohmann::json record = {
        {"kind", "val"},
        {"epoch", epoch},
        {"step", p.step},
        {"train_loss", p.loss_sum / static_cast<double>(std::max<int64_t>(p.seen, 1))},
        {"seconds", seconds_since(start)},
        {"train_seconds", p.train_seconds},
        {"train_docs_per_s", static_cast<double>(p.trained) / std::max(1e-9, p.train_seconds)},
        {"baseline_accuracy", baseline}};
    record.update(evaluation.to_json(corpus.labels()));
    append_metrics(metrics, record);
    const bool improved = val.accuracy() > p.best;
    p.best = std::max(p.best, val.accuracy());
    const EpochProgress next = p.after_epoch(static_cast<int64_t>(batches.size()));
    const nlohmann::json scores = {{"validation_accuracy", val.accuracy()}};
    run.save(o.out + "/last.safetensors", model.state_dict(), run_config(o), next, scores);
    if (improved)
      run.save(o.out + "/best.safetensors", model.state_dict(), run_config(o), next, scores);
    if (run.stop_after_epoch(epoch)) return 130;
  }
  std::printf("best validation accuracy %.4f (always '%s': %.4f) after %lld steps, %.1f s -> %s\n",
              p.best, corpus.labels()[static_cast<size_t>(majority)].c_str(), baseline,
              static_cast<long long>(p.step), seconds_since(start),
              (o.out + "/best.safetensors").c_str());
  return 0;
}

struct PredictOptions {
  std::string model;
  std::string text;
  std::string data;
  int64_t batch = 64;
  bool json = false;
  ComputeOptions compute;
};

// One prediction of the item `kind` ("document", "sequence") called `name`: the most probable
// label, as a line of text or JSON.
void print_prediction(const std::vector<std::string>& labels, const std::vector<double>& p,
                      const std::string& kind, const nlohmann::json& name, bool json) {
  const auto best = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
  if (json) {
    nlohmann::json probs = nlohmann::json::object();
    for (size_t c = 0; c < labels.size(); ++c) probs[labels[c]] = p[c];
    const nlohmann::json line = {{kind, name}, {"label", labels[best]}, {"probabilities", probs}};
    std::printf("%s\n", line.dump().c_str());
  } else {
    const std::string shown = name.is_string() ? name.get<std::string>() : name.dump();
    std::printf("%s %s: %s (p = %.4f)\n", kind.c_str(), shown.c_str(), labels[best].c_str(),
                p[best]);
  }
}

// The class probabilities of one text: of its first max_len bytes, or with a model of windows
// its windows' combined by the model's vote (`batch` windows per forward).
std::vector<double> text_probabilities(SeqClassifier& model, std::string_view text, int64_t batch) {
  const SeqClassifierConfig& config = model.config();
  if (!config.reads_windows())
    return class_probabilities(model, make_text_batch(text, config.max_len))[0];
  RECUR_CHECK(batch >= 1, "recur predict: expected --batch >= 1, got {}", batch);
  const std::vector<std::string_view> windows =
      text_windows(text, config.max_len, config.window_stride);
  std::vector<std::vector<double>> each;
  for (size_t begin = 0; begin < windows.size(); begin += static_cast<size_t>(batch)) {
    const std::vector<std::string_view> part(
        windows.begin() + static_cast<ptrdiff_t>(begin),
        windows.begin() + static_cast<ptrdiff_t>(std::min(windows.size(), begin + batch)));
    for (auto& p : class_probabilities(model, make_texts_batch(part, config.max_len)))
      each.push_back(std::move(p));
  }
  return combine_windows(each, config.window_vote);
}

int run_predict(const PredictOptions& o) {
  RECUR_CHECK(o.text.empty() != o.data.empty(),
              "recur predict: expected exactly one of --text FILE and --data FILE|NAME");
  const Placement where = apply_compute_options(o.compute);
  SeqClassifier model = load_seq_classifier(o.model, where);
  const SeqClassifierConfig& config = model.config();
  const std::vector<std::string>& labels = config.labels;
  RECUR_CHECK(o.text.empty() || !config.reads_features(),
              "recur predict --text: {} reads feature sequences ({}); pass them as --data FILE.csv",
              o.model, fmt::format("{}", fmt::join(config.features, ",")));
  if (!o.data.empty()) {
    const std::unique_ptr<ClassData> data =
        open_class_data(config.reads_features() ? o.data : resolve_labelled_corpus(o.data), config);
    std::vector<int64_t> all(static_cast<size_t>(data->size()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    const auto* sequences = dynamic_cast<const LabelledSequences*>(data.get());
    if (sequences && !sequences->has_labels()) {  // nothing to score: a label per sequence
      // Windows: each sequence's windows' probabilities combined by the model's vote.
      const GroupProbabilities p = group_probabilities(
          *data, all, class_probabilities(model, *data, all, o.batch), config.window_vote);
      for (size_t g = 0; g < p.groups.size(); ++g)
        print_prediction(labels, p.probabilities[g], "sequence",
                         sequences->sequence_id(p.groups[g]), o.json);
      return 0;
    }
    const ClassifierEvaluation s = evaluate_classifier(model, *data, all, o.batch);
    if (o.json)
      std::printf("%s\n", s.to_json(labels).dump().c_str());
    else
      std::printf("%s:\n%s", data->path().c_str(), s.report(labels, data->noun()).c_str());
    return 0;
  }
  // Documents of the text file: separated by RS, or the whole file as one.
  const MappedFile file(o.text);
  const std::string_view all(reinterpret_cast<const char*>(file.data()), file.size());
  int64_t number = 0;
  for (size_t begin = 0; begin < all.size();) {
    size_t end = all.find('\x1e', begin);
    if (end == std::string_view::npos) end = all.size();
    const std::string_view doc = all.substr(begin, end - begin);
    begin = end + 1;
    ++number;
    RECUR_CHECK(!doc.empty(), "{}: document {} is empty", o.text, number);
    print_prediction(labels, text_probabilities(model, doc, o.batch), "document", number, o.json);
  }
  RECUR_CHECK(number > 0, "{}: expected at least one document, got an empty file", o.text);
  return 0;
}

}  // namespace

std::function<int()> add_classify_command(CLI::App& app) {
  auto o = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "classify",
      "Train a sequence classifier on labelled documents (LABEL<TAB>TEXT) or feature sequences "
      "(a .csv file)");
  cmd->add_option("--data", o->train.data,
                  "labelled corpus (a file, or spam: SpamAssassin ham/spam), or a .csv file of "
                  "feature sequences (id,label,features...; one row per time step)");
  cmd->add_flag("--resume", o->resume,
                "continue the run in --out from its last checkpoint (its options are the run's)");
  cmd->add_option("--out", o->out, "run folder (metrics.jsonl, last/best checkpoints)")->required();
  cmd->add_option("--cell", o->cell, "lstm, gru, rnn_tanh, rnn_relu or leaky")
      ->capture_default_str()
      ->check(CLI::IsMember({"lstm", "gru", "rnn_tanh", "rnn_relu", "leaky"}));
  cmd->add_option("--embed", o->model.embed, "embedding size")->capture_default_str();
  cmd->add_option("--hidden", o->model.hidden, "hidden units")->capture_default_str();
  cmd->add_option("--layers", o->model.layers, "recurrent layers")->capture_default_str();
  cmd->add_flag("--bidirectional", o->model.bidirectional, "read each document both ways");
  cmd->add_option("--dropout", o->model.dropout, "dropout between recurrent layers")
      ->capture_default_str();
  cmd->add_option("--max-len", o->model.max_len,
                  "steps of each sequence the model reads (bytes of a document)")
      ->capture_default_str()
      ->each([o](const std::string&) { o->max_len_given = true; });
  cmd->add_option("--window", o->window,
                  "cut each document or feature sequence into windows of this many steps (bytes), "
                  "and predict it from its windows' probabilities (--window-vote)");
  cmd->add_option("--window-vote", o->window_vote,
                  "--window: how a document's windows' probabilities make its own: their mean, or "
                  "log_mean (the normalised geometric mean: one confident window weighs more)")
      ->check(CLI::IsMember({"mean", "log_mean"}))
      ->capture_default_str()
      ->each([o](const std::string&) { o->window_vote_given = true; });
  cmd->add_option("--stride", o->stride,
                  "--window: steps from one window to the next (default: "
                  "the window's length, no overlap)");
  cmd->add_option("--features", o->model.features,
                  "a .csv file's feature columns, comma-separated (default: all but id and label)")
      ->delimiter(',');
  cmd->add_option("--id-column", o->model.id_column, "a .csv file's sequence id column")
      ->capture_default_str();
  cmd->add_option("--label-column", o->model.label_column, "a .csv file's label column")
      ->capture_default_str();
  o->train.add_options(cmd, "documents");
  add_compute_options(cmd, o->compute);
  return [o] {
    RECUR_CHECK(o->resume || !o->train.data.empty(), "recur classify: --data is required");
    RECUR_CHECK(o->stride == 0 || o->window > 0, "recur classify: --stride needs --window");
    RECUR_CHECK(!o->window_vote_given || o->window > 0,
                "recur classify: --window-vote needs --window");
    if (o->window != 0) {
      RECUR_CHECK(o->window >= 1 && o->stride >= 0 && o->stride <= o->window,
                  "recur classify: expected --window >= 1 and --stride in [1, window], got "
                  "--window {} --stride {}",
                  o->window, o->stride);
      RECUR_CHECK(!o->max_len_given || o->model.max_len == o->window,
                  "recur classify: --window {} is the steps the model reads; drop --max-len {}",
                  o->window, o->model.max_len);
      o->model.max_len = o->window;
      o->model.window_stride = o->stride > 0 ? o->stride : o->window;
      o->model.window_vote = window_vote_from_name(o->window_vote);
    }
    return run_classify(*o);
  };
}

std::function<int()> add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd =
      app.add_subcommand("predict", "Classify documents with a model trained by recur classify");
  cmd->add_option("--model", o->model, "checkpoint written by recur classify")->required();
  cmd->add_option("--text", o->text, "text file: documents separated by RS, or one document");
  cmd->add_option("--data", o->data,
                  "labelled data to score (accuracy, precision, recall), or a .csv file of "
                  "feature sequences without labels to classify");
  cmd->add_option("--batch", o->batch, "sequences per batch (--data)")->capture_default_str();
  cmd->add_flag("--json", o->json, "print JSON lines");
  add_compute_options(cmd, o->compute);
  return [o] { return run_predict(*o); };
}

}  // namespace recur::app
