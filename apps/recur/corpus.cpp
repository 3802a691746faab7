// --corpus FILE|NAME: a path is used as is; a known name is fetched into the cache by
// python_tools/datasets.py (through Debian's and npm's registries) the first time.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "apps/recur/commands.h"
#include "core/error.h"

namespace recur::app {

namespace {

const std::vector<std::string> kKnownCorpora = {"emails", "austen", "sotu", "moby-dick"};
const std::vector<std::string> kKnownLabelledCorpora = {"spam"};
const std::vector<std::string> kKnownParallelCorpora = {"translations"};
const std::vector<std::string> kKnownSeries = {"co2", "sunspots", "elec_equip", "nile", "macro"};

// python_tools/<script> (datasets.py, series.py): $RECUR_PYTHON_TOOLS, the source tree this program
// was built from, or the installed share/recur/python_tools beside the program.
std::string find_script(const std::string& name) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("RECUR_PYTHON_TOOLS")) candidates.push_back(env);
#ifdef RECUR_SOURCE_DIR
  candidates.push_back(std::string(RECUR_SOURCE_DIR) + "/python_tools");
#endif
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back((exe.parent_path() / "../share/recur/python_tools").string());
  for (const std::string& dir : candidates) {
    std::string script = dir + "/" + name;
    if (std::filesystem::exists(script)) return script;
  }
  RECUR_FAIL("cannot find python_tools/{} to fetch the data (set RECUR_PYTHON_TOOLS)", name);
}

// Runs `python3 python_tools/<script> path NAME`, returning its stdout (the cached file's path).
std::string fetch(const std::string& script_name, const std::string& name) {
  const std::string script = find_script(script_name);
  const std::string command = "/usr/bin/python3 '" + script + "' path '" + name + "'";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  RECUR_CHECK(pipe != nullptr, "cannot run {}", command);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  RECUR_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "fetching corpus '{}' failed ({} exited with status {})", name, script,
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  RECUR_CHECK(std::filesystem::exists(out), "corpus '{}': the fetcher named a missing file '{}'",
              name, out);
  return out;
}

// `option` names the command-line option in messages.
std::string resolve(const std::string& option, const std::string& corpus,
                    const std::vector<std::string>& known,
                    const std::string& script = "datasets.py") {
  const std::string names = fmt::format("{}", fmt::join(known, ", "));
  RECUR_CHECK(!corpus.empty(), "{}: expected a file or one of {}", option, names);
  if (std::filesystem::exists(corpus)) return corpus;
  for (const std::string& name : known)
    if (corpus == name) return fetch(script, corpus);
  RECUR_FAIL("{} {}: no such file, and not a known corpus ({})", option, corpus, names);
}

}  // namespace

std::string resolve_corpus(const std::string& corpus) {
  return resolve("--corpus", corpus, kKnownCorpora);
}

std::string resolve_labelled_corpus(const std::string& data) {
  return resolve("--data", data, kKnownLabelledCorpora);
}

std::string resolve_parallel_corpus(const std::string& data) {
  const std::filesystem::path found = resolve("--data", data, kKnownParallelCorpora);
  const std::filesystem::path dir =
      std::filesystem::is_directory(found) ? found : found.parent_path();
  RECUR_CHECK(std::filesystem::exists(dir / "train.tsv"),
              "--data {}: expected a folder holding train.tsv, valid.tsv and test.tsv", data);
  return dir.string();
}

std::string resolve_series(const std::string& data) {
  return resolve("--data", data, kKnownSeries, "series.py");
}

void append_metrics(const std::string& path, const nlohmann::json& record) {
  std::ofstream f(path, std::ios::app);
  f << record.dump() << "\n";
  f.flush();
  RECUR_CHECK(f.good(), "{}: cannot append a metrics record", path);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace recur::app
