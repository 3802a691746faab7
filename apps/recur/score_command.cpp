// `recur score`: bits per character of a text under a CharLM checkpoint, the text read as one
// sequence from a zero state (what a PyTorch user computes feeding it whole): the mean over
// positions 1..n-1 of -log2 p(symbol | everything before it).
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "apps/recur/commands.h"
#include "core/mapped_file.h"
#include "models/char_lm_inference.h"
#include "models/char_lm_trainer.h"

namespace recur::app {

namespace {

struct ScoreOptions {
  std::string model;
  std::string text;
  bool json = false;
  ComputeOptions compute;
};

int run_score(const ScoreOptions& o) {
  const Placement where = apply_compute_options(o.compute);
  LoadedCharLM m = load_char_lm(o.model, where);
  MappedFile file(o.text);
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  const std::vector<int64_t> ids = m.vocab->encode(text);
  const int64_t n = static_cast<int64_t>(ids.size());
  RECUR_CHECK(n >= 2, "{}: expected at least two symbols to score, got {}", o.text, n);
  const double bpc = bits_per_symbol(*m.model, ids);
  if (o.json)
    std::printf("{\"text\": \"%s\", \"symbols\": %lld, \"bpc\": %.9f}\n", o.text.c_str(),
                static_cast<long long>(n), bpc);
  else
    std::printf("%s: %lld symbols, %.6f bits per character\n", o.text.c_str(),
                static_cast<long long>(n), bpc);
  return 0;
}

}  // namespace

std::function<int()> add_score_command(CLI::App& app) {
  auto o = std::make_shared<ScoreOptions>();
  CLI::App* cmd = app.add_subcommand("score", "Bits per character of a text under a model");
  cmd->add_option("--model", o->model, "checkpoint")->required();
  cmd->add_option("--text", o->text, "text file")->required();
  cmd->add_flag("--json", o->json, "print one JSON object");
  add_compute_options(cmd, o->compute);
  return [o] { return run_score(*o); };
}

}  // namespace recur::app
