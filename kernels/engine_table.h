// The measured engine table that Engine::auto_ consults (kernels/recurrent_engine.h): for shapes
// measured by benchmarks/run.sh --device cuda, which engine was fastest, in order. It is written
// from a benchmark record by `python_tools/engine_table.py RECORD` into
// benchmarks/engine_table.json, committed, and compiled into the library (RECUR_ENGINE_TABLE, a
// path, replaces it at run time). An empty table means nothing has been measured: auto_ then
// keeps its fixed order.
//
// Lookup: among the entries of the same cell, mode (inference/training) and dtype, the one
// nearest in log2(B) + log2(H) + log2(T) gives the ranking (its varying-lengths ranking for a call
// with sequences of different lengths, where it has one).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/cell.h"

namespace recur {

struct EngineTableEntry {
  std::string gpu;  // the GPU the row was measured on ("NVIDIA H100 80GB HBM3")
  CellKind cell = CellKind::lstm;
  bool training = false;
  DType dtype = DType::f32;
  int64_t B = 0, H = 0, T = 0;
  std::vector<std::string> ranking;  // engine names, fastest first ("persistent", "cudnn", ...)
  std::string cudnn_algo;            // cuDNN's fastest algorithm there, when cudnn was measured
  std::string persistent_barrier;    // the persistent engine's fastest barrier, when measured
  // For calls whose sequences have different lengths, where cuDNN's fastest algorithm takes none
  // (persist_static, persist_dynamic): the ranking with cuDNN at its fastest algorithm that does,
  // and that algorithm. Empty where one ranking serves every call.
  std::vector<std::string> ranking_varying_lengths;
  std::string cudnn_algo_varying_lengths;
  // The ranking and cuDNN algorithm for a call (varying: some sequence is shorter than T).
  const std::vector<std::string>& ranking_for(bool varying) const {
    return varying && !ranking_varying_lengths.empty() ? ranking_varying_lengths : ranking;
  }
  const std::string& cudnn_algo_for(bool varying) const {
    return varying && !ranking_varying_lengths.empty() ? cudnn_algo_varying_lengths : cudnn_algo;
  }
};

class EngineTable {
 public:
  EngineTable() = default;
  // Parses the JSON written by python_tools/engine_table.py: {"source": ..., "entries": [...]}.
  // Throws recur::Error naming `what` and the first bad field (an unknown engine, cuDNN algorithm
  // or barrier name included, so a bad table fails when it is read, not in the middle of a run).
  static EngineTable parse(const nlohmann::json& j, const std::string& what);
  // The table auto_ uses: the one compiled into this library, or the file named by
  // RECUR_ENGINE_TABLE, until set_active replaces it (tests; a program that measured its GPU).
  static std::shared_ptr<const EngineTable> active();
  static void set_active(EngineTable table);

  bool empty() const { return entries_.empty(); }
  const std::vector<EngineTableEntry>& entries() const { return entries_; }
  const std::string& source() const { return source_; }
  // The nearest measured entry for the call, or null when none matches cell, mode and dtype.
  const EngineTableEntry* nearest(CellKind cell, bool training, DType dtype, int64_t B, int64_t H,
                                  int64_t T) const;

 private:
  std::vector<EngineTableEntry> entries_;
  std::string source_;  // which benchmark record the table came from
};

}  // namespace recur
