// Training a CharLM on a text corpus: TBPTT batches (datasets/tbptt_batcher.h) with the recurrent
// state carried from chunk to chunk and reset at document starts, Adam(W) with an LR schedule
// and gradient clipping, periodic validation in bits per character, metrics.jsonl, and atomic
// checkpoints (last and best) that hold everything needed to resume bit for bit: parameters,
// optimizer moments, the batcher's cursors, the carried state and the step.
//
// Run folder layout: last.safetensors (+ .optim), best.safetensors (+ .optim), metrics.jsonl.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "datasets/tbptt_batcher.h"
#include "datasets/text_corpus.h"
#include "datasets/vocabulary.h"
#include "models/char_lm.h"
#include "train/grad_scaler.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace recur {

struct CharLMTrainConfig {
  std::string corpus;            // path of the corpus file
  std::string tokens = "bytes";  // "bytes" or "chars"
  double val_fraction = 0.05;
  int64_t batch = 64;
  int64_t bptt = 128;
  int64_t steps = 1000;  // total optimizer steps
  double lr = 2e-3;
  std::string schedule = "cosine";  // "constant" or "cosine" (to min_lr over `steps`)
  int64_t warmup = 0;
  double min_lr = 1e-4;
  double clip = 1.0;
  double weight_decay = 0.0;  // > 0: AdamW
  int64_t eval_every = 200;
  int64_t val_tokens = 1 << 18;  // validation tokens per evaluation (0: the whole split)
  int64_t checkpoint_every = 200;
  uint64_t seed = 1;
  std::string init;  // optional: start from these weights (a checkpoint or a plain state_dict)

  void validate() const;
  nlohmann::json to_json() const;
  static CharLMTrainConfig from_json(const nlohmann::json& j);
};

struct TrainStepResult {
  int64_t step = 0;  // steps done after this one
  double loss = 0;   // mean cross-entropy (nats) over the batch's tokens
  double bpc = 0;    // loss / ln 2
  double lr = 0;
  int64_t tokens = 0;  // real tokens in the batch
  // f16 training (train/grad_scaler.h): the loss scale this step ran with, and whether its
  // gradients overflowed so the optimizer step was skipped. 0 and false without loss scaling.
  double loss_scale = 0;
  bool skipped = false;
  double seconds = 0;  // wall time of the step
};

class CharLMTrainer {
 public:
  // A fresh run writing into out_dir (created if missing).
  // The model trains where `where` says (weights are initialised and loaded on the CPU, then
  // moved).
  CharLMTrainer(const CharLMConfig& model, const CharLMTrainConfig& train,
                const std::string& out_dir, const Placement& where = {});
  // Continues the run in out_dir from its last checkpoint; `steps` > 0 replaces the total. The
  // trajectory is bit-identical to an uninterrupted run on the same device and engine.
  static std::unique_ptr<CharLMTrainer> resume(const std::string& out_dir, int64_t steps = 0,
                                               const Placement& where = {});

  TrainStepResult step();
  // Validation bits per character over (up to val_tokens of) the held-out split.
  double evaluate();
  // Writes last.safetensors atomically (and best.safetensors when `best`).
  void save_checkpoint(bool best = false);
  // Appends one JSON line to metrics.jsonl (flushed).
  void log_metrics(const nlohmann::json& record);

  int64_t steps_done() const { return step_; }
  // Optimizer steps skipped because f16 gradients overflowed (0 without loss scaling).
  int64_t skipped_steps() const { return scaler_ ? scaler_->skipped_steps() : 0; }
  int64_t total_steps() const { return train_.steps; }
  double best_val_bpc() const { return best_val_bpc_; }
  void set_best_val_bpc(double bpc) { best_val_bpc_ = bpc; }
  const CharLMTrainConfig& train_config() const { return train_; }
  const Vocabulary& vocabulary() const { return *vocab_; }
  CharLM& model() { return *model_; }
  const std::string& out_dir() const { return out_dir_; }
  // The checkpoint's JSON config: {"kind": "char_lm", "model": ..., "vocab": ..., "train": ...}.
  nlohmann::json checkpoint_config() const;

 private:
  CharLMTrainer() = default;
  void open_data();
  void build_optimizer();
  // A host batch tensor on the model's device (an explicit copy when that is a GPU).
  Tensor on_device(const Tensor& host) const;

  CharLMTrainConfig train_;
  std::string out_dir_;
  std::unique_ptr<Vocabulary> vocab_;
  std::unique_ptr<TextCorpus> corpus_;
  std::unique_ptr<TbpttBatcher> batcher_;
  TextRange val_range_;
  std::unique_ptr<CharLM> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<GradScaler> scaler_;  // f16 math only: dynamic loss scaling
  RecurrentState carry_;                // [L,B,H] state carried between chunks
  int64_t step_ = 0;
  double best_val_bpc_ = 1e300;
};

// Loads a CharLM (and its vocabulary) from a checkpoint written by CharLMTrainer or made to its
// format; throws naming the file when it is not a char LM checkpoint.
struct LoadedCharLM {
  std::unique_ptr<CharLM> model;
  std::unique_ptr<Vocabulary> vocab;
};
LoadedCharLM load_char_lm(const std::string& checkpoint_path, const Placement& where = {});

}  // namespace recur
