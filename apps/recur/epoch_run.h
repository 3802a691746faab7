// What the epoch-based training commands (classify, translate) share: their training options as
// checkpoints record them, where a run is (EpochProgress), Ctrl-C between steps (InterruptWatch)
// and --resume (resume_run). A run saves last.safetensors with its optimizer, the options and the
// progress after every epoch and at a Ctrl-C mid-epoch; `--resume --out DIR` continues it and
// ends bit-identical to a run never stopped.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "apps/recur/commands.h"
#include "train/checkpoint.h"

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

// --resume: the last checkpoint of the run in `out` (with its optimizer state), checked to be a
// resumable run of checkpoint kind `kind` (`what` names it in errors: "classifier").
Checkpoint resume_run(const std::string& out, const std::string& kind, const std::string& what);
// A new run: throws unless `out` is free of a run (naming `what` and --resume).
void check_new_run(const std::string& out, const std::string& what);

}  // namespace recur::app
