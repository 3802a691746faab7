// The subcommands of the recur program. Each registers its options on the CLI11 app and returns
// the function that runs it after parsing; that function returns the exit status (2 for bad
// input, with one clear line on stderr).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "models/char_lm.h"

namespace recur::app {

std::function<int()> add_demo_command(CLI::App& app);
std::function<int()> add_train_command(CLI::App& app);
std::function<int()> add_generate_command(CLI::App& app);
std::function<int()> add_score_command(CLI::App& app);
std::function<int()> add_classify_command(CLI::App& app);
std::function<int()> add_predict_command(CLI::App& app);
std::function<int()> add_forecast_command(CLI::App& app);
std::function<int()> add_anomaly_command(CLI::App& app);
std::function<int()> add_translate_command(CLI::App& app);

// The options every compute command takes, checked against what this build and machine can run:
// throws recur::Error naming what is not available ("--device cuda: no GPU is visible ...").
struct ComputeOptions {
  std::string device = "auto";    // auto | cpu | cuda
  std::string engine = "auto";    // auto | reference | fused | cudnn | persistent
  std::string precision = "f32";  // f32 | bf16 | f16
  int threads = 0;                // CPU threads (0: all)
  bool tf32 = false;              // f32 GEMMs on a GPU may use TF32 tensor cores
};
void add_compute_options(CLI::App* cmd, ComputeOptions& o);
// Validates and applies (thread count); returns where the model runs. --device auto is the first
// GPU when there is one, else the CPU.
Placement apply_compute_options(const ComputeOptions& o);
// "cuda:0, engine auto, f32" / "cpu, engine auto, f32, 2 threads"
std::string describe_compute(const Placement& where);

// Resolves --corpus: an existing file path is used as is; a known corpus name (emails, austen,
// sotu, moby-dick) is looked up in the cache and fetched by python_tools/datasets.py when
// missing. Throws naming the problem otherwise.
std::string resolve_corpus(const std::string& corpus);
// The same for a labelled corpus (--data of classify and predict): a file, or `spam`.
std::string resolve_labelled_corpus(const std::string& data);
// The same for a parallel corpus (--data of translate): a folder holding train.tsv, valid.tsv and
// test.tsv (or one of those files), or `translations`; returns the folder.
std::string resolve_parallel_corpus(const std::string& data);
// The same for a time series (--data of forecast): a CSV file, or co2, sunspots, elec_equip, nile,
// macro (exported from Debian's python3-statsmodels by python_tools/series.py).
std::string resolve_series(const std::string& data);

// Run folders: appends one JSON line to `path` (metrics.jsonl), flushed; throws on I/O errors.
void append_metrics(const std::string& path, const nlohmann::json& record);
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace recur::app
