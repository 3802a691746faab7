// Saving and loading checkpoints (layout in train/checkpoint.h), and state_dict I/O.
//
// Why a kill never leaves an unloadable pair. A checkpoint is two files, and no file system
// renames two files at once, so the optimizer file must be replaced before or after the model
// file; a kill in between would pair a model with another save's optimizer state. The files carry
// the same random checkpoint_id, and the save keeps the optimizer state that pairs with the model
// file on disk until the new model file is in place:
//   1. if <path>.optim pairs with <path>, rename it to <path>.optim.prev;
//   2. write the new <path>.optim (atomic);
//   3. write the new <path> (atomic): from here the new pair is live;
//   4. remove <path>.optim.prev.
// load_checkpoint takes whichever of <path>.optim and <path>.optim.prev has the model file's id.
// Killed before 3, the old model pairs with .prev (or, before 1, with .optim); after 3, the new
// model pairs with .optim. A mismatch is therefore reported only for files mixed up by hand.
#include "train/checkpoint.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "core/safetensors.h"

namespace recur {

namespace {

constexpr char kFormatKey[] = "format";
constexpr char kIdKey[] = "checkpoint_id";
constexpr char kConfigKey[] = "config";
constexpr char kExtraKey[] = "extra";
constexpr char kOptimizerKey[] = "optimizer";

// 128 random bits as 32 hex digits. Mixed with the clock and pid in case random_device is weak.
std::string new_checkpoint_id() {
  std::random_device device;
  std::seed_seq seed{
      device(),
      device(),
      device(),
      device(),
      static_cast<unsigned>(::getpid()),
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
  std::mt19937_64 rng(seed);
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The checkpoint_id in the metadata of `path`; "" when the file is missing, unreadable or has
// none. Used by save to find the live pair; never throws for a bad file.
std::string checkpoint_id_or_empty(const std::string& path) {
  if (!file_exists(path)) return "";
  try {
    SafetensorsFile file = read_safetensors(path);
    auto it = file.metadata.find(kIdKey);
    return it == file.metadata.end() ? "" : it->second;
  } catch (const Error&) {
    return "";
  }
}

// JSON text of `value`; throws naming `what` (dump rejects strings that are not UTF-8).
std::string dump_json(const nlohmann::json& value, const std::string& path, const char* what) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("cannot save checkpoint '{}': the {} cannot be written as JSON: {}", path, what,
               e.what());
  }
}

// Throws unless every tensor can be written (write_safetensors checks again, but only once the
// optimizer file is already replaced). Returns the tensors with those on a GPU copied to the host
// (a model or an optimizer state trained on a GPU; each copy waits for the device's stream).
TensorMap on_host_for_writing(const TensorMap& tensors, const std::string& path, const char* what) {
  TensorMap host;
  for (const auto& [name, t] : tensors) {
    RECUR_CHECK(t.defined(), "cannot save checkpoint '{}': {} tensor '{}' is undefined", path, what,
                name);
    host.emplace(name, t.device().is_cpu() ? t : t.to(Device::cpu()));
  }
  return host;
}

// metadata[key]; throws naming `file` when the key is absent.
const std::string& required(const std::map<std::string, std::string>& metadata, const char* key,
                            const std::string& file) {
  auto it = metadata.find(key);
  RECUR_CHECK(it != metadata.end(), "checkpoint file '{}': __metadata__ has no \"{}\"", file, key);
  return it->second;
}

nlohmann::json parse_json(const std::string& text, const std::string& file, const char* key) {
  // nlohmann's parser stops at a NUL byte as if the input ended there; valid JSON has none.
  RECUR_CHECK(text.find('\0') == std::string::npos,
              "checkpoint file '{}': __metadata__[\"{}\"] is not valid JSON: it holds a NUL byte",
              file, key);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("checkpoint file '{}': __metadata__[\"{}\"] is not valid JSON: {}", file, key,
               e.what());
  }
}

// Throws unless `file` says it is of `expected` format.
void check_format(const SafetensorsFile& file, const std::string& path, const char* expected) {
  auto it = file.metadata.find(kFormatKey);
  RECUR_CHECK(it != file.metadata.end(),
              "'{}' is not a recur checkpoint: expected __metadata__ \"format\": \"{}\", got no "
              "\"format\" (a plain safetensors file? read it with read_safetensors)",
              path, expected);
  RECUR_CHECK(it->second == expected,
              "'{}' is not a recur checkpoint: expected __metadata__ \"format\": \"{}\", got "
              "\"{}\"",
              path, expected, it->second);
}

// Reads the optimizer state that pairs with the model whose id is `id`: <path>.optim, or
// <path>.optim.prev when a save was interrupted (see the top of this file).
void load_optimizer_state(const std::string& path, const std::string& id, Checkpoint& ckpt) {
  const std::string optim = optimizer_state_path(path);
  const std::string prev = optim + ".prev";
  std::string other_id;  // the id found in <path>.optim, for the message
  for (const std::string& candidate : {optim, prev}) {
    if (!file_exists(candidate)) continue;
    SafetensorsFile file = read_safetensors(candidate);
    check_format(file, candidate, kOptimizerStateFormat);
    const std::string& candidate_id = required(file.metadata, kIdKey, candidate);
    if (candidate_id != id) {
      if (candidate == optim) other_id = candidate_id;
      continue;
    }
    if (candidate == prev)
      log_warn("checkpoint '{}': its last save was interrupted; using the optimizer state in '{}'",
               path, prev);
    ckpt.optimizer = std::move(file.tensors);
    ckpt.optimizer_meta =
        parse_json(required(file.metadata, kOptimizerKey, candidate), candidate, kOptimizerKey);
    return;
  }
  RECUR_CHECK(other_id.empty(),
              "checkpoint '{}': the optimizer state '{}' belongs to another save (checkpoint_id "
              "{}, the model file has {}): were the files copied from different checkpoints? "
              "Load with with_optimizer = false to restore the model alone",
              path, optim, other_id, id);
  RECUR_FAIL(
      "checkpoint '{}': its optimizer state '{}' is missing: expected it beside the model file "
      "(load with with_optimizer = false to restore the model alone)",
      path, optim);
}

}  // namespace

std::string optimizer_state_path(const std::string& path) {
  return path + ".optim";
}

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  const std::string id = new_checkpoint_id();
  // Everything that can fail without I/O fails here, before any file changes.
  std::map<std::string, std::string> model_meta = {
      {kFormatKey, kCheckpointFormat},
      {kIdKey, id},
      {kConfigKey, dump_json(ckpt.config, path, "model config")},
      {kExtraKey, dump_json(ckpt.extra, path, "extra state")}};
  std::map<std::string, std::string> optim_meta = {
      {kFormatKey, kOptimizerStateFormat},
      {kIdKey, id},
      {kOptimizerKey, dump_json(ckpt.optimizer_meta, path, "optimizer state")}};
  const TensorMap model = on_host_for_writing(ckpt.model, path, "model");
  const TensorMap optimizer = on_host_for_writing(ckpt.optimizer, path, "optimizer");

  const std::string optim = optimizer_state_path(path);
  const std::string prev = optim + ".prev";
  // 1. Keep the optimizer file that pairs with the model file on disk.
  const std::string live_id = checkpoint_id_or_empty(path);
  if (!live_id.empty() && checkpoint_id_or_empty(optim) == live_id)
    RECUR_CHECK(::rename(optim.c_str(), prev.c_str()) == 0,
                "cannot save checkpoint '{}': renaming '{}' to '{}' failed: {}", path, optim, prev,
                std::strerror(errno));
  // 2 and 3.
  write_safetensors(optim, optimizer, optim_meta);
  write_safetensors(path, model, model_meta);
  // 4. The new pair is live; the old optimizer state is no longer needed.
  if (::unlink(prev.c_str()) != 0 && errno != ENOENT)
    log_warn("saved checkpoint '{}' but could not remove '{}': {}", path, prev,
             std::strerror(errno));
  log_info("saved checkpoint '{}' ({} model tensors, {} optimizer tensors)", path,
           ckpt.model.size(), ckpt.optimizer.size());
}

Checkpoint load_checkpoint(const std::string& path, bool with_optimizer) {
  SafetensorsFile file = read_safetensors(path);
  check_format(file, path, kCheckpointFormat);
  Checkpoint ckpt;
  const std::string& id = required(file.metadata, kIdKey, path);
  ckpt.config = parse_json(required(file.metadata, kConfigKey, path), path, kConfigKey);
  auto extra = file.metadata.find(kExtraKey);
  if (extra != file.metadata.end()) ckpt.extra = parse_json(extra->second, path, kExtraKey);
  if (with_optimizer) load_optimizer_state(path, id, ckpt);
  ckpt.model = std::move(file.tensors);
  return ckpt;
}

TensorMap state_dict(const ParameterList& params) {
  TensorMap state;
  for (const Parameter& p : params) {
    RECUR_CHECK(p.value.defined(), "state_dict: parameter '{}' has no value", p.name);
    bool inserted = state.emplace(p.name, p.value).second;
    RECUR_CHECK(inserted, "state_dict: expected unique parameter names, got '{}' twice", p.name);
  }
  return state;
}

void load_state_dict(const ParameterList& params, const TensorMap& state, bool strict) {
  std::set<std::string> names;
  std::vector<std::string> missing;
  for (const Parameter& p : params) {
    names.insert(p.name);
    RECUR_CHECK(p.value.defined(), "load_state_dict: parameter '{}' has no value", p.name);
    auto it = state.find(p.name);
    if (it == state.end()) {
      missing.push_back(p.name);
      continue;
    }
    RECUR_CHECK(it->second.shape() == p.value.shape(), "tensor '{}': expected {}, got {}", p.name,
                p.value.shape_str(), it->second.shape_str());
  }
  if (!missing.empty()) {
    std::string more;
    for (size_t i = 1; i < missing.size() && i < 6; ++i) more += fmt::format(", '{}'", missing[i]);
    if (missing.size() > 6) more += fmt::format(" and {} more", missing.size() - 6);
    RECUR_FAIL("checkpoint is missing tensor '{}'{}", missing[0], more);
  }
  if (strict) {
    for (const auto& entry : state)
      RECUR_CHECK(names.count(entry.first) != 0,
                  "checkpoint has unexpected tensor '{}': expected only the model's {} "
                  "parameters (load with strict = false to ignore it)",
                  entry.first, params.size());
  }
  for (const Parameter& p : params) {
    Tensor value = p.value;  // shares storage: the copy lands in the parameter
    const Tensor& saved = state.at(p.name);
    const bool on_host = value.device().is_cpu() && saved.device().is_cpu();
    if (on_host || saved.dtype() == value.dtype()) {
      value.copy_from(saved);
    } else {  // between devices only one dtype moves: convert on the host first
      const Tensor host = saved.device().is_cpu() ? saved : saved.to(Device::cpu());
      value.copy_from(host.to(value.dtype()));
    }
  }
}

}  // namespace recur
