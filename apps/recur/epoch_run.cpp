#include "apps/recur/epoch_run.h"

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace recur::app {

nlohmann::json EpochTraining::to_json(const ComputeOptions& compute) const {
  return {{"data", data},
          {"batch", batch},
          {"epochs", epochs},
          {"lr", lr},
          {"clip", clip},
          {"seed", seed},
          {"precision", compute.precision}};
}

void EpochTraining::restore(const nlohmann::json& j, const ComputeOptions& compute,
                            const std::string& what) {
  try {
    data = j.at("data").get<std::string>();
    batch = j.at("batch");
    epochs = j.at("epochs");
    lr = j.at("lr");
    clip = j.at("clip");
    seed = j.at("seed");
    const std::string precision = j.at("precision").get<std::string>();
    RECUR_CHECK(compute.precision == precision,
                "--resume: the run trained with --precision {}; got --precision {}", precision,
                compute.precision);
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("{}: its training options {} cannot be resumed: {}", what, j.dump(), e.what());
  }
}

void EpochTraining::add_options(CLI::App* cmd, const std::string& items) {
  cmd->add_option("--batch", batch, items + " per step")->capture_default_str();
  cmd->add_option("--epochs", epochs, "passes over the training " + items)->capture_default_str();
  cmd->add_option("--steps", steps,
                  "stop after this many steps in all, then validate (0: every epoch; the lr "
                  "schedule, if any, still spans --epochs)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--lr", lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--clip", clip, "gradient clipping by global norm")->capture_default_str();
  cmd->add_option("--seed", seed, "initial weights and data order")->capture_default_str();
}

nlohmann::json EpochProgress::to_json() const {
  return {{"epoch", epoch},
          {"next_batch", next_batch},
          {"step", step},
          {"trained", trained},
          {"train_seconds", train_seconds},
          {"best", best},
          {"loss_sum", loss_sum},
          {"seen", seen},
          {"hits", hits}};
}

EpochProgress EpochProgress::from_json(const nlohmann::json& j) {
  EpochProgress p;
  try {
    p.epoch = j.at("epoch");
    p.next_batch = j.at("next_batch");
    p.step = j.at("step");
    p.trained = j.at("trained");
    p.train_seconds = j.at("train_seconds");
    p.best = j.at("best");
    p.loss_sum = j.at("loss_sum");
    p.seen = j.at("seen");
    p.hits = j.at("hits");
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("checkpoint: its progress {} cannot be resumed: {}", j.dump(), e.what());
  }
  return p;
}

void EpochProgress::start_epoch() {
  loss_sum = 0.0;
  seen = 0;
  hits = 0;
}

EpochProgress EpochProgress::after_epoch(int64_t batches) const {
  EpochProgress next = *this;
  if (next_batch == batches) {
    ++next.epoch;
    next.next_batch = 0;
  }
  return next;
}

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C stops at once (the last checkpoint stays)
}

}  // namespace

InterruptWatch::InterruptWatch() {
  g_interrupted = 0;
  std::signal(SIGINT, on_interrupt);
}

InterruptWatch::~InterruptWatch() {
  std::signal(SIGINT, SIG_DFL);
}

bool InterruptWatch::requested() const {
  return g_interrupted != 0;
}

Checkpoint resume_run(const std::string& out, const std::string& kind, const std::string& what) {
  RECUR_CHECK(!out.empty(), "--resume needs --out DIR (the run folder to continue)");
  const std::string path = out + "/last.safetensors";
  RECUR_CHECK(std::filesystem::exists(path), "--resume: {} has no last.safetensors to continue",
              out);
  Checkpoint ck = load_checkpoint(path, /*with_optimizer=*/true);
  RECUR_CHECK(ck.config.value("kind", "") == kind && ck.extra.contains("progress") &&
                  ck.config.contains("train") && ck.config.contains("model"),
              "--resume: {} is not a resumable {} checkpoint", path, what);
  return ck;
}

namespace {

AdamOptions adam_at(double lr) {
  AdamOptions adam;
  adam.lr = lr;
  return adam;
}

}  // namespace

EpochRun::EpochRun(const ParameterList& params, const EpochTraining& training,
                   const Placement& where, const std::string& out, const std::string& what,
                   double no_best, const Checkpoint* resumed)
    : optimizer(params, adam_at(training.lr)), out_(out) {
  if (where.precision == Precision::f16) scaler = std::make_unique<GradScaler>();
  progress.best = no_best;
  if (resumed) {
    load_state_dict(params, resumed->model);
    optimizer.load_state(resumed->optimizer, resumed->optimizer_meta);
    if (scaler) scaler->load_state(resumed->extra.at("scaler"));
    progress = EpochProgress::from_json(resumed->extra.at("progress"));
  } else {
    RECUR_CHECK(!std::filesystem::exists(out + "/last.safetensors"),
                "{} already holds a {} run; continue it with --resume or use another --out", out,
                what);
  }
  std::filesystem::create_directories(out);
}

void EpochRun::save(const std::string& path, const TensorMap& state, const nlohmann::json& config,
                    const EpochProgress& at, const nlohmann::json& scores) const {
  Checkpoint ck;
  ck.model = state;
  ck.config = config;
  ck.optimizer = optimizer.state_tensors();
  ck.optimizer_meta = optimizer.state_scalars();
  ck.extra = {{"progress", at.to_json()}, {"scaler", scaler ? scaler->state() : nlohmann::json()}};
  if (scores.is_object()) ck.extra.update(scores);  // none at a mid-epoch interrupt
  save_checkpoint(path, ck);
}

bool EpochRun::stop_mid_epoch(bool epoch_done, const TensorMap& state,
                              const nlohmann::json& config) {
  if (!interrupt.requested() || epoch_done) return false;
  save(out_ + "/last.safetensors", state, config, progress, nullptr);
  std::fprintf(stderr,
               "interrupted: checkpoint saved at step %lld; continue with --resume --out %s\n",
               static_cast<long long>(progress.step), out_.c_str());
  return true;
}

bool EpochRun::stop_after_epoch(int64_t epoch) const {
  if (!interrupt.requested()) return false;
  std::fprintf(stderr, "interrupted after epoch %lld; continue with --resume --out %s\n",
               static_cast<long long>(epoch), out_.c_str());
  return true;
}

}  // namespace recur::app
