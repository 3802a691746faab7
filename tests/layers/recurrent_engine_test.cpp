// Engine choice for recurrent layers (kernels/recurrent_engine.h) where every machine can check
// it: names, what each engine supports, auto's choice on the CPU, forced engines that cannot run
// a call, and a failed move to a GPU that leaves the layer whole. The GPU side of the engines is
// tests/layers/gpu_recurrent_layer_test.cpp.
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/cuda_runtime.h"
#include "kernels/dropout.h"
#include "kernels/engine_table.h"
#include "kernels/recurrent_engine.h"
#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

using testing::expect_error;
using testing::random_tensor;

SeqConfig lstm_seq() {
  SeqConfig c;
  c.cell = CellKind::lstm;
  c.input_size = 4;
  c.hidden_size = 6;
  return c;
}

RecurrentConfig small_gru() {
  RecurrentConfig c;
  c.cell = CellKind::gru;
  c.input_size = 3;
  c.hidden_size = 5;
  c.num_layers = 2;
  c.dropout = 0.3;
  return c;
}

TEST(RecurrentEngine, NamesRoundTripAndUnknownNamesAreErrors) {
  for (Engine e :
       {Engine::auto_, Engine::reference, Engine::fused, Engine::cudnn, Engine::persistent})
    EXPECT_EQ(engine_from_name(engine_name(e)), e);
  EXPECT_EQ(engine_from_name("cudnn"), Engine::cudnn);
  expect_error([] { engine_from_name("cudnn9"); },
               {"cudnn9", "auto, reference, fused, cudnn or persistent"});
}

TEST(RecurrentEngine, CudnnAlgorithmNamesAndSetting) {
  for (CudnnAlgo a : {CudnnAlgo::auto_, CudnnAlgo::standard, CudnnAlgo::persist_static,
                      CudnnAlgo::persist_dynamic, CudnnAlgo::persist_static_small_h})
    EXPECT_EQ(cudnn_algo_from_name(cudnn_algo_name(a)), a);
  EXPECT_STREQ(cudnn_algo_name(CudnnAlgo::auto_), "auto");
  expect_error([] { cudnn_algo_from_name("persistent"); }, {"persistent", "auto, standard"});
  EXPECT_EQ(cudnn_algorithm(), CudnnAlgo::auto_);  // the default
  set_cudnn_algorithm(CudnnAlgo::persist_dynamic);
  EXPECT_EQ(cudnn_algorithm(), CudnnAlgo::persist_dynamic);
  set_cudnn_algorithm(CudnnAlgo::auto_);
}

TEST(RecurrentEngine, PersistentBarrierNamesAndSetting) {
  EXPECT_EQ(persistent_barrier(), PersistentBarrier::auto_);  // the default
  set_persistent_barrier(PersistentBarrier::counter);
  EXPECT_EQ(persistent_barrier(), PersistentBarrier::counter);
  set_persistent_barrier(PersistentBarrier::auto_);
  for (PersistentBarrier b : {PersistentBarrier::auto_, PersistentBarrier::grid_sync,
                              PersistentBarrier::counter, PersistentBarrier::cluster})
    EXPECT_EQ(persistent_barrier_from_name(persistent_barrier_name(b)), b);
  EXPECT_STREQ(persistent_barrier_name(PersistentBarrier::cluster), "cluster");
  expect_error([] { persistent_barrier_from_name("spin"); },
               {"unknown persistent barrier 'spin'", "auto, grid_sync, counter or cluster"});
}

// Restores the engine table and the two process-wide settings a test changes.
class TableScope {
 public:
  explicit TableScope(const nlohmann::json& entries) : saved_(EngineTable::active()) {
    EngineTable::set_active(EngineTable::parse({{"entries", entries}}, "test"));
  }
  ~TableScope() {
    EngineTable::set_active(*saved_);
    set_cudnn_algorithm(CudnnAlgo::auto_);
    set_persistent_barrier(PersistentBarrier::auto_);
  }

 private:
  std::shared_ptr<const EngineTable> saved_;
};

nlohmann::json measured(const char* mode, const char* dtype, int64_t B, int64_t H,
                        const char* cudnn_algo, const char* barrier) {
  return {{"cell", "lstm"},
          {"mode", mode},
          {"dtype", dtype},
          {"B", B},
          {"H", H},
          {"T", 256},
          {"ranking", {"persistent", "cudnn", "fused"}},
          {"cudnn_algo", cudnn_algo},
          {"persistent_barrier", barrier}};
}

// Under auto (the default) the cuDNN algorithm and the persistent barrier of a call are the ones
// measured fastest at the nearest shape of the same cell, mode and math precision; with nothing
// measured there, standard and grid_sync; a setting other than auto is used as it is.
TEST(RecurrentEngine, AutoAlgorithmAndBarrierFollowTheNearestMeasuredShape) {
  TableScope scope({measured("inference", "f32", 1, 1024, "persist_dynamic", "counter"),
                    measured("inference", "f32", 64, 1024, "standard", "grid_sync"),
                    measured("inference", "f32", 8, 256, "persist_static", "cluster"),
                    measured("training", "bf16", 64, 1024, "persist_static_small_h", "counter")});
  SeqConfig big = lstm_seq();
  big.hidden_size = 1024;
  SeqConfig small = lstm_seq();
  small.hidden_size = 256;
  const CallShape b2{2, 200, false}, b32{32, 256, false}, b8{8, 100, false};
  EXPECT_EQ(cudnn_algorithm_for(big, DType::f32, b2), CudnnAlgo::persist_dynamic);
  EXPECT_EQ(persistent_barrier_for(big, b2), PersistentBarrier::counter);
  EXPECT_EQ(cudnn_algorithm_for(big, DType::f32, b32), CudnnAlgo::standard);
  EXPECT_EQ(persistent_barrier_for(big, b32), PersistentBarrier::grid_sync);
  EXPECT_EQ(cudnn_algorithm_for(small, DType::f32, b8), CudnnAlgo::persist_static);
  EXPECT_EQ(persistent_barrier_for(small, b8), PersistentBarrier::cluster);

  // Training is measured only at bf16 math: an f32 training call has no measurement; a bf16 one
  // (f32 tensors, bf16 precision) is filed under bf16.
  const CallShape train{64, 256, true};
  EXPECT_EQ(cudnn_algorithm_for(big, DType::f32, train), CudnnAlgo::standard);
  EXPECT_EQ(persistent_barrier_for(big, train), PersistentBarrier::grid_sync);
  SeqConfig bf16 = big;
  bf16.precision = Precision::bf16;
  EXPECT_EQ(cudnn_algorithm_for(bf16, DType::f32, train), CudnnAlgo::persist_static_small_h);
  EXPECT_EQ(persistent_barrier_for(bf16, train), PersistentBarrier::counter);
  // Without the batch (a preview) nothing is looked up.
  EXPECT_EQ(cudnn_algorithm_for(big, DType::f32, {}), CudnnAlgo::standard);
  EXPECT_EQ(persistent_barrier_for(big, {}), PersistentBarrier::grid_sync);

  // A forced setting wins over the table.
  set_cudnn_algorithm(CudnnAlgo::persist_static);
  set_persistent_barrier(PersistentBarrier::grid_sync);
  EXPECT_EQ(cudnn_algorithm_for(big, DType::f32, b2), CudnnAlgo::persist_static);
  EXPECT_EQ(persistent_barrier_for(small, b8), PersistentBarrier::grid_sync);
}

TEST(RecurrentEngine, ReferenceRunsCpuFloatTensorsOnly) {
  EXPECT_EQ(engine_unsupported_reason(Engine::reference, lstm_seq(), Device::cpu(), DType::f32),
            "");
  EXPECT_EQ(engine_unsupported_reason(Engine::reference, lstm_seq(), Device::cpu(), DType::f64),
            "");
  EXPECT_NE(engine_unsupported_reason(Engine::reference, lstm_seq(), Device::cuda(0), DType::f32)
                .find("cuda:0"),
            std::string::npos);
  EXPECT_NE(engine_unsupported_reason(Engine::reference, lstm_seq(), Device::cpu(), DType::bf16)
                .find("bf16"),
            std::string::npos);
}

TEST(RecurrentEngine, FusedNeedsCudaInTheBuildAndGpuTensors) {
  const std::string on_cpu =
      engine_unsupported_reason(Engine::fused, lstm_seq(), Device::cpu(), DType::f32);
  EXPECT_NE(on_cpu, "");
  const std::string on_gpu =
      engine_unsupported_reason(Engine::fused, lstm_seq(), Device::cuda(0), DType::f32);
  EXPECT_EQ(on_gpu.empty(), cuda_compiled()) << on_gpu;
}

TEST(RecurrentEngine, CudnnNeedsCudnnInTheBuildGpuTensorsAndACudnnCell) {
  EXPECT_NE(engine_unsupported_reason(Engine::cudnn, lstm_seq(), Device::cpu(), DType::f32), "");
  const std::string on_gpu =
      engine_unsupported_reason(Engine::cudnn, lstm_seq(), Device::cuda(0), DType::f64);
#if RECUR_WITH_CUDNN
  EXPECT_EQ(on_gpu, "");
  SeqConfig leaky = lstm_seq();
  leaky.cell = CellKind::leaky;
  EXPECT_NE(
      engine_unsupported_reason(Engine::cudnn, leaky, Device::cuda(0), DType::f32).find("leaky"),
      std::string::npos);
  EXPECT_NE(engine_unsupported_reason(Engine::cudnn, lstm_seq(), Device::cuda(0), DType::bf16)
                .find("bf16"),
            std::string::npos);
#else
  EXPECT_NE(on_gpu.find("cuDNN"), std::string::npos) << on_gpu;
#endif
  expect_error([] { choose_engine(Engine::cudnn, lstm_seq(), Device::cpu(), DType::f32); },
               {"engine cudnn was requested", "cannot run"});
}

TEST(RecurrentEngine, PersistentNeedsCudaGpuF32TensorsAndAnLstmOrGruWithoutProjection) {
  const SeqConfig lstm = lstm_seq();
  const std::string on_gpu =
      engine_unsupported_reason(Engine::persistent, lstm, Device::cuda(0), DType::f32);
  EXPECT_EQ(on_gpu.empty(), cuda_compiled()) << on_gpu;
  EXPECT_NE(engine_unsupported_reason(Engine::persistent, lstm, Device::cpu(), DType::f32), "");
  if (!cuda_compiled()) return;
  SeqConfig gru = lstm;
  gru.cell = CellKind::gru;
  EXPECT_EQ(engine_unsupported_reason(Engine::persistent, gru, Device::cuda(0), DType::f32), "");
  auto expect_reason = [](const SeqConfig& c, DType dtype, const char* word) {
    const std::string why =
        engine_unsupported_reason(Engine::persistent, c, Device::cuda(0), dtype);
    EXPECT_NE(why.find(word), std::string::npos) << why;
  };
  expect_reason(lstm, DType::f64, "f64");
  expect_reason(lstm, DType::bf16, "bf16");
  SeqConfig tanh = lstm;
  tanh.cell = CellKind::rnn_tanh;
  expect_reason(tanh, DType::f32, "lstm and gru");
  SeqConfig proj = lstm;
  proj.proj_size = 3;
  expect_reason(proj, DType::f32, "projection");
  expect_error([&] { choose_engine(Engine::persistent, proj, Device::cuda(0), DType::f32); },
               {"engine persistent was requested", "projection"});
}

TEST(RecurrentEngine, AutoPicksTheReferenceOnTheCpu) {
  EXPECT_EQ(choose_engine(Engine::auto_, lstm_seq(), Device::cpu(), DType::f32), Engine::reference);
  Recurrent rnn(small_gru(), DType::f32, 1);
  EXPECT_EQ(rnn.last_engine(), Engine::auto_);
  rnn.run(random_tensor({2, 3, 3}, 1).to(DType::f32));
  EXPECT_EQ(rnn.last_engine(), Engine::reference);
}

TEST(RecurrentEngine, AutoFollowsTheMeasuredRankingOfTheNearestShape) {
  if (!cuda_compiled()) GTEST_SKIP() << "this build has no CUDA: there are no GPU engines to rank";
  const std::shared_ptr<const EngineTable> saved = EngineTable::active();
  nlohmann::json ranked = {{"entries",
                            {{{"cell", "lstm"},
                              {"mode", "inference"},
                              {"dtype", "f32"},
                              {"B", 8},
                              {"H", 6},
                              {"T", 16},
                              {"ranking", {"persistent", "cudnn", "fused"}}}}}};
  EngineTable::set_active(EngineTable::parse(ranked, "test"));
  const Device gpu = Device::cuda(0);
  SeqConfig proj = lstm_seq();
  proj.proj_size = 3;  // persistent has no projection: auto goes on down the ranking
  const Engine second = engine_unsupported_reason(Engine::cudnn, proj, gpu, DType::f32).empty()
                            ? Engine::cudnn
                            : Engine::fused;
  EXPECT_EQ(choose_engine(Engine::auto_, proj, gpu, DType::f32, {8, 16, false}), second);
  // Nothing measured for training, and nothing without the batch: the fixed order.
  EXPECT_EQ(choose_engine(Engine::auto_, lstm_seq(), gpu, DType::f32, {8, 16, true}),
            Engine::fused);
  EXPECT_EQ(choose_engine(Engine::auto_, lstm_seq(), gpu, DType::f32), Engine::fused);
  EngineTable::set_active(*saved);
}

// At bf16/f16 math cuDNN runs its own 16-bit RNN (16-bit states and cell state), not recur's mixed
// precision: auto passes over it even where the table measured it fastest; forced, it runs.
TEST(RecurrentEngine, AutoLeavesCudnnLastAtSixteenBitMath) {
  if (!cuda_compiled()) GTEST_SKIP() << "this build has no CUDA: there are no GPU engines to rank";
  nlohmann::json bf16 = measured("inference", "bf16", 8, 1024, "persist_static", "grid_sync");
  bf16["ranking"] = {"cudnn", "fused"};
  nlohmann::json f32 = measured("inference", "f32", 8, 1024, "persist_static", "grid_sync");
  f32["ranking"] = {"cudnn", "fused"};
  TableScope scope({bf16, f32});
  const Device gpu = Device::cuda(0);
  SeqConfig config = lstm_seq();
  config.hidden_size = 1024;
  if (!engine_unsupported_reason(Engine::cudnn, config, gpu, DType::f32).empty())
    GTEST_SKIP() << "this build has no cuDNN";
  const CallShape call{8, 256, false};
  EXPECT_EQ(choose_engine(Engine::auto_, config, gpu, DType::f32, call), Engine::cudnn);
  for (Precision precision : {Precision::bf16, Precision::f16}) {
    config.precision = precision;
    EXPECT_EQ(choose_engine(Engine::auto_, config, gpu, DType::f32, call), Engine::fused)
        << precision_name(precision);
    EXPECT_EQ(choose_engine(Engine::cudnn, config, gpu, DType::f32, call), Engine::cudnn);
  }
}

// cuDNN's persist_static and persist_dynamic take no sequences of different lengths: where the
// fastest cuDNN time was one of them, calls with such lengths follow the entry's own ranking and
// cuDNN algorithm for them; entries without one rank every call alike.
TEST(RecurrentEngine, CallsWithDifferentLengthsFollowTheirOwnRanking) {
  nlohmann::json b8 = measured("inference", "f32", 8, 1024, "persist_dynamic", "grid_sync");
  b8["ranking"] = {"cudnn", "fused"};
  b8["ranking_varying_lengths"] = {"fused", "cudnn"};
  b8["cudnn_algo_varying_lengths"] = "standard";
  nlohmann::json b64 = measured("inference", "f32", 64, 1024, "persist_static", "grid_sync");
  b64["ranking"] = {"cudnn", "fused"};
  TableScope scope({b8, b64});
  SeqConfig big = lstm_seq();
  big.hidden_size = 1024;
  const CallShape full{8, 256, false, false}, varying{8, 256, false, true};
  EXPECT_EQ(cudnn_algorithm_for(big, DType::f32, full), CudnnAlgo::persist_dynamic);
  EXPECT_EQ(cudnn_algorithm_for(big, DType::f32, varying), CudnnAlgo::standard);
  // No separate ranking: the one ranking (cuDNN's engine then refuses persist_static for the
  // call itself and runs standard, cudnn_rnn_plan.h).
  EXPECT_EQ(cudnn_algorithm_for(big, DType::f32, {64, 256, false, true}),
            CudnnAlgo::persist_static);

  if (!cuda_compiled()) return;  // no GPU engines to rank
  const Device gpu = Device::cuda(0);
  if (!engine_unsupported_reason(Engine::cudnn, big, gpu, DType::f32).empty()) return;
  EXPECT_EQ(choose_engine(Engine::auto_, big, gpu, DType::f32, full), Engine::cudnn);
  EXPECT_EQ(choose_engine(Engine::auto_, big, gpu, DType::f32, varying), Engine::fused);
  EXPECT_EQ(choose_engine(Engine::auto_, big, gpu, DType::f32, {64, 256, false, true}),
            Engine::cudnn);
}

TEST(RecurrentEngine, EngineTableChecksTheVaryingLengthsFields) {
  nlohmann::json bad_engine = measured("inference", "f32", 8, 1024, "persist_dynamic", "counter");
  bad_engine["ranking_varying_lengths"] = {"fused", "cudnn9"};
  expect_error(
      [&] {
        EngineTable::parse({{"entries", {bad_engine}}}, "t.json");
      },
      {"engine table t.json", "cudnn9"});
  nlohmann::json bad_algo = measured("inference", "f32", 8, 1024, "persist_dynamic", "counter");
  bad_algo["ranking_varying_lengths"] = {"fused"};
  bad_algo["cudnn_algo_varying_lengths"] = "auto";
  expect_error(
      [&] {
        EngineTable::parse({{"entries", {bad_algo}}}, "t.json");
      },
      {"engine table t.json", "not auto"});
}

TEST(RecurrentEngine, ForcedEngineThatCannotRunIsAnErrorNamingWhy) {
  expect_error([] { choose_engine(Engine::fused, lstm_seq(), Device::cpu(), DType::f32); },
               {"fused", "cannot run"});
  Recurrent rnn(small_gru(), DType::f32, 1);
  rnn.set_engine(Engine::fused);
  expect_error(
      [&] {
        rnn.run(random_tensor({2, 3, 3}, 1).to(DType::f32));
      },
      {"engine fused was requested"});
  rnn.set_engine(Engine::reference);
  EXPECT_EQ(rnn.run(random_tensor({2, 3, 3}, 1).to(DType::f32)).y.shape(), (Shape{2, 3, 5}));
}

TEST(RecurrentEngine, MoveToAMissingGpuFailsAndKeepsTheLayerOnTheCpu) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "this machine has a GPU";
  Recurrent rnn(small_gru(), DType::f64, 2);
  Tensor x = random_tensor({2, 4, 3}, 3);
  Recurrent::Output before = rnn.run(x);
  expect_error([&] { rnn.to(Device::cuda(0)); }, {"cuda:0"});
  EXPECT_TRUE(rnn.device().is_cpu());
  for (const Parameter& p : rnn.parameters()) EXPECT_TRUE(p.value.device().is_cpu()) << p.name;
  testing::expect_close(rnn.run(x).y, before.y, testing::kF64Tolerance, "y after the failed move");
}

TEST(RecurrentEngine, InputsOnAnotherDeviceThanTheLayerAreErrors) {
  Recurrent rnn(small_gru(), DType::f64, 2);
  // Host memory labelled as a GPU's: the layer must refuse it before reading anything.
  Tensor elsewhere = Tensor::from_blob(allocate_cpu(2 * 4 * 3 * sizeof(double)), {2, 4, 3},
                                       DType::f64, Device::cuda(0));
  expect_error([&] { rnn.run(elsewhere); }, {"expected a tensor on cpu", "cuda:0"});
}

TEST(RecurrentEngine, DropoutDispatchOnTheCpuIsTheReference) {
  Tensor x = random_tensor({4, 33}, 5);
  Tensor a = Tensor::empty(x.shape(), DType::f64), b = Tensor::empty(x.shape(), DType::f64);
  dropout(x, 0.4, {7, 1, 2}, a);
  dropout_ref(x, 0.4, {7, 1, 2}, b);
  EXPECT_EQ(a.to_vector(), b.to_vector());
}

}  // namespace
}  // namespace recur
