// The subcommands of the recur program; each registers its options on the CLI11 app and runs
// when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace recur::app {

// Adds `recur demo`; the returned function runs it (after parsing) and returns the exit status.
std::function<int()> add_demo_command(CLI::App& app);

}  // namespace recur::app
