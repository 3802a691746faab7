// `recur generate`: streams text from a CharLM checkpoint, one symbol at a time with the
// recurrent state kept (stateful inference). Sampling: temperature and top-k over the softmax,
// drawn from Philox keyed by --seed, so a seed always gives the same text.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/recur/commands.h"
#include "models/char_lm_inference.h"
#include "models/char_lm_trainer.h"

namespace recur::app {

namespace {

struct GenerateOptions {
  std::string model;
  std::string prime;
  int64_t length = 500;
  double temperature = 0.8;
  int64_t top_k = 0;  // 0: the whole vocabulary
  uint64_t seed = 1;
  bool keep_going = false;  // do not stop at the end-of-document separator
  ComputeOptions compute;
};

int run_generate(const GenerateOptions& o) {
  const Placement where = apply_compute_options(o.compute);
  RECUR_CHECK(o.length >= 0, "--length must be >= 0, got {}", o.length);
  LoadedCharLM m = load_char_lm(o.model, where);
  const Vocabulary& vocab = *m.vocab;
  std::vector<int64_t> prime = vocab.encode(o.prime);
  RECUR_CHECK(!prime.empty(), "--prime: expected some text to start from");
  std::fwrite(o.prime.data(), 1, o.prime.size(), stdout);
  std::fflush(stdout);
  SamplingOptions sampling;
  sampling.temperature = o.temperature;
  sampling.top_k = o.top_k;
  sampling.seed = o.seed;
  generate(*m.model, prime, o.length, sampling, o.keep_going ? -1 : vocab.separator(),
           [&](int64_t id) {
             const std::string symbol = vocab.decode(id);
             std::fwrite(symbol.data(), 1, symbol.size(), stdout);
             std::fflush(stdout);
           });
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace

std::function<int()> add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Write text with a trained model, as it goes");
  cmd->add_option("--model", o->model, "checkpoint (a run's best.safetensors or last)")->required();
  cmd->add_option("--prime", o->prime, "text to start from")->required();
  cmd->add_option("--length", o->length, "symbols to write at most")->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "softmax temperature (0: always the likeliest)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--top-k", o->top_k, "sample among the k likeliest (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->add_flag("--no-stop", o->keep_going, "keep going past the end of a document");
  add_compute_options(cmd, o->compute);
  return [o] { return run_generate(*o); };
}

}  // namespace recur::app
