// What the epoch-based training commands (classify, translate) share: their training options as
// checkpoints record them, where a run is (EpochProgress), Ctrl-C between steps (InterruptWatch)
// and --resume (resume_run). A run saves last.safetensors with its optimizer, the options and the
// progress after every epoch and at a Ctrl-C mid-epoch; `--resume --out DIR` continues it and
// ends bit-identical to a run never stopped.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include <memory>

#include "apps/recur/commands.h"
#include "kernels/cell.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/grad_scaler.h"

namespace recur::app {

// The options of an epoch-based run; a checkpoint's "train" holds them (and --precision).
struct EpochTraining {
  std::string data;  // the corpus' path (a name resolves to it: the path is what resumes)
  int64_t batch = 64;
  int64_t epochs = 10;
  int64_t steps = 0;  // stop after this many steps in all (0: every epoch)
  double lr = 2e-3;
  double clip = 1.0;
  uint64_t seed = 1;

  // {"data", "batch", "epochs", "lr", "clip", "seed", "precision"}
  nlohmann::json to_json(const ComputeOptions& compute) const;
  // Takes to_json's fields from a checkpoint's "train" (steps stay: a resumed run takes --steps
  // from its command line); throws naming `what` when one is missing, and unless `compute`'s
  // --precision is the run's.
  void restore(const nlohmann::json& j, const ComputeOptions& compute, const std::string& what);
  // --batch, --epochs, --steps, --lr, --clip, --seed, with `items` naming what a batch holds.
  void add_options(CLI::App* cmd, const std::string& items);
};

// Where a run is: the next batch to train on, and the counters a resumed run carries on from.
struct EpochProgress {
  int64_t epoch = 1;           // the epoch of the next batch
  int64_t next_batch = 0;      // its index among that epoch's batches
  int64_t step = 0;            // optimizer steps over all epochs
  int64_t trained = 0;         // items (documents, target tokens) over all epochs
  double train_seconds = 0.0;  // in training steps (not validation, not checkpoints)
  double best = 0.0;           // the best validation score so far (a command's own meaning)
  double loss_sum = 0.0;       // this epoch's so far, weighted by items
  int64_t seen = 0;            // items this epoch
  int64_t hits = 0;            // correct predictions this epoch (classify)

  nlohmann::json to_json() const;
  static EpochProgress from_json(const nlohmann::json& j);
  // Starts the counters of a new epoch (at its first batch).
  void start_epoch();
  // The progress to save after epoch `epoch` of `batches` batches, validated: the next epoch's
  // first batch, or this epoch's next one when --steps ended it early.
  EpochProgress after_epoch(int64_t batches) const;
};

// Ctrl-C while alive: the first sets requested() (the loop saves and exits 130 at the next step);
// a second stops the program at once (the last checkpoint stays).
class InterruptWatch {
 public:
  InterruptWatch();
  ~InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;
  bool requested() const;
};

// What a run trains with besides its model: Adam at --lr, a loss scaler under f16 math, and the
// progress; fresh, or restored from the checkpoint of a run being resumed.
class EpochRun {
 public:
  // A new run into `out` (throws when it already holds one, naming `what`: "classifier"), its
  // progress's best score `no_best` (a value every real score beats); or, given `resumed`, the
  // model's parameters, the optimizer, the scaler and the progress as the run left them.
  EpochRun(const ParameterList& params, const EpochTraining& training, const Placement& where,
           const std::string& out, const std::string& what, double no_best,
           const Checkpoint* resumed);

  Adam optimizer;
  std::unique_ptr<GradScaler> scaler;  // f16 only
  EpochProgress progress;
  InterruptWatch interrupt;  // Ctrl-C while the run lives

  // Writes a checkpoint --resume can continue from: the model's `state`, `config` ("kind",
  // "model", "train"), the optimizer and scaler, `at` (where the run is) and `scores` (an object
  // merged into its extra, or null).
  void save(const std::string& path, const TensorMap& state, const nlohmann::json& config,
            const EpochProgress& at, const nlohmann::json& scores) const;
  // After a training step: true (exit 130) when Ctrl-C came and the epoch has batches left,
  // once last.safetensors holds the run as it is and stderr says how to resume.
  bool stop_mid_epoch(bool epoch_done, const TensorMap& state, const nlohmann::json& config);
  // After an epoch's checkpoints: true (exit 130) when Ctrl-C came, saying how to resume.
  bool stop_after_epoch(int64_t epoch) const;

 private:
  std::string out_;
};

// --resume: the last checkpoint of the run in `out` (with its optimizer state), checked to be a
// resumable run of checkpoint kind `kind` (`what` names it in errors: "classifier").
Checkpoint resume_run(const std::string& out, const std::string& kind, const std::string& what);

// --resume for a command whose options hold out, model (a config with from_json), cell, train
// (EpochTraining) and compute: restores the model config and the training options of the run in
// o.out; returns its last checkpoint.
template <class CommandOptions>
Checkpoint resume_command(CommandOptions& o, const std::string& kind, const std::string& what) {
  Checkpoint ck = resume_run(o.out, kind, what);
  o.model = decltype(o.model)::from_json(ck.config.at("model"));
  o.cell = cell_name(o.model.cell);
  o.train.restore(ck.config.at("train"), o.compute, o.out + "/last.safetensors");
  return ck;
}

}  // namespace recur::app
