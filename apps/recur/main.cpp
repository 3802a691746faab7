// recur: the command-line program.
//   recur demo       train a small LSTM on a generated forecasting task; watch the loss fall
//   recur train      train a character/byte language model on a corpus
//   recur generate   write text with a trained model
//   recur score      bits per character of a text under a model
//   recur classify   train a sequence classifier on labelled documents (spam or ham, ...)
//   recur predict    classify documents with a trained classifier
//   recur forecast   train an RNN on a time series; forecast its held-out end beside baselines
//   recur anomaly    train an LSTM autoencoder on a series' normal start; flag unusual values
//   recur translate  train an encoder-decoder with attention on sentence pairs; translate text
// Bad input prints one line ("recur: error: ...") and exits with status 2.
#include <cstdio>
#include <functional>
#include <utility>
#include <vector>

#include "apps/recur/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"recur: recurrent neural networks (RNN, leaky, GRU, LSTM) on CPUs and NVIDIA GPUs"};
  app.require_subcommand(1);
  std::vector<std::pair<const char*, std::function<int()>>> commands = {
      {"demo", recur::app::add_demo_command(app)},
      {"train", recur::app::add_train_command(app)},
      {"generate", recur::app::add_generate_command(app)},
      {"score", recur::app::add_score_command(app)},
      {"classify", recur::app::add_classify_command(app)},
      {"predict", recur::app::add_predict_command(app)},
      {"forecast", recur::app::add_forecast_command(app)},
      {"anomaly", recur::app::add_anomaly_command(app)},
      {"translate", recur::app::add_translate_command(app)},
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "recur: error: %s (see recur --help)\n", e.what());
    return 2;
  }
  try {
    for (auto& [name, run] : commands)
      if (app.got_subcommand(name)) return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recur: error: %s\n", e.what());
    return 2;
  }
  return 2;
}
