// `recur demo`: trains Recurrent(cell) -> Linear on one-step forecasting of noisy sine mixtures
// (datasets/sine_mixture.h) with Adam and gradient clipping, printing the training loss as it
// falls, then scores held-out batches against the "repeat the last value" baseline.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "apps/recur/commands.h"
#include "core/parallel.h"
#include "datasets/sine_mixture.h"
#include "layers/graph.h"
#include "layers/linear.h"
#include "layers/loss.h"
#include "layers/recurrent.h"
#include "train/adam.h"
#include "train/clip.h"

namespace recur::app {

namespace {

struct DemoOptions {
  std::string cell = "lstm";
  int64_t hidden = 32;
  int64_t layers = 1;
  int64_t batch = 32;
  int64_t seq_len = 64;
  int64_t steps = 300;
  double lr = 1e-2;
  double clip = 1.0;
  uint64_t seed = 1;
  int threads = 0;
};

int run_demo(const DemoOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  RecurrentConfig rc;
  rc.cell = cell_from_name(o.cell);
  rc.input_size = 1;
  rc.hidden_size = o.hidden;
  rc.num_layers = o.layers;
  Graph model;
  model.add_input("series");
  model.add("rnn", Recurrent(rc, DType::f32, o.seed), {"series"});
  model.add("head", Linear(o.hidden, 1, true, DType::f32, o.seed + 1), {"rnn:0"});
  model.set_outputs({"head"});
  AdamOptions adam;
  adam.lr = o.lr;
  Adam optimizer(model.parameters(), adam);
  MeanSquaredError mse;

  std::printf(
      "recur demo: %s, %lld layer(s) x %lld hidden, batch %lld x %lld steps, %lld "
      "updates, %d threads\n",
      o.cell.c_str(), static_cast<long long>(o.layers), static_cast<long long>(o.hidden),
      static_cast<long long>(o.batch), static_cast<long long>(o.seq_len),
      static_cast<long long>(o.steps), num_threads());
  std::printf("task: predict the next value of noisy sine mixtures (MSE)\n\n");
  const auto start = std::chrono::steady_clock::now();
  double first = 0, smoothed = 0;
  for (int64_t step = 1; step <= o.steps; ++step) {
    SeriesBatch batch = sine_mixture_batch(o.batch, o.seq_len, o.seed, step);
    ForwardOptions fw;
    fw.keep_for_backward = true;
    fw.step = static_cast<uint64_t>(step);
    optimizer.zero_grad();
    double loss = mse.forward(model.forward({{"series", batch.x}}, fw)[0], batch.y);
    model.backward({mse.backward()});
    clip_grad_norm(model.parameters(), o.clip);
    optimizer.step();
    smoothed = step == 1 ? loss : 0.9 * smoothed + 0.1 * loss;
    if (step == 1) first = loss;
    if (step == 1 || step % 25 == 0 || step == o.steps) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("step %5lld  loss %.5f  (smoothed %.5f)  %.1fs\n", static_cast<long long>(step),
                  loss, smoothed, secs);
      std::fflush(stdout);
    }
  }

  // Held-out batches (indices past the training ones), inference mode.
  model.set_training(false);
  double model_mse = 0, baseline_mse = 0;
  const int eval_batches = 8;
  for (int i = 0; i < eval_batches; ++i) {
    SeriesBatch batch = sine_mixture_batch(o.batch, o.seq_len, o.seed, (1ull << 40) + i);
    model_mse += mse.forward(model.forward({{"series", batch.x}})[0], batch.y) / eval_batches;
    baseline_mse += persistence_mse(batch) / eval_batches;
  }
  std::printf("\ntraining loss: %.5f -> %.5f\n", first, smoothed);
  std::printf("held-out MSE: model %.5f, repeat-last-value baseline %.5f (model/baseline %.2f)\n",
              model_mse, baseline_mse, model_mse / baseline_mse);
  return 0;
}

}  // namespace

std::function<int()> add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Train a small recurrent model on a generated forecasting task; watch the loss fall");
  cmd->add_option("--cell", o->cell, "rnn_tanh, rnn_relu, leaky, gru or lstm")
      ->capture_default_str();
  cmd->add_option("--hidden", o->hidden, "hidden units")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--layers", o->layers, "recurrent layers")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  cmd->add_option("--batch", o->batch, "sequences per batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--seq-len", o->seq_len, "steps per sequence")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--steps", o->steps, "optimizer updates")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--lr", o->lr, "Adam learning rate")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--clip", o->clip, "gradient clipping by global norm")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "seed of the weights and the data")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  return [o] { return run_demo(*o); };
}

}  // namespace recur::app
