// Tests for checkpoints: round trips of model, config and optimizer state; the errors for files
// that are not checkpoints, bad configs and mixed-up optimizer files; state_dict loading errors;
// and a save killed with SIGKILL at random moments always leaving a checkpoint that loads.
#include "train/checkpoint.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/safetensors.h"
#include "support/expect_error.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using ::recur::testing::expect_error;

namespace fs = std::filesystem;
using testing::ScratchDir;

// Silences the warning a load prints when it recovers from an interrupted save, for its scope.
class QuietLog {
 public:
  QuietLog() : saved_(log_level()) { set_log_level(LogLevel::error); }
  ~QuietLog() { set_log_level(saved_); }

 private:
  LogLevel saved_;
};

// A tensor whose every element depends on `version` and its index.
Tensor versioned(const Shape& shape, DType dtype, int version) {
  Tensor t = Tensor::empty(shape, dtype);
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = version * 1000 + static_cast<double>(i % 997);
  t.copy_from(Tensor::from_vector(v, shape));
  return t;
}

// A checkpoint of an LSTM language model; every value differs between versions.
Checkpoint make_checkpoint(int version, int64_t hidden = 8) {
  Checkpoint c;
  c.model["rnn.weight_ih_l0"] = versioned({4 * hidden, hidden}, DType::f32, version);
  c.model["rnn.weight_hh_l0"] = versioned({4 * hidden, hidden}, DType::f32, version + 1);
  c.model["rnn.bias_ih_l0"] = versioned({4 * hidden}, DType::f32, version + 2);
  c.model["embedding.weight"] = versioned({3, hidden}, DType::f64, version + 3);
  c.config = {{"cell", "lstm"}, {"hidden", hidden}, {"layers", 1}, {"version", version}};
  c.optimizer["exp_avg.rnn.weight_ih_l0"] = versioned({4 * hidden, hidden}, DType::f32, -version);
  c.optimizer["exp_avg_sq.rnn.weight_ih_l0"] =
      versioned({4 * hidden, hidden}, DType::f32, -version - 1);
  c.optimizer_meta = {{"name", "adam"}, {"step", 100 * version}, {"lr", 0.001}};
  c.extra = {{"epoch", version}, {"position", 12345}};
  return c;
}

::testing::AssertionResult same_tensors(const TensorMap& a, const TensorMap& b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << a.size() << " tensors vs " << b.size();
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end()) return ::testing::AssertionFailure() << "no tensor '" << name << "'";
    const Tensor& u = it->second;
    if (t.dtype() != u.dtype() || t.shape() != u.shape())
      return ::testing::AssertionFailure() << "tensor '" << name << "' differs in dtype or shape";
    Tensor tc = t.contiguous(), uc = u.contiguous();
    if (std::memcmp(tc.raw_data(), uc.raw_data(), tc.nbytes()) != 0)
      return ::testing::AssertionFailure() << "tensor '" << name << "' differs in value";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same_checkpoint(const Checkpoint& a, const Checkpoint& b) {
  if (auto r = same_tensors(a.model, b.model); !r) return r << " (model)";
  if (auto r = same_tensors(a.optimizer, b.optimizer); !r) return r << " (optimizer)";
  if (a.config != b.config) return ::testing::AssertionFailure() << "config differs";
  if (a.optimizer_meta != b.optimizer_meta)
    return ::testing::AssertionFailure() << "optimizer_meta differs";
  if (a.extra != b.extra) return ::testing::AssertionFailure() << "extra differs";
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------- save and load

TEST(Checkpoint, RoundTripsModelConfigOptimizerStateAndExtra) {
  ScratchDir dir("recur_checkpoint");
  std::string path = dir.file("model.safetensors");
  Checkpoint saved = make_checkpoint(1);
  save_checkpoint(path, saved);
  EXPECT_TRUE(same_checkpoint(load_checkpoint(path), saved));
  EXPECT_EQ(dir.entries(),
            (std::vector<std::string>{"model.safetensors", "model.safetensors.optim"}));

  // The model file is a plain safetensors file under PyTorch names, with the config as JSON.
  SafetensorsFile plain = read_safetensors(path);
  EXPECT_TRUE(same_tensors(plain.tensors, saved.model));
  EXPECT_EQ(plain.metadata.at("format"), "recur-checkpoint-1");
  EXPECT_EQ(nlohmann::json::parse(plain.metadata.at("config")), saved.config);
  EXPECT_EQ(plain.metadata.at("checkpoint_id").size(), 32u);
  SafetensorsFile optim = read_safetensors(optimizer_state_path(path));
  EXPECT_EQ(optim.metadata.at("checkpoint_id"), plain.metadata.at("checkpoint_id"));
  EXPECT_EQ(optim.metadata.at("format"), "recur-optimizer-1");

  // Saving again replaces both files, with a new id.
  Checkpoint next = make_checkpoint(2);
  save_checkpoint(path, next);
  EXPECT_TRUE(same_checkpoint(load_checkpoint(path), next));
  EXPECT_NE(read_safetensors(path).metadata.at("checkpoint_id"),
            plain.metadata.at("checkpoint_id"));
  EXPECT_EQ(dir.entries().size(), 2u);
}

TEST(Checkpoint, EmptyOptimizerStateAndNullJsonRoundTrip) {
  ScratchDir dir("recur_checkpoint");
  Checkpoint c;
  c.model["w"] = versioned({2, 2}, DType::f32, 1);
  save_checkpoint(dir.file("c"), c);
  Checkpoint loaded = load_checkpoint(dir.file("c"));
  EXPECT_TRUE(same_checkpoint(loaded, c));
  EXPECT_TRUE(loaded.optimizer.empty());
  EXPECT_TRUE(loaded.config.is_null());
}

TEST(Checkpoint, LoadsTheModelAloneWithoutItsOptimizerFile) {
  ScratchDir dir("recur_checkpoint");
  std::string path = dir.file("c.safetensors");
  Checkpoint saved = make_checkpoint(1);
  save_checkpoint(path, saved);
  ASSERT_EQ(std::remove(optimizer_state_path(path).c_str()), 0);
  Checkpoint model_only = load_checkpoint(path, /*with_optimizer=*/false);
  EXPECT_TRUE(same_tensors(model_only.model, saved.model));
  EXPECT_EQ(model_only.config, saved.config);
  EXPECT_TRUE(model_only.optimizer.empty());
  EXPECT_TRUE(model_only.optimizer_meta.is_null());
  expect_error([&] { load_checkpoint(path); }, {path, "optimizer state", "c.safetensors.optim",
                                                "is missing", "with_optimizer = false"});
}

TEST(Checkpoint, PlainSafetensorsFilesAreNotCheckpoints) {
  ScratchDir dir("recur_checkpoint");
  std::string plain = dir.file("plain.safetensors");
  write_safetensors(plain, {{"w", versioned({2}, DType::f32, 1)}});
  expect_error([&] { load_checkpoint(plain); },
               {plain, "is not a recur checkpoint", "recur-checkpoint-1", "got no \"format\""});
  std::string torch = dir.file("torch.safetensors");
  write_safetensors(torch, {{"w", versioned({2}, DType::f32, 1)}}, {{"format", "pt"}});
  expect_error([&] { load_checkpoint(torch); }, {"is not a recur checkpoint", "got \"pt\""});
  expect_error([&] { load_checkpoint(dir.file("missing")); },
               {dir.file("missing"), "No such file or directory"});
}

TEST(Checkpoint, BadOrMissingConfigIsAClearError) {
  ScratchDir dir("recur_checkpoint");
  std::string path = dir.file("c");
  write_safetensors(path, {},
                    {{"format", kCheckpointFormat}, {"checkpoint_id", "1"}, {"config", "{bad"}});
  expect_error([&] { load_checkpoint(path, false); },
               {path, "__metadata__[\"config\"] is not valid JSON"});
  write_safetensors(path, {}, {{"format", kCheckpointFormat}, {"checkpoint_id", "1"}});
  expect_error([&] { load_checkpoint(path, false); }, {path, "has no \"config\""});
  write_safetensors(
      path, {},
      {{"format", kCheckpointFormat}, {"checkpoint_id", "1"}, {"config", "{}"}, {"extra", "[1,"}});
  expect_error([&] { load_checkpoint(path, false); }, {"__metadata__[\"extra\"]"});
}

TEST(Checkpoint, OptimizerStateFromAnotherSaveIsDetected) {
  ScratchDir dir("recur_checkpoint");
  std::string first = dir.file("first"), second = dir.file("second");
  Checkpoint a = make_checkpoint(1), b = make_checkpoint(2);
  save_checkpoint(first, a);
  save_checkpoint(second, b);
  fs::copy_file(optimizer_state_path(second), optimizer_state_path(first),
                fs::copy_options::overwrite_existing);
  expect_error([&] { load_checkpoint(first); },
               {first, "belongs to another save", "checkpoint_id", "with_optimizer = false"});
  EXPECT_TRUE(same_tensors(load_checkpoint(first, false).model, a.model));
}

// The state a kill leaves between writing the new optimizer file and the new model file.
TEST(Checkpoint, InterruptedSaveFallsBackToThePreviousOptimizerState) {
  QuietLog quiet;
  ScratchDir dir("recur_checkpoint");
  std::string path = dir.file("c"), other = dir.file("other");
  Checkpoint a = make_checkpoint(1), b = make_checkpoint(2);
  save_checkpoint(path, a);
  save_checkpoint(other, b);
  fs::rename(optimizer_state_path(path), optimizer_state_path(path) + ".prev");
  fs::copy_file(optimizer_state_path(other), optimizer_state_path(path));
  EXPECT_TRUE(same_checkpoint(load_checkpoint(path), a));

  // The next save completes and cleans up.
  save_checkpoint(path, b);
  EXPECT_TRUE(same_checkpoint(load_checkpoint(path), b));
  EXPECT_FALSE(fs::exists(optimizer_state_path(path) + ".prev"));
}

TEST(Checkpoint, FailedSaveKeepsTheOldCheckpointLoadable) {
  ScratchDir dir("recur_checkpoint");
  std::string path = dir.file("c");
  Checkpoint a = make_checkpoint(1);
  save_checkpoint(path, a);
  Checkpoint broken = make_checkpoint(2);
  broken.model["rnn.weight_hh_l1"] = Tensor();
  const std::vector<std::string> before = dir.entries();
  expect_error([&] { save_checkpoint(path, broken); },
               {path, "model tensor 'rnn.weight_hh_l1' is undefined"});
  EXPECT_EQ(dir.entries(), before);  // refused before touching any file
  EXPECT_TRUE(same_checkpoint(load_checkpoint(path), a));

  Checkpoint b = make_checkpoint(3);
  save_checkpoint(path, b);
  EXPECT_TRUE(same_checkpoint(load_checkpoint(path), b));
  EXPECT_TRUE(fs::exists(optimizer_state_path(path)));
  EXPECT_FALSE(fs::exists(optimizer_state_path(path) + ".prev"));
}

// A child process saves two checkpoints alternately in a tight loop and is killed with SIGKILL
// at random moments; whatever is on disk must load and equal one of the two exactly.
TEST(Checkpoint, SurvivesSigkillAtRandomMomentsOfASave) {
  QuietLog quiet;
  ScratchDir dir("recur_checkpoint");
  std::string path = dir.file("run.safetensors");
  const Checkpoint a = make_checkpoint(1, 128), b = make_checkpoint(2, 128);  // ~1 MiB a save
  save_checkpoint(path, a);
  std::mt19937 rng(99);
  int loaded_a = 0, loaded_b = 0, interrupted = 0;
  for (int round = 0; round < 12; ++round) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0) << std::strerror(errno);
    if (child == 0) {
      // The child never returns into the test framework: it saves until killed (or, should the
      // parent fail to kill it, for at most 20 s) and leaves with _exit.
      try {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i)
          save_checkpoint(path, i % 2 == 0 ? b : a);
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(2);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 150000));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the saving child ended on its own (exit status " << WEXITSTATUS(status) << ")";

    if (dir.entries().size() > 2) ++interrupted;  // a temporary or .prev file: killed mid-save
    Checkpoint loaded = load_checkpoint(path);
    bool is_a = same_checkpoint(loaded, a), is_b = same_checkpoint(loaded, b);
    EXPECT_TRUE(is_a || is_b) << "round " << round << ": the checkpoint on disk is neither";
    loaded_a += is_a;
    loaded_b += is_b;
  }
  RecordProperty("loaded_a", loaded_a);
  RecordProperty("loaded_b", loaded_b);
  RecordProperty("killed_mid_save", interrupted);
}

// ---------------------------------------------------------------- state_dict

ParameterList make_params() {
  ParameterList params;
  params.push_back({"rnn.weight_ih_l0", Tensor::zeros({8, 4}, DType::f32), Tensor(), true});
  params.push_back({"rnn.weight_hh_l0", Tensor::zeros({8, 2}, DType::f32), Tensor(), true});
  params.push_back({"rnn.weight_hh_l1", Tensor::zeros({8, 2}, DType::f32), Tensor(), true});
  params.push_back({"norm.running_mean", Tensor::zeros({2}, DType::f64), Tensor(), false});
  return params;
}

TensorMap matching_state(int version) {
  TensorMap state;
  for (const Parameter& p : make_params())
    state[p.name] = versioned(p.value.shape(), p.value.dtype(), version);
  return state;
}

TEST(Checkpoint, StateDictNamesEveryParameterAndSharesItsStorage) {
  ParameterList params = make_params();
  TensorMap state = state_dict(params);
  ASSERT_EQ(state.size(), params.size());
  for (const Parameter& p : params) EXPECT_EQ(state.at(p.name).raw_data(), p.value.raw_data());
  params.push_back(params[0]);
  expect_error([&] { state_dict(params); }, {"unique", "'rnn.weight_ih_l0' twice"});
}

TEST(Checkpoint, LoadStateDictCopiesValuesConvertingDtype) {
  ParameterList params = make_params();
  TensorMap state = matching_state(5);
  Tensor in_f64 = state["rnn.weight_ih_l0"].to(DType::f64);  // f64 on disk, f32 parameter
  state["rnn.weight_ih_l0"] = in_f64;
  load_state_dict(params, state);
  for (const Parameter& p : params)
    EXPECT_EQ(p.value.to_vector(), state.at(p.name).to_vector()) << p.name;
  EXPECT_EQ(params[0].value.dtype(), DType::f32);            // the parameter keeps its dtype
  EXPECT_NE(params[0].value.raw_data(), in_f64.raw_data());  // copied, not aliased
}

TEST(Checkpoint, LoadStateDictReportsAMissingTensorAndChangesNothing) {
  ParameterList params = make_params();
  TensorMap state = matching_state(1);
  state.erase("rnn.weight_hh_l1");
  expect_error([&] { load_state_dict(params, state); },
               {"checkpoint is missing tensor 'rnn.weight_hh_l1'"});
  for (const Parameter& p : params)
    EXPECT_EQ(p.value.to_vector(), std::vector<double>(p.value.numel(), 0.0)) << p.name;
  state.erase("rnn.weight_ih_l0");
  expect_error([&] { load_state_dict(params, state); },
               {"missing tensor 'rnn.weight_ih_l0', 'rnn.weight_hh_l1'"});
}

TEST(Checkpoint, LoadStateDictReportsAShapeMismatch) {
  ParameterList params = make_params();
  TensorMap state = matching_state(1);
  state["rnn.weight_ih_l0"] = Tensor::zeros({8, 5}, DType::f32);
  expect_error([&] { load_state_dict(params, state); },
               {"tensor 'rnn.weight_ih_l0': expected [8,4], got [8,5]"});
}

TEST(Checkpoint, StrictLoadRejectsUnexpectedTensorsAndNonStrictIgnoresThem) {
  ParameterList params = make_params();
  TensorMap state = matching_state(2);
  state["decoder.weight"] = Tensor::zeros({3}, DType::f32);
  expect_error([&] { load_state_dict(params, state); },
               {"checkpoint has unexpected tensor 'decoder.weight'", "strict = false"});
  load_state_dict(params, state, /*strict=*/false);
  EXPECT_EQ(params[1].value.to_vector(), state.at("rnn.weight_hh_l0").to_vector());
}

TEST(Checkpoint, SavedStateDictRestoresParameters) {
  ScratchDir dir("recur_checkpoint");
  ParameterList params = make_params();
  load_state_dict(params, matching_state(7));
  Checkpoint c;
  c.model = state_dict(params);
  c.config = {{"hidden", 2}};
  save_checkpoint(dir.file("c"), c);
  for (Parameter& p : params) p.value.fill(-1.0);
  load_state_dict(params, load_checkpoint(dir.file("c")).model);
  TensorMap expected = matching_state(7);
  for (const Parameter& p : params)
    EXPECT_EQ(p.value.to_vector(), expected.at(p.name).to_vector()) << p.name;
}

}  // namespace
}  // namespace recur
