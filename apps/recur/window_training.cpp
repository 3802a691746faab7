#include "apps/recur/window_training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "apps/recur/commands.h"
#include "core/error.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/clip.h"
#include "train/lr_schedule.h"

namespace recur::app {

nlohmann::json WindowTraining::to_json() const {
  return {{"batch", batch}, {"steps", steps}, {"lr", lr}, {"clip", clip}, {"seed", seed}};
}

SeriesColumns read_command_columns(const std::string& path, std::vector<std::string>& names,
                                   const std::vector<std::string>& trained, int64_t model_features,
                                   const std::string& checkpoint) {
  if (names.empty()) names = trained;
  SeriesColumns columns = read_series_columns(path, names);
  RECUR_CHECK(model_features == 0 || static_cast<int64_t>(columns.size()) == model_features,
              "--model {} reads {} column(s); --column names {}", checkpoint, model_features,
              columns.size());
  return columns;
}

void add_window_training_options(CLI::App* cmd, WindowTraining& t, int64_t& hidden, int64_t& layers,
                                 int64_t& window, bool& difference) {
  cmd->add_option("--cell", t.cell, "lstm, gru, rnn_tanh, rnn_relu or leaky")
      ->capture_default_str()
      ->check(CLI::IsMember({"lstm", "gru", "rnn_tanh", "rnn_relu", "leaky"}));
  cmd->add_option("--hidden", hidden, "hidden units")->capture_default_str();
  cmd->add_option("--layers", layers, "recurrent layers")->capture_default_str();
  cmd->add_option("--window", window, "values per training window")->capture_default_str();
  cmd->add_flag("--difference", difference, "model first differences (for a series with a trend)");
  cmd->add_option("--batch", t.batch, "windows per step")->capture_default_str();
  cmd->add_option("--steps", t.steps, "training steps")->capture_default_str();
  cmd->add_option("--lr", t.lr, "Adam learning rate (cosine decay to a tenth)")
      ->capture_default_str();
  cmd->add_option("--clip", t.clip, "gradient clipping by global norm")->capture_default_str();
  cmd->add_option("--seed", t.seed, "initial weights and windows")->capture_default_str();
}

TrainedWeights train_on_windows(const WindowModel& model, const std::vector<double>& z,
                                int64_t window, const WindowTraining& t, const std::string& metrics,
                                int64_t features) {
  RECUR_CHECK(t.batch >= 1 && t.steps >= 1, "--batch, --steps: expected at least 1");
  AdamOptions adam;
  adam.lr = t.lr;
  Adam optimizer(model.parameters, adam);
  const LrSchedule schedule = LrSchedule::cosine(t.lr, 0, t.steps, t.lr / 10);
  const auto start = std::chrono::steady_clock::now();
  const int64_t report_every = std::max<int64_t>(1, t.steps / 20);
  TrainedWeights best{t.steps, INFINITY};
  TensorMap best_weights;
  for (int64_t step = 0; step < t.steps; ++step) {
    const double loss =
        model.step_loss(series_windows(z, window, t.batch, t.seed, static_cast<uint64_t>(step),
                                       DType::f32, features),
                        step);
    RECUR_CHECK(std::isfinite(loss), "step {}: the loss is {}; lower --lr", step + 1, loss);
    clip_grad_norm(model.parameters, t.clip);
    optimizer.set_lr(schedule.lr_at(step));
    optimizer.step();
    if ((step + 1) % report_every != 0 && step + 1 != t.steps) continue;
    nlohmann::json record = {{"step", step + 1}, {"loss", loss}, {"lr", optimizer.lr()}};
    std::fprintf(stderr, "step %5lld  loss %.5f  lr %.2e", static_cast<long long>(step + 1), loss,
                 optimizer.lr());
    if (model.validate) {
      const double score = model.validate();
      record["validation_score"] = score;
      std::fprintf(stderr, "  validation %.5g", score);
      if (score < best.score) {
        best = {step + 1, score};
        best_weights.clear();
        for (const auto& [name, value] : model.state_dict()) best_weights[name] = value.clone();
      }
    }
    record["seconds"] = seconds_since(start);
    std::fprintf(stderr, "  %.1f s\n", seconds_since(start));
    append_metrics(metrics, record);
  }
  if (best_weights.empty()) return {t.steps, 0.0};
  load_state_dict(model.parameters, best_weights);
  std::fprintf(stderr, "kept the weights of step %lld (validation %.5g)\n",
               static_cast<long long>(best.step), best.score);
  return best;
}

}  // namespace recur::app
