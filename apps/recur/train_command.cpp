// `recur train`: trains a CharLM on a corpus with a progress line (step, tokens/s, loss, bpc,
// ETA), periodic validation, metrics.jsonl, atomic last/best checkpoints, exact --resume, and
// Ctrl-C that saves a checkpoint before exiting.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "apps/recur/commands.h"
#include "core/error.h"
#include "models/char_lm_trainer.h"

namespace recur::app {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C stops at once (the last checkpoint stays)
}

struct TrainOptions {
  CharLMConfig model;
  CharLMTrainConfig train;
  std::string cell = "lstm";
  std::string corpus;
  std::string out;
  std::string time_budget;  // "90s", "5m", "1h"; empty: none
  bool resume = false;
  bool steps_given = false;  // --steps on a resume replaces the run's total
  ComputeOptions compute;
};

double parse_duration(const std::string& s) {
  if (s.empty()) return 0;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    RECUR_FAIL("--time {}: expected a duration such as 90s, 5m or 1h", s);
  }
  const std::string unit = s.substr(used);
  const double scale = unit == "" || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : -1;
  RECUR_CHECK(scale > 0 && v > 0, "--time {}: expected a duration such as 90s, 5m or 1h", s);
  return v * scale;
}

std::string format_seconds(double s) {
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

// One status line: rewritten in place on a terminal, printed every few seconds otherwise.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), tty_(::isatty(2)) {}
  // fraction: how much of the run is done (steps, or time when a budget ends it sooner).
  void update(const TrainStepResult& r, double fraction, double tokens_per_s, double eta_s,
              bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!tty_ && !force && now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    const int width = 20;
    const int filled = static_cast<int>(width * std::min(1.0, std::max(0.0, fraction)));
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "%sstep %lld/%lld [%s] %.0f tok/s  loss %.4f  bpc %.3f  lr %.2e  ETA %s%s",
                 tty_ ? "\r" : "", static_cast<long long>(r.step), static_cast<long long>(total_),
                 bar.c_str(), tokens_per_s, r.loss, r.bpc, r.lr, format_seconds(eta_s).c_str(),
                 tty_ ? "\033[K" : "\n");
    std::fflush(stderr);
  }
  void message(const std::string& line) {
    std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", line.c_str());
    std::fflush(stderr);
  }

 private:
  int64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point last_{};
};

int run_train(TrainOptions& o) {
  const Placement where = apply_compute_options(o.compute);
  const std::string compute = describe_compute(where);
  const double budget = parse_duration(o.time_budget);
  std::unique_ptr<CharLMTrainer> trainer;
  if (o.resume) {
    RECUR_CHECK(!o.out.empty(), "--resume needs --out DIR (the run folder to continue)");
    trainer = CharLMTrainer::resume(o.out, o.steps_given ? o.train.steps : 0, where);
  } else {
    o.train.corpus = resolve_corpus(o.corpus);
    o.model.cell = cell_from_name(o.cell);
    if (o.out.empty()) o.out = "runs/" + std::filesystem::path(o.train.corpus).stem().string();
    trainer = std::make_unique<CharLMTrainer>(o.model, o.train, o.out, where);
  }
  const CharLMTrainConfig& tc = trainer->train_config();
  const CharLMConfig& mc = trainer->model().config();
  std::fprintf(stderr,
               "recur train: %s, %s %lld x %lld (embed %lld, vocab %lld), batch %lld x bptt %lld, "
               "%s\n  corpus %s, run folder %s, %s at step %lld of %lld\n",
               tc.tokens.c_str(), cell_name(mc.cell), static_cast<long long>(mc.layers),
               static_cast<long long>(mc.hidden), static_cast<long long>(mc.embed),
               static_cast<long long>(mc.vocab), static_cast<long long>(tc.batch),
               static_cast<long long>(tc.bptt), compute.c_str(), tc.corpus.c_str(),
               trainer->out_dir().c_str(), o.resume ? "resuming" : "starting",
               static_cast<long long>(trainer->steps_done()), static_cast<long long>(tc.steps));

  g_interrupted = 0;
  std::signal(SIGINT, on_interrupt);
  Progress progress(tc.steps);
  const auto start = std::chrono::steady_clock::now();
  const int64_t first_step = trainer->steps_done();
  int64_t tokens = 0;
  double tokens_per_s = 0;
  while (trainer->steps_done() < tc.steps) {
    TrainStepResult r = trainer->step();
    tokens += r.tokens;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    tokens_per_s = tokens / std::max(elapsed, 1e-9);
    const double per_step = elapsed / static_cast<double>(r.step - first_step);
    double eta = per_step * static_cast<double>(tc.steps - r.step);
    if (budget > 0) eta = std::min(eta, std::max(0.0, budget - elapsed));
    const bool last = r.step == tc.steps || (budget > 0 && elapsed >= budget) || g_interrupted;
    double fraction = static_cast<double>(r.step) / static_cast<double>(tc.steps);
    if (budget > 0) fraction = std::max(fraction, elapsed / budget);
    progress.update(r, fraction, tokens_per_s, eta, last || r.step % tc.eval_every == 0);
    if (r.step % 10 == 0 || last) {
      nlohmann::json record = {{"step", r.step},   {"kind", "train"},
                               {"loss", r.loss},   {"bpc", r.bpc},
                               {"lr", r.lr},       {"tokens_per_s", tokens_per_s},
                               {"time_s", elapsed}};
      if (r.loss_scale > 0) {  // f16: dynamic loss scaling
        record["loss_scale"] = r.loss_scale;
        record["skipped_steps"] = trainer->skipped_steps();
      }
      trainer->log_metrics(record);
    }
    const bool eval = r.step % tc.eval_every == 0 || last;
    if (eval) {
      const double val = trainer->evaluate();
      const bool best = val < trainer->best_val_bpc();
      if (best) trainer->set_best_val_bpc(val);
      trainer->log_metrics({{"step", r.step}, {"kind", "val"}, {"bpc", val}});
      progress.message("step " + std::to_string(r.step) + ": validation bpc " +
                       std::to_string(val) + (best ? " (best)" : ""));
      trainer->save_checkpoint(best);
    } else if (r.step % tc.checkpoint_every == 0) {
      trainer->save_checkpoint();
    }
    if (g_interrupted) {
      progress.message("interrupted: checkpoint saved at step " + std::to_string(r.step) +
                       "; continue with --resume --out " + trainer->out_dir());
      std::signal(SIGINT, SIG_DFL);
      return 130;
    }
    if (budget > 0 && elapsed >= budget) {
      progress.message("time budget reached at step " + std::to_string(r.step));
      break;
    }
  }
  std::signal(SIGINT, SIG_DFL);
  std::fprintf(stderr, "done: %lld steps, best validation bpc %.4f, checkpoints in %s\n",
               static_cast<long long>(trainer->steps_done()), trainer->best_val_bpc(),
               trainer->out_dir().c_str());
  return 0;
}

}  // namespace

std::function<int()> add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a character/byte language model on a corpus");
  cmd->add_option("--corpus", o->corpus, "a text file, or emails, austen, sotu, moby-dick");
  cmd->add_option("--tokens", o->train.tokens, "bytes (256 symbols) or chars (the corpus's)")
      ->capture_default_str()
      ->check(CLI::IsMember({"bytes", "chars"}));
  cmd->add_option("--cell", o->cell, "lstm, gru, rnn_tanh, rnn_relu or leaky")
      ->capture_default_str();
  cmd->add_option("--layers", o->model.layers, "recurrent layers")->capture_default_str();
  cmd->add_option("--hidden", o->model.hidden, "hidden units per layer")->capture_default_str();
  cmd->add_option("--embed", o->model.embed, "embedding size")->capture_default_str();
  cmd->add_option("--dropout", o->model.dropout, "dropout between recurrent layers")
      ->capture_default_str();
  cmd->add_option("--batch", o->train.batch, "parallel streams")->capture_default_str();
  cmd->add_option("--bptt", o->train.bptt, "steps per chunk")->capture_default_str();
  cmd->add_option("--steps", o->train.steps, "optimizer steps in all")->capture_default_str();
  cmd->add_option("--time", o->time_budget, "stop after this long (90s, 5m, 1h)");
  cmd->add_option("--lr", o->train.lr, "learning rate")->capture_default_str();
  cmd->add_option("--schedule", o->train.schedule, "constant or cosine")
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "cosine"}));
  cmd->add_option("--warmup", o->train.warmup, "linear warm-up steps")->capture_default_str();
  cmd->add_option("--min-lr", o->train.min_lr, "cosine floor")->capture_default_str();
  cmd->add_option("--clip", o->train.clip, "gradient clipping by global norm")
      ->capture_default_str();
  cmd->add_option("--weight-decay", o->train.weight_decay, "AdamW weight decay (0: Adam)")
      ->capture_default_str();
  cmd->add_option("--val-fraction", o->train.val_fraction, "held-out share of the corpus")
      ->capture_default_str();
  cmd->add_option("--eval-every", o->train.eval_every, "validate (and checkpoint) every N steps")
      ->capture_default_str();
  cmd->add_option("--val-tokens", o->train.val_tokens, "tokens per validation (0: all)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", o->train.checkpoint_every, "checkpoint every N steps")
      ->capture_default_str();
  cmd->add_option("--seed", o->train.seed, "seed of weights and dropout")->capture_default_str();
  cmd->add_option("--init", o->train.init,
                  "start from these weights (a recur checkpoint or a PyTorch state_dict saved as "
                  "safetensors)");
  cmd->add_option("--out", o->out, "run folder (default runs/<corpus>)");
  cmd->add_flag("--resume", o->resume, "continue the run in --out from its last checkpoint");
  add_compute_options(cmd, o->compute);
  return [o, cmd] {
    o->steps_given = cmd->count("--steps") > 0;
    RECUR_CHECK(o->resume || !o->corpus.empty(), "recur train: --corpus is required");
    return run_train(*o);
  };
}

}  // namespace recur::app
