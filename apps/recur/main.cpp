// recur: the command-line program. `recur demo` trains a small LSTM on a generated forecasting
// task and prints its loss falling. Errors print one line and exit with status 2.
#include <cstdio>
#include <map>

#include "apps/recur/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"recur: recurrent neural networks (RNN, leaky, GRU, LSTM) on CPUs and NVIDIA GPUs"};
  app.require_subcommand(1);
  std::map<CLI::App*, std::function<int()>> commands;
  auto demo = recur::app::add_demo_command(app);
  commands[app.get_subcommand("demo")] = demo;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const recur::Error& e) {
    std::fprintf(stderr, "recur: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recur: error: %s\n", e.what());
    return 2;
  }
  return 2;
}
