// `recur translate`: the talk's sequence-to-sequence use of RNNs. With --data it trains a
// Translator (models/translator.h: an encoder-decoder with attention over bytes) on a parallel
// corpus (datasets/parallel_corpus.h: train.tsv, valid.tsv, test.tsv; `translations` is English
// -> German messages of Debian's programs) with Adam, clipping and a cosine lr decay, keeps the
// weights with the best validation loss, then translates the test sources and scores them with
// chrF (models/chrf.h) beside two baselines: copying the source, and a translation memory of the
// training pairs. Writes metrics.jsonl, last/best checkpoints, translations.tsv and report.json in
// --out. With --model it translates: each line of --text (a file, or - for stdin), one line out
// each; with --model and --data it scores the checkpoint on the test pairs. --beam K decodes by
// beam search (models/beam_search.h) instead of greedily.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "apps/recur/commands.h"
#include "apps/recur/epoch_run.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "datasets/length_buckets.h"
#include "layers/loss.h"
#include "models/chrf.h"
#include "models/translation.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/clip.h"
#include "train/grad_scaler.h"
#include "train/lr_schedule.h"

namespace recur::app {

namespace {

struct TranslateOptions {
  TranslatorConfig model;
  std::string cell = "lstm";
  std::string out;
  bool resume = false;
  std::string checkpoint;  // --model: translate with it
  std::string text;        // --text FILE|-
  EpochTraining train;     // --data, --batch, --epochs, --steps, --lr, --clip, --seed
  int64_t test_pairs = 0;  // 0: every test pair
  DecodeOptions decode{/*max_tokens=*/0, /*beam=*/4, /*length_alpha=*/1.0};  // --beam, ...
  ComputeOptions compute;
};

// The pairs of `path` that fit max_len bytes on both sides; reports how many did not.
std::vector<TranslationPair> read_fitting(const std::string& path, int64_t max_len) {
  std::vector<TranslationPair> all = read_parallel_corpus(path), fit;
  for (TranslationPair& p : all)
    if (static_cast<int64_t>(p.source.size()) <= max_len &&
        static_cast<int64_t>(p.target.size()) <= max_len)
      fit.push_back(std::move(p));
  if (fit.size() < all.size())
    std::fprintf(stderr, "%s: %zu of %zu pairs are longer than --max-len %lld bytes: left out\n",
                 path.c_str(), all.size() - fit.size(), all.size(),
                 static_cast<long long>(max_len));
  RECUR_CHECK(!fit.empty(), "{}: no pair fits --max-len {}", path, max_len);
  return fit;
}

// One optimisation step: forward keeping what backward needs, cross-entropy over the target
// tokens, backward, clipping by global norm, Adam (with a scaler, f16: a step whose gradients
// overflow is skipped). Returns the batch's mean loss per target token.
double train_step(Translator& model, Adam& optimizer, GradScaler* scaler, const TranslationBatch& b,
                  double clip, int64_t step) {
  model.set_training(true);
  model.zero_grad();
  ForwardOptions fo;
  fo.keep_for_backward = true;
  fo.step = static_cast<uint64_t>(step);
  const Tensor logits = model.forward(b, fo).logits;
  SoftmaxCrossEntropy xent(kIgnoredTarget);
  const Device device = model.device();
  const double loss =
      xent.forward(logits, device.is_cpu() ? b.target_out : b.target_out.to(device));
  RECUR_CHECK(std::isfinite(loss), "step {}: the loss is {}; lower --lr", step + 1, loss);
  model.backward(xent.backward(scaler ? scaler->scale() : 1.0));
  if (!scaler)
    clip_grad_norm(optimizer.parameters(), clip);
  else if (!scaler->unscale_and_clip(optimizer.parameters(), clip))
    return loss;  // overflowed at this scale: skipped, the scale halved
  optimizer.step();
  return loss;
}

// A checkpoint's "config": its kind, the model's config and the training options.
nlohmann::json run_config(const TranslateOptions& o) {
  return {{"kind", kTranslatorKind},
          {"model", o.model.to_json()},
          {"train", o.train.to_json(o.compute)}};
}

std::vector<std::string> sources_of(const std::vector<TranslationPair>& pairs) {
  std::vector<std::string> out;
  for (const TranslationPair& p : pairs) out.push_back(p.source);
  return out;
}

std::vector<std::string> targets_of(const std::vector<TranslationPair>& pairs) {
  std::vector<std::string> out;
  for (const TranslationPair& p : pairs) out.push_back(p.target);
  return out;
}

// `text` with its control bytes (a model may write any byte) as '?', so it stays one TSV field.
std::string printable(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return text;
}

// The first --test-pairs pairs of `test` (all with 0).
std::vector<TranslationPair> test_subset(const TranslateOptions& o,
                                         std::vector<TranslationPair> test) {
  if (o.test_pairs > 0 && static_cast<int64_t>(test.size()) > o.test_pairs)
    test.resize(static_cast<size_t>(o.test_pairs));
  return test;
}

// A model's translations of test pairs and their scores.
struct TestScores {
  std::vector<std::string> translations;
  double chrf = 0;
  double exact = 0;  // the fraction translated exactly as the reference
  double seconds = 0;
};

TestScores score_on_test(Translator& model, const std::vector<TranslationPair>& test, int64_t batch,
                         const DecodeOptions& decode) {
  TestScores s;
  const auto start = std::chrono::steady_clock::now();
  s.translations = translate_all(model, sources_of(test), batch, decode);
  s.seconds = seconds_since(start);
  s.chrf = corpus_chrf(s.translations, targets_of(test));
  int64_t exact = 0;
  for (size_t i = 0; i < test.size(); ++i) exact += s.translations[i] == test[i].target;
  s.exact = static_cast<double>(exact) / static_cast<double>(test.size());
  return s;
}

std::string describe_decoding(const DecodeOptions& d) {
  return d.beam == 1 ? std::string("greedy")
                     : fmt::format("beam {}, length exponent {}", d.beam, d.length_alpha);
}

// Translates the test pairs with the best weights (greedy, and with --beam above 1 also by beam
// search) and scores them beside the baselines; writes translations.tsv (source, reference,
// translation by --beam) and report.json.
nlohmann::json evaluate_on_test(const TranslateOptions& o, const Placement& where,
                                const std::vector<TranslationPair>& train,
                                const std::vector<TranslationPair>& test,
                                const nlohmann::json& training) {
  Translator best = load_translator(o.out + "/best.safetensors", where);
  const TestScores greedy = score_on_test(best, test, o.train.batch, DecodeOptions{});
  const TestScores chosen =
      o.decode.beam == 1 ? greedy : score_on_test(best, test, o.train.batch, o.decode);
  const std::vector<std::string> sources = sources_of(test), references = targets_of(test);
  const std::vector<std::string> memory = translation_memory(train, sources);
  std::string tsv;
  nlohmann::json examples = nlohmann::json::array();
  for (size_t i = 0; i < test.size(); ++i) {
    tsv += sources[i] + "\t" + references[i] + "\t" + printable(chosen.translations[i]) + "\n";
    if (i < 12) examples.push_back({sources[i], references[i], chosen.translations[i], memory[i]});
  }
  write_file_atomic(o.out + "/translations.tsv", [&](AtomicFileWriter& f) { f.write(tsv); });
  const nlohmann::json report = {
      {"test_pairs", test.size()},
      {"decoding", describe_decoding(o.decode)},
      {"chrf", chosen.chrf},
      {"exact", chosen.exact},
      {"decode_seconds", chosen.seconds},
      {"greedy",
       {{"chrf", greedy.chrf}, {"exact", greedy.exact}, {"decode_seconds", greedy.seconds}}},
      {"baselines",
       {{"copy_source_chrf", corpus_chrf(sources, references)},
        {"translation_memory_chrf", corpus_chrf(memory, references)}}},
      {"examples (source, reference, recur, memory)", examples},
      {"model", o.model.to_json()},
      {"training", training}};
  write_file_atomic(o.out + "/report.json", [&](AtomicFileWriter& f) {
    // A model may write bytes that are not UTF-8: JSON gets U+FFFD for them.
    f.write(report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  });
  return report;
}

int run_training(TranslateOptions o) {
  const Placement where = apply_compute_options(o.compute);
  Checkpoint resumed;
  if (o.resume) resumed = resume_command(o, kTranslatorKind, "translator");
  EpochTraining& t = o.train;
  RECUR_CHECK(t.batch >= 1 && t.epochs >= 1, "--batch and --epochs: expected at least 1");
  o.model.cell = cell_from_name(o.cell);
  t.data = resolve_parallel_corpus(t.data);
  const std::vector<TranslationPair> train = read_fitting(t.data + "/train.tsv", o.model.max_len);
  const std::vector<TranslationPair> valid = read_fitting(t.data + "/valid.tsv", o.model.max_len);
  const std::vector<TranslationPair> test = read_fitting(t.data + "/test.tsv", o.model.max_len);

  Translator model(o.model, t.seed);
  model.place(where);
  EpochRun run(model.parameters(), o.train, where, o.out, "translator",
               /*no_best=*/std::numeric_limits<double>::max(),
               o.resume ? &resumed : nullptr);  // the best validation loss: none yet
  EpochProgress& p = run.progress;
  const std::string metrics = o.out + "/metrics.jsonl";
  std::fprintf(stderr,
               "recur translate: %s, %zu train, %zu valid, %zu test pairs\n"
               "model: %s encoder-decoder with attention, %sembed %lld, hidden %lld x %lld "
               "layer(s), dropout %g, max %lld bytes; %s\n",
               t.data.c_str(), train.size(), valid.size(), test.size(), o.cell.c_str(),
               o.model.bidirectional ? "bidirectional encoder, " : "",
               static_cast<long long>(o.model.embed), static_cast<long long>(o.model.hidden),
               static_cast<long long>(o.model.layers), o.model.dropout,
               static_cast<long long>(o.model.max_len), describe_compute(where).c_str());
  if (o.resume)
    std::fprintf(stderr, "resuming at epoch %lld, batch %lld (step %lld)\n",
                 static_cast<long long>(p.epoch), static_cast<long long>(p.next_batch + 1),
                 static_cast<long long>(p.step));

  std::vector<int64_t> all(train.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  const auto target_length = [&](int64_t i) {
    return static_cast<int64_t>(train[static_cast<size_t>(i)].target.size());
  };
  // The lr decays along a cosine to a tenth over all the epochs' steps.
  const int64_t steps_per_epoch = (static_cast<int64_t>(train.size()) + t.batch - 1) / t.batch;
  const LrSchedule schedule = LrSchedule::cosine(t.lr, 0, t.epochs * steps_per_epoch, t.lr / 10);
  const auto start = std::chrono::steady_clock::now();
  bool stop = false;
  for (; p.epoch <= t.epochs && !stop; ++p.epoch, p.next_batch = 0) {
    const int64_t epoch = p.epoch;
    const auto batches = length_buckets(all, target_length, t.batch, t.seed * 1000 + epoch);
    if (p.next_batch == 0) p.start_epoch();
    for (auto k = static_cast<size_t>(p.next_batch); k < batches.size(); ++k) {
      const auto step_start = std::chrono::steady_clock::now();
      const TranslationBatch b = make_translation_batch(train, batches[k]);
      run.optimizer.set_lr(schedule.lr_at(p.step));
      const double loss = train_step(model, run.optimizer, run.scaler.get(), b, t.clip, p.step++);
      p.train_seconds += seconds_since(step_start);
      p.loss_sum += loss * static_cast<double>(b.target_tokens);
      p.seen += b.target_tokens;
      p.trained += b.target_tokens;
      p.next_batch = static_cast<int64_t>(k) + 1;
      if ((k + 1) % 50 == 0 || k + 1 == batches.size() || p.step == t.steps)
        std::fprintf(stderr, "epoch %lld  batch %zu/%zu  loss %.4f  %.0f target tokens/s\n",
                     static_cast<long long>(epoch), k + 1, batches.size(),
                     p.loss_sum / static_cast<double>(p.seen),
                     static_cast<double>(p.trained) / std::max(1e-9, p.train_seconds));
      if (run.stop_mid_epoch(k + 1 == batches.size(), model.state_dict(), run_config(o)))
        return 130;
      if (t.steps > 0 && p.step >= t.steps) {
        stop = true;
        break;
      }
    }
    const double valid_loss = translation_loss(model, valid, std::max<int64_t>(t.batch, 64));
    std::fprintf(stderr, "epoch %lld  validation loss %.4f (%.3f bits per byte)\n",
                 static_cast<long long>(epoch), valid_loss, valid_loss / std::log(2.0));
    const double tokens_per_s = static_cast<double>(p.trained) / std::max(1e-9, p.train_seconds);
    append_metrics(metrics,
                   {{"kind", "val"},
                    {"epoch", epoch},
                    {"step", p.step},
                    {"train_loss", p.loss_sum / static_cast<double>(std::max<int64_t>(p.seen, 1))},
                    {"validation_loss", valid_loss},
                    {"seconds", seconds_since(start)},
                    {"train_seconds", p.train_seconds},
                    {"target_tokens_per_s", tokens_per_s}});
    const bool improved = valid_loss < p.best;
    p.best = std::min(p.best, valid_loss);
    const EpochProgress next = p.after_epoch(static_cast<int64_t>(batches.size()));
    const nlohmann::json scores = {{"epoch", epoch}, {"validation_loss", valid_loss}};
    run.save(o.out + "/last.safetensors", model.state_dict(), run_config(o), next, scores);
    if (improved)
      run.save(o.out + "/best.safetensors", model.state_dict(), run_config(o), next, scores);
    if (run.stop_after_epoch(epoch)) return 130;
  }
  const nlohmann::json training = {
      {"epochs", t.epochs},
      {"steps", p.step},
      {"best_validation_loss", p.best},
      {"train_seconds", p.train_seconds},
      {"target_tokens_per_s", static_cast<double>(p.trained) / std::max(1e-9, p.train_seconds)},
      {"compute", describe_compute(where)}};
  const nlohmann::json report = evaluate_on_test(o, where, train, test_subset(o, test), training);
  std::printf(
      "test chrF %.2f (%s; greedy %.2f) on %lld pairs (copying the source %.2f, translation "
      "memory %.2f); exact %.1f%%; best validation loss %.4f; %.1f s -> %s\n",
      report.at("chrf").get<double>(), report.at("decoding").get<std::string>().c_str(),
      report.at("greedy").at("chrf").get<double>(), report.at("test_pairs").get<long long>(),
      report.at("baselines").at("copy_source_chrf").get<double>(),
      report.at("baselines").at("translation_memory_chrf").get<double>(),
      100.0 * report.at("exact").get<double>(), p.best, seconds_since(start),
      (o.out + "/report.json").c_str());
  return 0;
}

// --model with --data: scores the checkpoint on the corpus' test pairs.
int run_scoring(const TranslateOptions& o) {
  const Placement where = apply_compute_options(o.compute);
  Translator model = load_translator(o.checkpoint, where);
  const std::string data = resolve_parallel_corpus(o.train.data);
  const std::vector<TranslationPair> test =
      test_subset(o, read_fitting(data + "/test.tsv", model.config().max_len));
  const TestScores s = score_on_test(model, test, o.train.batch, o.decode);
  std::printf("test chrF %.2f on %zu pairs (%s); exact %.1f%%; %.3f s decoding (%s)\n", s.chrf,
              test.size(), describe_decoding(o.decode).c_str(), 100.0 * s.exact, s.seconds,
              describe_compute(where).c_str());
  return 0;
}

int run_translation(const TranslateOptions& o) {
  RECUR_CHECK(!o.text.empty(),
              "recur translate --model: expected --text FILE (or - for stdin), or --data to score "
              "the test pairs");
  const Placement where = apply_compute_options(o.compute);
  Translator model = load_translator(o.checkpoint, where);
  std::ifstream file;
  if (o.text != "-") {
    file.open(o.text);
    RECUR_CHECK(file.is_open(), "--text {}: cannot open the file", o.text);
  }
  std::istream& in = o.text == "-" ? std::cin : file;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  std::vector<std::string> sources;
  for (const std::string& line : lines)
    if (!line.empty()) sources.push_back(line);
  const std::vector<std::string> translated =
      translate_all(model, sources, o.train.batch, o.decode);
  size_t next = 0;
  for (const std::string& line : lines)
    std::printf("%s\n", line.empty() ? "" : translated[next++].c_str());
  return 0;
}

}  // namespace

std::function<int()> add_translate_command(CLI::App& app) {
  auto o = std::make_shared<TranslateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "translate",
      "Train an encoder-decoder with attention on sentence pairs (--data), or translate (--model)");
  cmd->add_option("--data", o->train.data,
                  "parallel corpus: a folder with train/valid/test.tsv, or translations");
  cmd->add_option("--out", o->out, "run folder (metrics, checkpoints, translations, report)");
  cmd->add_flag("--resume", o->resume,
                "continue the run in --out from its last checkpoint (its options are the run's)");
  cmd->add_option("--model", o->checkpoint, "translate with this checkpoint of recur translate");
  cmd->add_option("--text", o->text, "with --model: a file of lines to translate, or - (stdin)");
  cmd->add_option("--cell", o->cell, "lstm, gru, rnn_tanh, rnn_relu or leaky")
      ->capture_default_str()
      ->check(CLI::IsMember({"lstm", "gru", "rnn_tanh", "rnn_relu", "leaky"}));
  cmd->add_option("--embed", o->model.embed, "byte embedding size")->capture_default_str();
  cmd->add_option("--hidden", o->model.hidden, "hidden units")->capture_default_str();
  cmd->add_option("--layers", o->model.layers, "recurrent layers")->capture_default_str();
  cmd->add_flag("--bidirectional", o->model.bidirectional,
                "a bidirectional encoder (hidden/2 units per direction)");
  cmd->add_option("--dropout", o->model.dropout,
                  "dropout on the embeddings, between layers and before the head (training)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.95));
  cmd->add_option("--max-len", o->model.max_len, "longest source and target trained on (bytes)")
      ->capture_default_str();
  o->train.add_options(cmd, "pairs");
  cmd->add_option("--test-pairs", o->test_pairs, "translate the first N test pairs (0: all)")
      ->capture_default_str();
  cmd->add_option("--beam", o->decode.beam,
                  "hypotheses kept per source when translating (1: greedy)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  cmd->add_option("--length-alpha", o->decode.length_alpha,
                  "beam search ranks by log-probability / tokens^alpha")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  add_compute_options(cmd, o->compute);
  return [o] {
    RECUR_CHECK(!o->train.data.empty() || !o->checkpoint.empty() || o->resume,
                "recur translate: expected --data (train), --model (translate) or both (score)");
    if (!o->checkpoint.empty())
      return o->train.data.empty() ? run_translation(*o) : run_scoring(*o);
    RECUR_CHECK(!o->out.empty(), "recur translate --data: expected --out DIR");
    return run_training(*o);
  };
}

}  // namespace recur::app
