// Parity of the Persistent CUDA engine (recurrent_seq_fwd_persistent / _bwd_persistent,
// kernels/recurrent_seq.h) with the f64 CPU reference, through the harness of
// tests/support/seq_parity.h: lstm and gru in f32, every option (reverse, h0/c0, lengths that
// differ per row, no bias) at a small shape, then batch 1, 3, 8, 64 x hidden 37, 64, 256, 1024 x
// T 1, 7, 33 with every option on; the inference and training forwards (y, h_n, c_n) and the
// backward (the persistent backward kernel: dx, dh0, dc0, every weight gradient). Two runs are
// bit-identical. At bf16/f16 math (tensor cores in the forward) it matches the CPU's emulation of
// the same rounding and the f64 reference within the mixed tolerance, over several staged chunks
// of rows. The persistent backward also runs on a fused forward's saved tensors and the fused
// backward on a persistent forward's, as the persistent backward itself does where only its
// forward fits the card. A shape that does not fit the GPU is a clear error; auto picks
// persistent where it fits and falls back to fused where it does not; a two-layer bidirectional
// layer on auto matches the CPU. Skips where there is no GPU.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/cuda_runtime.h"
#include "kernels/cuda/persistent_rnn.h"
#include "kernels/engine_table.h"
#include "kernels/recurrent_engine.h"
#include "kernels/recurrent_seq.h"
#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"
#include "support/seq_parity.h"

namespace recur {
namespace {

using namespace seq_parity;

const Device kCuda = Device::cuda(0);
const SeqEngine kPersistent{recurrent_seq_fwd_persistent, recurrent_seq_bwd_persistent, kCuda};

SeqConfig seq_config(CellKind cell, int64_t H) {
  SeqConfig c;
  c.cell = cell;
  c.input_size = kInput;
  c.hidden_size = H;
  return c;
}

class GpuPersistentSeq : public ::testing::TestWithParam<Case> {};
class GpuPersistentSeqDeterminism : public ::testing::TestWithParam<Case> {};

TEST_P(GpuPersistentSeq, PersistentMatchesReference) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const Case& c = GetParam();
  const std::string why = persistent_supports(seq_config(c.cell, c.H), c.B, kCuda, DType::f32);
  if (c.H == 1024 && !why.empty()) GTEST_SKIP() << "H=1024 does not fit this GPU: " << why;
  ASSERT_EQ(why, "");
  expect_matches_reference(make_problem(c), DType::f32, kPersistent);
}

TEST_P(GpuPersistentSeqDeterminism, TwoPersistentRunsAreBitIdentical) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  expect_two_runs_identical(make_problem(GetParam()), DType::f32, kPersistent);
}

const std::vector<CellVariant> kCells = {{CellKind::gru, 0}, {CellKind::lstm, 0}};

std::vector<Case> parity_cases() {
  // Every option at a small odd shape.
  std::vector<Case> out = option_grid(kCells, {{3, 37, 7}}, {DType::f32});
  // Sizes, every option on (reverse both ways).
  for (const auto& [cell, proj] : kCells)
    for (int64_t B : {1, 3, 8, 64})
      for (int64_t H : {37, 64, 256, 1024})
        for (int64_t T : {1, 7, 8, 33}) {  // 8: an even count of steps (no final swap copy)
          if (H == 1024 && T == 33 && B != 8) continue;  // the f64 reference's time
          if (T == 8 && H == 1024) continue;
          if (B == 3 && H == 37 && T == 7) continue;  // in the grid above
          out.push_back({cell, proj, (B + T) % 2 == 0, true, true, B, H, T, DType::f32});
        }
  // H = 1024 stages 24 rows of h (forward) and 6 of dgates (backward) at a time on a 227 KiB
  // card: batch 25 ends both in a chunk of one row (the 8x1 tiles).
  for (const auto& [cell, proj] : kCells)
    out.push_back({cell, proj, true, true, true, 25, 1024, 3, DType::f32});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Parity, GpuPersistentSeq, ::testing::ValuesIn(parity_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Persistent, GpuPersistentSeqDeterminism,
                         ::testing::ValuesIn(determinism_cases(kCells, 256)), case_name);

// Every output of `got` within a normalised MSE of `want`: forward_bound for the forward's
// outputs, backward_bound for the gradients.
void expect_nmse_within(const Results& got, const Results& want, double forward_bound,
                        double backward_bound) {
  for_each_output(got, want, [&](const Tensor& a, const Tensor& r, const char* what, bool grad) {
    ASSERT_EQ(a.defined(), r.defined()) << what;
    if (a.defined()) {
      EXPECT_LE(testing::normalised_mse(a, r), grad ? backward_bound : forward_bound) << what;
    }
  });
}

// bf16/f16 math: W_hh h_{t-1} on tensor cores, dgates W_hh with rounded operands. Against the CPU's
// emulation of the same rounding (kernels/mixed_gemm.h) only the order of f32 sums differs (and
// rarely a rounding that flips with it): the bounds of the fused engine's mixed test. Against the
// f64 reference, the mixed tolerance. Shapes: odd H (K padded to 16, rows to whole
// tiles), H = 1024 at batch 8 and 64, and batch 300, staged in several chunks both ways.
struct MixedShape {
  int64_t B, H, T;
};

void expect_mixed_matches(const MixedShape& s) {
  for (Precision precision : {Precision::bf16, Precision::f16})
    for (const auto& [cell, proj] : kCells) {
      SCOPED_TRACE(fmt::format("{} {} B={} H={} T={}", precision_name(precision), cell_name(cell),
                               s.B, s.H, s.T));
      const Case c{cell, proj, s.B % 2 == 1, true, true, s.B, s.H, s.T, DType::f32};
      Problem p = make_problem(c);
      const Results exact = run_engine(p, DType::f64, kReference);  // f32 math, in f64
      p.cfg.precision = precision;
      ASSERT_EQ(persistent_supports(p.cfg, s.B, kCuda, DType::f32), "");
      const Results emulated = run_engine(p, DType::f32, kReference);
      const Results got = run_engine(p, DType::f32, kPersistent);
      expect_nmse_within(got, emulated, 1e-6, 1e-5);
      // Against the exact result: the mixed tolerance on every output.
      for_each_output(got, exact, [](const Tensor& a, const Tensor& r, const char* what, bool) {
        if (a.defined()) {
          testing::expect_close(a.to(DType::f64), r, testing::mixed_tolerance(r), what);
        }
      });
      // The rounding happens: the f32 run is far closer to the exact result.
      const Results f32 = run_engine(make_problem(c), DType::f32, kPersistent);
      EXPECT_LT(testing::normalised_mse(f32.y, exact.y), testing::normalised_mse(got.y, exact.y));
      expect_two_runs_identical(p, DType::f32, kPersistent);
    }
}

// Odd H (K padded to 16, rows to whole tiles) at odd batch: small enough for compute-sanitizer.
TEST(GpuPersistentMixed, SixteenBitMathAtASmallOddShape) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  expect_mixed_matches({3, 37, 7});
}

// H = 1024 at batch 8 and 64, and batch 300, staged in several chunks both ways.
TEST(GpuPersistentMixed, SixteenBitMathAtH1024) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  SeqConfig bf16 = seq_config(CellKind::lstm, 1024);
  bf16.precision = Precision::bf16;
  const std::string why = persistent_supports(bf16, 8, kCuda, DType::f32);
  if (!why.empty()) GTEST_SKIP() << "H=1024 does not fit this GPU: " << why;
  for (const MixedShape& s :
       {MixedShape{8, 1024, 5}, MixedShape{64, 1024, 3}, MixedShape{300, 1024, 2}})
    expect_mixed_matches(s);
}

// `engines` (one engine's forward, another's backward) against the reference: lstm and gru, both
// directions, h0 and lengths.
void expect_mixed_engines_match(const SeqEngine& engines) {
  for (const auto& [cell, proj] : kCells)
    for (bool reverse : {false, true}) {
      SCOPED_TRACE(std::string(cell_name(cell)) + (reverse ? " reverse" : ""));
      expect_matches_reference(
          make_problem({cell, proj, reverse, true, true, 5, 37, 9, DType::f32}), DType::f32,
          engines);
    }
}

// The persistent backward on the saved tensors of a fused training forward: the same layout, so
// the engines can be mixed.
TEST(GpuPersistentSeqAcrossEngines, PersistentBackwardOfAFusedForwardMatchesReference) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  expect_mixed_engines_match({recurrent_seq_fwd_fused, recurrent_seq_bwd_persistent, kCuda});
}

// And the other way, as the persistent backward itself mixes them where only its forward fits.
TEST(GpuPersistentSeqAcrossEngines, FusedBackwardOfAPersistentForwardMatchesReference) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  expect_mixed_engines_match({recurrent_seq_fwd_persistent, recurrent_seq_bwd_fused, kCuda});
}

// Where the forward fits the card but the backward's larger staging does not (a few H just below
// the forward's largest), the persistent backward hands the call to the fused backward: the
// gradients still match the reference.
TEST(GpuPersistentSeqAcrossEngines, BackwardThatDoesNotFitRunsTheFusedBackward) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  int ran = 0;
  for (const auto& [cell, proj] : kCells) {
    const int64_t forward_max = persistent_max_hidden_on(0, cell, Precision::f32, false);
    const int64_t backward_max = persistent_max_hidden_on(0, cell, Precision::f32, true);
    if (forward_max <= backward_max) continue;
    const int64_t H = backward_max + 1;
    SCOPED_TRACE(fmt::format("{} H={} (largest forward {}, backward {})", cell_name(cell), H,
                             forward_max, backward_max));
    ASSERT_EQ(persistent_supports(seq_config(cell, H), 3, kCuda, DType::f32), "");
    EXPECT_NE(persistent_plan(cell, H, 3, 0, /*backward=*/true).why_not, "");
    expect_matches_reference(make_problem({cell, proj, true, true, true, 3, H, 4, DType::f32}),
                             DType::f32, kPersistent);
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << "on this GPU every H whose forward fits also fits the backward";
}

// The counter barrier (PersistentBarrier::counter) orders the same work as grid.sync: every sum
// runs in the same order, so forward and backward agree bit for bit, at a size where the blocks
// really interleave (H = 256 over every SM), and it matches the reference.
TEST(GpuPersistentBarrier, CounterBarrierGivesTheGridSyncResultsBitForBit) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  struct Restore {
    ~Restore() { set_persistent_barrier(PersistentBarrier::auto_); }
  } restore;
  for (const auto& [cell, proj] : kCells) {
    SCOPED_TRACE(cell_name(cell));
    const Problem p = make_problem({cell, proj, true, true, true, 8, 256, 9, DType::f32});
    set_persistent_barrier(PersistentBarrier::grid_sync);
    const Results grid = run_engine(p, DType::f32, kPersistent);
    set_persistent_barrier(PersistentBarrier::counter);
    const Results counter = run_engine(p, DType::f32, kPersistent);
    expect_matches_reference(p, DType::f32, kPersistent);
    EXPECT_EQ(counter.y.to_vector(), grid.y.to_vector());
    EXPECT_EQ(counter.y_inf.to_vector(), grid.y_inf.to_vector());
    EXPECT_EQ(counter.h_n.to_vector(), grid.h_n.to_vector());
    EXPECT_EQ(counter.dx.to_vector(), grid.dx.to_vector());
    EXPECT_EQ(counter.dh0.to_vector(), grid.dh0.to_vector());
    EXPECT_EQ(counter.grads.w_hh.to_vector(), grid.grads.w_hh.to_vector());
    EXPECT_EQ(counter.grads.w_ih.to_vector(), grid.grads.w_ih.to_vector());
    EXPECT_EQ(counter.grads.b_hh.to_vector(), grid.grads.b_hh.to_vector());
    if (cell == CellKind::lstm) {
      EXPECT_EQ(counter.c_n.to_vector(), grid.c_n.to_vector());
      EXPECT_EQ(counter.dc0.to_vector(), grid.dc0.to_vector());
    }
  }
}

// The cluster barrier (PersistentBarrier::cluster): the layer runs on ONE thread-block cluster of
// at most 16 blocks, so each block owns more units than with one block per SM and its sums run in
// another order: it matches the reference (f32; bf16 against the CPU emulation), two runs are
// bit-identical, and a layer too large for one cluster is refused with the reason.
// The small odd shape alone is the sanitizers' case (racecheck at H = 256 outlasts its limit).
void expect_cluster_barrier_matches(CellKind cell, int64_t proj, const MixedShape& s) {
  SCOPED_TRACE(fmt::format("{} B={} H={} T={}", cell_name(cell), s.B, s.H, s.T));
  const Case c{cell, proj, s.B != 8, true, true, s.B, s.H, s.T, DType::f32};
  ASSERT_EQ(persistent_supports(seq_config(cell, s.H), s.B, kCuda, DType::f32), "");
  expect_matches_reference(make_problem(c), DType::f32, kPersistent);
  expect_two_runs_identical(make_problem(c), DType::f32, kPersistent);
}

struct ClusterBarrierScope {
  ClusterBarrierScope() { set_persistent_barrier(PersistentBarrier::cluster); }
  ~ClusterBarrierScope() { set_persistent_barrier(PersistentBarrier::auto_); }
  ClusterBarrierScope(const ClusterBarrierScope&) = delete;
  ClusterBarrierScope& operator=(const ClusterBarrierScope&) = delete;
};

TEST(GpuPersistentBarrier, ClusterBarrierAtASmallOddShape) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const ClusterBarrierScope cluster;
  for (const auto& [cell, proj] : kCells) expect_cluster_barrier_matches(cell, proj, {3, 37, 7});
}

TEST(GpuPersistentBarrier, ClusterBarrierMatchesTheReference) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const ClusterBarrierScope cluster;
  for (const auto& [cell, proj] : kCells) {
    for (const MixedShape& s : {MixedShape{1, 256, 5}, MixedShape{8, 256, 9}})
      expect_cluster_barrier_matches(cell, proj, s);
    Problem p = make_problem({cell, proj, true, true, true, 8, 256, 5, DType::f32});
    p.cfg.precision = Precision::bf16;
    expect_nmse_within(run_engine(p, DType::f32, kPersistent),
                       run_engine(p, DType::f32, kReference), 1e-6, 1e-5);
    const std::string why = persistent_supports(seq_config(cell, 1024), 8, kCuda, DType::f32);
    EXPECT_NE(why.find("shared memory"), std::string::npos) << why;
  }
}

// Under auto (the default) the persistent engine runs the barrier the engine table measured
// fastest at the nearest shape: bit for bit the results of that barrier forced. Where the call
// does not fit it (one cluster cannot hold H = 1024), grid_sync runs instead, and auto still
// counts the call as supported.
TEST(GpuPersistentBarrier, AutoRunsTheMeasuredBarrierOrElseGridSync) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const std::shared_ptr<const EngineTable> saved = EngineTable::active();
  struct Restore {
    std::shared_ptr<const EngineTable> table;
    ~Restore() {
      EngineTable::set_active(*table);
      set_persistent_barrier(PersistentBarrier::auto_);
    }
  } restore{saved};
  for (const int64_t H : {256, 1024}) {
    SCOPED_TRACE(fmt::format("lstm H={}, cluster measured fastest", H));
    // As the parity cases: H = 1024 needs an H100's SMs (a smaller GPU skips it).
    const std::string fits =
        persistent_supports(seq_config(CellKind::lstm, H), 8, kCuda, DType::f32);
    if (H == 1024 && !fits.empty()) GTEST_SKIP() << "H=1024 does not fit this GPU: " << fits;
    nlohmann::json entries = nlohmann::json::array();
    for (const char* mode : {"inference", "training"})
      entries.push_back({{"cell", "lstm"},
                         {"mode", mode},
                         {"dtype", "f32"},
                         {"B", 8},
                         {"H", H},
                         {"T", 9},
                         {"ranking", {"persistent"}},
                         {"persistent_barrier", "cluster"}});
    EngineTable::set_active(EngineTable::parse({{"entries", entries}}, "test"));
    const Problem p = make_problem({CellKind::lstm, 0, false, true, true, 8, H, 9, DType::f32});
    const PersistentBarrier runs =
        H == 256 ? PersistentBarrier::cluster : PersistentBarrier::grid_sync;
    set_persistent_barrier(runs);
    const Results forced = run_engine(p, DType::f32, kPersistent);
    set_persistent_barrier(PersistentBarrier::auto_);
    EXPECT_EQ(persistent_barrier_for(p.cfg, {8, 9, false}), PersistentBarrier::cluster);
    EXPECT_EQ(persistent_supports(p.cfg, 8, kCuda, DType::f32), "");
    compare_results(run_engine(p, DType::f32, kPersistent), forced, nullptr);
  }
}

// H = 4096 cannot keep an lstm's W_hh slices in any current GPU's shared memory: the engine says
// so before it reads a tensor; auto falls back to fused, and picks persistent where it fits.
TEST(GpuPersistentErrors, ShapeThatDoesNotFitIsAClearErrorAndAutoFallsBack) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const SeqConfig big = seq_config(CellKind::lstm, 4096);
  const std::string why = persistent_supports(big, 8, kCuda, DType::f32);
  EXPECT_NE(why.find("shared memory"), std::string::npos) << why;
  const Tensor x = Tensor::zeros({8, 2, kInput}, DType::f32, kCuda);
  SeqForward a;
  a.x = &x;
  SeqParams params;
  testing::expect_error([&] { recurrent_seq_fwd_persistent(big, params, a); },
                        {"persistent engine cannot run", "H=4096", "shared memory"});
  testing::expect_error([&] { recurrent_seq_fwd(Engine::persistent, big, params, a); },
                        {"persistent engine cannot run"});

  // Auto runs persistent only where the measured engine table ranks it; a call it cannot run
  // falls through to fused whatever the table says.
  EXPECT_EQ(choose_engine(Engine::auto_, big, kCuda, DType::f32, {8, 7, false}), Engine::fused);
  const SeqConfig small = seq_config(CellKind::gru, 64);
  EXPECT_EQ(choose_engine(Engine::auto_, small, kCuda, DType::f32), Engine::fused);  // B unknown
  EXPECT_EQ(choose_engine(Engine::auto_, small, kCuda, DType::f64, {8, 7, false}), Engine::fused);
  EXPECT_EQ(choose_engine(Engine::auto_, seq_config(CellKind::rnn_tanh, 64), kCuda, DType::f32,
                          {8, 7, false}),
            Engine::fused);
  if (EngineTable::active()->empty()) {
    EXPECT_EQ(choose_engine(Engine::auto_, small, kCuda, DType::f32, {8, 7, false}), Engine::fused);
  }
}

// A two-layer bidirectional gru with padded lengths and an initial state, forced onto the
// persistent engine: every direction runs through it and the layer matches the f64 CPU layer.
TEST(GpuPersistentLayer, AGruLayerThroughPersistentMatchesTheCpu) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  RecurrentConfig cfg;
  cfg.cell = CellKind::gru;
  cfg.input_size = 19;
  cfg.hidden_size = 37;
  cfg.num_layers = 2;
  cfg.bidirectional = true;
  const int64_t B = 3, T = 7, L = 2, D = 2, H = 37;
  Recurrent cpu(cfg, DType::f64, 11);
  Recurrent gpu(cfg, DType::f32, 11);
  ParameterList from = cpu.parameters(), to = gpu.parameters();
  for (size_t i = 0; i < from.size(); ++i) to[i].value.copy_from(from[i].value);
  gpu.to(kCuda);
  gpu.set_engine(Engine::persistent);
  cpu.zero_grad();
  gpu.zero_grad();

  const Tensor x = testing::random_tensor({B, T, cfg.input_size}, 1);
  const Tensor h0 = testing::random_tensor({L * D, B, H}, 2);
  const Tensor lengths = Tensor::from_vector<int64_t>({T, 1, 4}, {B});
  const Tensor dy = testing::random_tensor({B, T, D * H}, 4);
  ForwardOptions train;
  train.keep_for_backward = true;
  const Recurrent::Output want = cpu.run(x, {h0, Tensor()}, lengths, train);
  const Recurrent::InputGrads want_g = cpu.run_backward(dy);
  auto there = [](const Tensor& t) { return t.to(DType::f32).to(kCuda); };
  auto back = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); };
  const Recurrent::Output got = gpu.run(there(x), {there(h0), Tensor()}, lengths, train);
  EXPECT_EQ(gpu.last_engine(), Engine::persistent);
  const Recurrent::InputGrads got_g = gpu.run_backward(there(dy));
  testing::expect_close(back(got.y), want.y, testing::kF32Tolerance, "y");
  testing::expect_close(back(got.final_state.h), want.final_state.h, testing::kF32Tolerance, "h_n");
  testing::expect_close(back(got_g.dx), want_g.dx, testing::kF32Tolerance, "dx");
  testing::expect_close(back(got_g.d_initial.h), want_g.d_initial.h, testing::kF32Tolerance, "dh0");
  ParameterList pc = cpu.parameters(), pg = gpu.parameters();
  ASSERT_EQ(pc.size(), pg.size());
  for (size_t i = 0; i < pc.size(); ++i)
    testing::expect_close(back(pg[i].grad), pc[i].grad, testing::kF32Tolerance, pc[i].name);
}

}  // namespace
}  // namespace recur
