// The committed engine table (benchmarks/engine_table.json, measured on an H200) on a GPU.
//
// The GPU suite checks every engine and every cuDNN algorithm by name, so it runs with an EMPTY
// engine table (the environment below): the committed measurements, which send auto_ and cuDNN's
// auto algorithm elsewhere per shape, do not change what the other tests run, and a new table
// cannot turn a passing suite red. What the committed table chooses is checked here: under it,
// a layer runs the engine its nearest measured shape ranks first, and matches the f64 reference.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kernels/engine_table.h"
#include "kernels/recurrent_engine.h"
#include "layers/recurrent.h"
#include "support/layer_parity.h"
#include "support/seq_parity.h"

namespace recur {
namespace {

using seq_parity::have_gpu;

// The table compiled into the library (or RECUR_ENGINE_TABLE's), kept before the suite starts
// with the empty one.
std::shared_ptr<const EngineTable>& committed_table() {
  static std::shared_ptr<const EngineTable> table;
  return table;
}

class EmptyEngineTable : public ::testing::Environment {
 public:
  void SetUp() override {
    committed_table() = EngineTable::active();
    EngineTable::set_active(EngineTable{});
  }
};

[[maybe_unused]] ::testing::Environment* const kEmptyEngineTable =
    ::testing::AddGlobalTestEnvironment(new EmptyEngineTable);

// Sets the committed table for one scope (and cuDNN's algorithm and the persistent barrier to
// auto, as a program starts).
class CommittedTableScope {
 public:
  CommittedTableScope() : saved_(EngineTable::active()) {
    EngineTable::set_active(*committed_table());
    set_cudnn_algorithm(CudnnAlgo::auto_);
    set_persistent_barrier(PersistentBarrier::auto_);
  }
  ~CommittedTableScope() { EngineTable::set_active(*saved_); }
  CommittedTableScope(const CommittedTableScope&) = delete;
  CommittedTableScope& operator=(const CommittedTableScope&) = delete;

 private:
  std::shared_ptr<const EngineTable> saved_;
};

TEST(GpuEngineTable, TheSuiteRunsWithAnEmptyTable) {
  ASSERT_TRUE(committed_table());
  EXPECT_TRUE(EngineTable::active()->empty());
}

// cuDNN's persistent algorithms sum in an order of their own (tests/kernels/gpu_cudnn_seq_test.cpp:
// 3.2e-6 of a tensor's largest element measured): each element within 1e-5 of its tensor's
// largest, the normalised MSE as kF32.
constexpr testing::Tolerance kF32AnyEngine{seq_parity::kF32.nmse, seq_parity::kF32.rtol, 1e-5};

// A layer of each cell the table measured (lstm, gru; f32) at batch 3, H = 37, T = 7: with
// sequences of different lengths and of equal lengths, training forward and backward.
TEST(GpuEngineTable, CommittedChoicesRunAndMatchTheReference) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const CommittedTableScope scope;
  if (EngineTable::active()->empty()) GTEST_SKIP() << "the committed engine table is empty";
  using namespace layer_parity;
  for (CellKind cell : {CellKind::lstm, CellKind::gru})
    for (bool varying : {true, false}) {
      SCOPED_TRACE(std::string(cell_name(cell)) + (varying ? ", varying lengths" : ""));
      RecurrentConfig cfg;
      cfg.cell = cell;
      cfg.input_size = 13;
      cfg.hidden_size = 37;
      LayerInputs in = make_layer_inputs(cfg);  // B = 3, T = 7, lengths {7, 1, 4}
      if (!varying) in.lengths = Tensor();
      const int64_t B = in.x.size(0), T = in.x.size(1);
      const EngineTableEntry* entry =
          EngineTable::active()->nearest(cell, /*training=*/true, DType::f32, B, 37, T);
      ASSERT_NE(entry, nullptr) << "the committed table measured no f32 training "
                                << cell_name(cell);
      const Engine expected = engine_from_name(entry->ranking_for(varying).front());

      Recurrent cpu(cfg, DType::f64, 11);
      Recurrent gpu(cfg, DType::f32, 11);
      copy_parameters(cpu, gpu);
      gpu.to(Device::cuda(0));
      const LayerRun want = run_layer(cpu, in, /*step=*/3);
      const LayerRun got = run_layer(gpu, in, /*step=*/3);
      EXPECT_EQ(engine_name(gpu.last_engine()), std::string(engine_name(expected)));
      expect_runs_close(
          got, want, [](const Tensor& ref) { return seq_parity::scaled_to(kF32AnyEngine, ref); });
    }
}

}  // namespace
}  // namespace recur
