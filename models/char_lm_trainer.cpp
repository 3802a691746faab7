#include "models/char_lm_trainer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/safetensors.h"
#include "layers/loss.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/clip.h"

namespace recur {

namespace fs = std::filesystem;

namespace {

constexpr double kLn2 = 0.69314718055994530942;
constexpr int64_t kIgnore = -1;  // the batcher's target at padded steps

std::string last_path(const std::string& dir) {
  return dir + "/last.safetensors";
}
std::string best_path(const std::string& dir) {
  return dir + "/best.safetensors";
}
std::string metrics_path(const std::string& dir) {
  return dir + "/metrics.jsonl";
}

// Keeps the metrics lines of steps <= `step` (a resumed run rewrites what came after its
// checkpoint) and drops a torn last line.
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step")) continue;
    if (j["step"].get<int64_t>() <= step) kept += line + "\n";
  }
  write_file_atomic(path, [&](AtomicFileWriter& w) { w.write(kept); });
}

}  // namespace

// ---------------------------------------------------------------- config

void CharLMTrainConfig::validate() const {
  RECUR_CHECK(!corpus.empty(), "training: no corpus given");
  RECUR_CHECK(tokens == "bytes" || tokens == "chars",
              "training: tokens must be 'bytes' or 'chars', got '{}'", tokens);
  RECUR_CHECK(val_fraction > 0 && val_fraction < 0.5,
              "training: val_fraction must be in (0, 0.5), got {}", val_fraction);
  RECUR_CHECK(batch >= 1 && bptt >= 1, "training: batch and bptt must be >= 1, got {} and {}",
              batch, bptt);
  RECUR_CHECK(steps >= 1, "training: steps must be >= 1, got {}", steps);
  RECUR_CHECK(lr > 0 && std::isfinite(lr), "training: lr must be positive, got {}", lr);
  RECUR_CHECK(schedule == "constant" || schedule == "cosine",
              "training: schedule must be 'constant' or 'cosine', got '{}'", schedule);
  RECUR_CHECK(clip > 0, "training: clip must be positive, got {}", clip);
  RECUR_CHECK(eval_every >= 1 && checkpoint_every >= 1,
              "training: eval_every and checkpoint_every must be >= 1");
  RECUR_CHECK(val_tokens >= 0, "training: val_tokens must be >= 0, got {}", val_tokens);
}

nlohmann::json CharLMTrainConfig::to_json() const {
  return {{"corpus", corpus},
          {"tokens", tokens},
          {"val_fraction", val_fraction},
          {"batch", batch},
          {"bptt", bptt},
          {"steps", steps},
          {"lr", lr},
          {"schedule", schedule},
          {"warmup", warmup},
          {"min_lr", min_lr},
          {"clip", clip},
          {"weight_decay", weight_decay},
          {"eval_every", eval_every},
          {"val_tokens", val_tokens},
          {"checkpoint_every", checkpoint_every},
          {"seed", seed},
          {"init", init}};
}

CharLMTrainConfig CharLMTrainConfig::from_json(const nlohmann::json& j) {
  CharLMTrainConfig c;
  try {
    c.corpus = j.at("corpus").get<std::string>();
    c.tokens = j.at("tokens").get<std::string>();
    c.val_fraction = j.at("val_fraction").get<double>();
    c.batch = j.at("batch").get<int64_t>();
    c.bptt = j.at("bptt").get<int64_t>();
    c.steps = j.at("steps").get<int64_t>();
    c.lr = j.at("lr").get<double>();
    c.schedule = j.at("schedule").get<std::string>();
    c.warmup = j.at("warmup").get<int64_t>();
    c.min_lr = j.at("min_lr").get<double>();
    c.clip = j.at("clip").get<double>();
    c.weight_decay = j.at("weight_decay").get<double>();
    c.eval_every = j.at("eval_every").get<int64_t>();
    c.val_tokens = j.at("val_tokens").get<int64_t>();
    c.checkpoint_every = j.at("checkpoint_every").get<int64_t>();
    c.seed = j.at("seed").get<uint64_t>();
    c.init = j.value("init", std::string());
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("training config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

// ---------------------------------------------------------------- construction

CharLMTrainer::CharLMTrainer(const CharLMConfig& model, const CharLMTrainConfig& train,
                             const std::string& out_dir, const Placement& where)
    : train_(train), out_dir_(out_dir) {
  train_.validate();
  RECUR_CHECK(!fs::exists(last_path(out_dir_)),
              "{} already holds a training run: resume it (--resume) or choose another --out",
              out_dir_);
  std::error_code ec;
  fs::create_directories(out_dir_, ec);
  RECUR_CHECK(!ec && fs::is_directory(out_dir_), "cannot create the output folder {}: {}", out_dir_,
              ec.message());
  if (train_.tokens == "bytes") {
    vocab_ = std::make_unique<Vocabulary>(Vocabulary::bytes());
  } else {
    MappedFile file(train_.corpus);
    vocab_ = std::make_unique<Vocabulary>(Vocabulary::chars_of(file));
  }
  open_data();
  CharLMConfig m = model;
  m.vocab = vocab_->size();
  model_ = std::make_unique<CharLM>(m, train_.seed);
  if (!train_.init.empty()) {  // e.g. the weights a PyTorch run started from
    try {
      load_state_dict(model_->parameters(), read_safetensors(train_.init).tensors);
    } catch (const Error& e) {
      RECUR_FAIL("--init {}: {}", train_.init, e.what());
    }
  }
  model_->place(where);
  build_optimizer();
  if (where.precision == Precision::f16) scaler_ = std::make_unique<GradScaler>();
  write_file_atomic(metrics_path(out_dir_), [](AtomicFileWriter&) {});
}

void CharLMTrainer::open_data() {
  corpus_ = std::make_unique<TextCorpus>(train_.corpus, *vocab_);
  auto [train_range, val_range] = corpus_->split(train_.val_fraction);
  val_range_ = val_range;
  batcher_ = std::make_unique<TbpttBatcher>(*corpus_, train_range, train_.batch, train_.bptt);
}

void CharLMTrainer::build_optimizer() {
  AdamOptions adam;
  adam.lr = train_.lr;
  adam.weight_decay = train_.weight_decay;
  if (train_.weight_decay > 0)
    optimizer_ = std::make_unique<AdamW>(model_->parameters(), adam);
  else
    optimizer_ = std::make_unique<Adam>(model_->parameters(), adam);
  LrScheduleConfig s;
  s.name = train_.schedule;
  s.lr = train_.lr;
  s.warmup_steps = train_.warmup;
  if (train_.schedule == "cosine") {
    s.total_steps = std::max(train_.steps, train_.warmup + 1);
    s.min_lr = std::min(train_.min_lr, train_.lr);
  }
  schedule_ = std::make_unique<LrSchedule>(s);
}

nlohmann::json CharLMTrainer::checkpoint_config() const {
  return {{"kind", "char_lm"},
          {"model", model_->config().to_json()},
          {"vocab", vocab_->to_json()},
          {"train", train_.to_json()},
          {"corpus_bytes", corpus_->bytes()}};
}

std::unique_ptr<CharLMTrainer> CharLMTrainer::resume(const std::string& out_dir, int64_t steps,
                                                     const Placement& where) {
  const std::string path = last_path(out_dir);
  RECUR_CHECK(fs::exists(path), "cannot resume: {} has no checkpoint (expected {})", out_dir, path);
  Checkpoint ck = load_checkpoint(path);
  RECUR_CHECK(ck.config.value("kind", "") == "char_lm",
              "{} is not a char LM training checkpoint (config kind '{}')", path,
              ck.config.value("kind", ""));
  std::unique_ptr<CharLMTrainer> t(new CharLMTrainer());
  t->out_dir_ = out_dir;
  t->train_ = CharLMTrainConfig::from_json(ck.config.at("train"));
  if (steps > 0) t->train_.steps = steps;
  t->vocab_ = std::make_unique<Vocabulary>(Vocabulary::from_json(ck.config.at("vocab")));
  t->open_data();
  RECUR_CHECK(t->corpus_->bytes() == ck.config.value("corpus_bytes", int64_t{-1}),
              "cannot resume: the corpus {} has changed since the checkpoint ({} bytes now, {} "
              "then)",
              t->train_.corpus, t->corpus_->bytes(), ck.config.value("corpus_bytes", int64_t{-1}));
  t->model_ =
      std::make_unique<CharLM>(CharLMConfig::from_json(ck.config.at("model")), t->train_.seed);
  load_state_dict(t->model_->parameters(), ck.model);
  t->model_->place(where);
  t->build_optimizer();
  t->optimizer_->load_state(ck.optimizer, ck.optimizer_meta);
  for (auto [name, slot] : {std::pair{"carry.h", &t->carry_.h}, {"carry.c", &t->carry_.c}}) {
    auto it = ck.optimizer.find(name);
    if (it != ck.optimizer.end()) *slot = it->second.to(where.device);  // own memory, not the map
  }
  if (where.precision == Precision::f16) {
    t->scaler_ = std::make_unique<GradScaler>();
    // A run that trained in f32/bf16 so far has no scaler state: f16 starts from the default.
    if (ck.extra.contains("grad_scaler")) t->scaler_->load_state(ck.extra.at("grad_scaler"));
  }
  t->batcher_->restore(ck.extra.at("batcher"));
  t->step_ = ck.extra.at("step").get<int64_t>();
  t->best_val_bpc_ = ck.extra.value("best_val_bpc", 1e300);
  truncate_metrics(metrics_path(out_dir), t->step_);
  return t;
}

// ---------------------------------------------------------------- training

Tensor CharLMTrainer::on_device(const Tensor& host) const {
  return model_->device().is_cpu() ? host : host.to(model_->device());
}

TrainStepResult CharLMTrainer::step() {
  const auto start = std::chrono::steady_clock::now();
  TextBatch batch = batcher_->next();
  for (size_t b = 0; b < batch.reset.size(); ++b)
    if (batch.reset[b]) reset_state_row(carry_, static_cast<int64_t>(b));
  const double lr = schedule_->lr_at(step_);
  optimizer_->set_lr(lr);
  model_->zero_grad();
  ForwardOptions options;
  options.keep_for_backward = true;
  options.step = static_cast<uint64_t>(step_);
  CharLM::Output out = model_->forward(on_device(batch.inputs), carry_, batch.lengths, options);
  SoftmaxCrossEntropy xent(kIgnore);
  const double loss = xent.forward(out.logits, on_device(batch.targets));
  TrainStepResult r;
  if (scaler_) r.loss_scale = scaler_->scale();
  model_->backward(xent.backward(scaler_ ? r.loss_scale : 1.0));
  try {
    // f16: an overflow at this scale skips the step (the scale halves); the carried state goes on.
    if (scaler_)
      r.skipped = !scaler_->unscale_and_clip(optimizer_->parameters(), train_.clip).has_value();
    else
      clip_grad_norm(optimizer_->parameters(), train_.clip);
  } catch (const Error& e) {
    RECUR_FAIL("training diverged at step {}: {} (the last checkpoint is intact)", step_ + 1,
               e.what());
  }
  if (!r.skipped) optimizer_->step();
  carry_ = out.state;
  ++step_;
  r.step = step_;
  r.loss = loss;
  r.bpc = loss / kLn2;
  r.lr = lr;
  r.tokens = batch.tokens;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

double CharLMTrainer::evaluate() {
  // Fewer streams when the held-out split is small, so every stream has text to read.
  const int64_t rows = std::clamp<int64_t>(val_range_.bytes() / (4 * train_.bptt), 1, train_.batch);
  TbpttBatcher val(*corpus_, val_range_, rows, train_.bptt);
  model_->set_training(false);
  RecurrentState state;
  SoftmaxCrossEntropy xent(kIgnore);
  double nats = 0;
  int64_t tokens = 0;
  while (val.epoch() < 1 && (train_.val_tokens == 0 || tokens < train_.val_tokens)) {
    // A row counts its first pass only: once that is complete its later batches are ignored.
    const std::vector<int64_t> passes = val.rows_epochs();
    TextBatch batch = val.next();
    int64_t* targets = batch.targets.data<int64_t>();
    for (int64_t b = 0; b < rows; ++b) {
      if (passes[b] >= 1)
        for (int64_t t = 0; t < train_.bptt; ++t) targets[b * train_.bptt + t] = kIgnore;
      if (batch.reset[b]) reset_state_row(state, b);
    }
    CharLM::Output out = model_->forward(on_device(batch.inputs), state, batch.lengths);
    const double mean = xent.forward(out.logits, on_device(batch.targets));
    nats += mean * static_cast<double>(xent.counted());
    tokens += xent.counted();
    state = out.state;
  }
  model_->set_training(true);
  RECUR_CHECK(tokens > 0, "validation split of {} has no tokens", train_.corpus);
  return nats / static_cast<double>(tokens) / kLn2;
}

void CharLMTrainer::save_checkpoint(bool best) {
  Checkpoint ck;
  ck.model = model_->state_dict();
  ck.config = checkpoint_config();
  ck.optimizer = optimizer_->state_tensors();
  if (carry_.h.defined()) ck.optimizer["carry.h"] = carry_.h;
  if (carry_.c.defined()) ck.optimizer["carry.c"] = carry_.c;
  ck.optimizer_meta = optimizer_->state_scalars();
  ck.extra = {{"step", step_}, {"batcher", batcher_->state()}, {"best_val_bpc", best_val_bpc_}};
  if (scaler_) ck.extra["grad_scaler"] = scaler_->state();
  recur::save_checkpoint(last_path(out_dir_), ck);
  if (best) recur::save_checkpoint(best_path(out_dir_), ck);
}

void CharLMTrainer::log_metrics(const nlohmann::json& record) {
  std::FILE* f = std::fopen(metrics_path(out_dir_).c_str(), "a");
  RECUR_CHECK(f != nullptr, "cannot append to {}: {}", metrics_path(out_dir_),
              std::strerror(errno));
  const std::string line = record.dump() + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  const bool closed = std::fclose(f) == 0;
  RECUR_CHECK(ok && closed, "cannot write {}", metrics_path(out_dir_));
}

// ---------------------------------------------------------------- loading

LoadedCharLM load_char_lm(const std::string& checkpoint_path, const Placement& where) {
  Checkpoint ck = load_checkpoint(checkpoint_path, /*with_optimizer=*/false);
  RECUR_CHECK(ck.config.is_object() && ck.config.value("kind", "") == "char_lm",
              "{} is not a char LM checkpoint (expected config kind 'char_lm')", checkpoint_path);
  LoadedCharLM out;
  out.vocab = std::make_unique<Vocabulary>(Vocabulary::from_json(ck.config.at("vocab")));
  CharLMConfig config = CharLMConfig::from_json(ck.config.at("model"));
  RECUR_CHECK(config.vocab == out.vocab->size(),
              "{}: the model's vocab ({}) differs from its vocabulary ({} symbols)",
              checkpoint_path, config.vocab, out.vocab->size());
  out.model = std::make_unique<CharLM>(config);
  load_state_dict(out.model->parameters(), ck.model);
  out.model->place(where);
  out.model->set_training(false);
  return out;
}

}  // namespace recur
