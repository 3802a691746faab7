// Parity of the cuDNN engine for one recurrent direction (recurrent_seq_fwd_cudnn /
// recurrent_seq_bwd_cudnn, kernels/recurrent_seq.h) with the CPU reference: every cell cuDNN has
// (rnn_tanh, rnn_relu, gru, lstm, lstm with projection), both directions, with and without an
// initial state, with and without lengths (1 and T among them, otherwise different), batch 1, 3
// and 64, H = 37, T = 1 and 7, with and without biases. f64 runs against the f64 reference to
// ~1e-10; f32 runs against the f64 reference of the same (f32-rounded) inputs with NMSE <= 1e-10
// and per element 1e-4 relative plus 2e-6 of the tensor's largest (weight gradients sum B*T
// terms). Compared: the inference and the training forward (y with the other direction's columns
// untouched, h_n, c_n) and the backward (dx, dh0, dc0 and every weight gradient, accumulated onto
// non-zero starting values). Each cuDNN algorithm is tried on a smaller grid; an instance cuDNN
// answers NOT_SUPPORTED for is skipped (never for the standard algorithm); where cuDNN's reference
// refuses a persistent algorithm (sequences of different lengths; persist_static in f64), the
// engine's own "not supported" refusal is checked instead. Two cuDNN runs are
// bit-identical. The Recurrent layer runs on the engine unchanged (two bidirectional layers,
// dropout, lengths). Skips where there is no GPU or the build has no cuDNN.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"

#if RECUR_WITH_CUDNN

#include <ostream>
#include <string>
#include <vector>

#include "kernels/engine_table.h"
#include "kernels/recurrent_engine.h"
#include "kernels/recurrent_seq.h"
#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/expect_error.h"
#include "support/layer_parity.h"
#include "support/seq_parity.h"

namespace recur {
namespace {

using namespace seq_parity;

const Device kCuda = Device::cuda(0);
constexpr int64_t kHidden = 37;        // H, not a multiple of 32
constexpr uint64_t kCudnnSeed = 4242;  // of this file's random inputs

// One direction (H = kHidden) and the cuDNN algorithm to run it with.
struct CudnnCase {
  Case seq;
  CudnnAlgo algo = CudnnAlgo::standard;
};

std::string case_name(const ::testing::TestParamInfo<CudnnCase>& info) {
  const Case& c = info.param.seq;
  return case_options(c) + "_B" + std::to_string(c.B) + "_T" + std::to_string(c.T) + "_" +
         dtype_name(c.dtype) + "_" + cudnn_algo_name(info.param.algo);
}

// gtest prints a failing case by its name rather than its bytes.
void PrintTo(const CudnnCase& c, std::ostream* os) {
  *os << case_name(::testing::TestParamInfo<CudnnCase>(c, 0));
}

// Every case of `cases` with the standard algorithm.
std::vector<CudnnCase> standard(const std::vector<Case>& cases) {
  std::vector<CudnnCase> out;
  for (const Case& c : cases) out.push_back({c});
  return out;
}

// Sets the process-wide cuDNN algorithm for one scope.
class AlgoScope {
 public:
  explicit AlgoScope(CudnnAlgo algo) : previous_(cudnn_algorithm()) { set_cudnn_algorithm(algo); }
  ~AlgoScope() { set_cudnn_algorithm(previous_); }
  AlgoScope(const AlgoScope&) = delete;
  AlgoScope& operator=(const AlgoScope&) = delete;

 private:
  CudnnAlgo previous_;
};

const SeqEngine kCudnn{recurrent_seq_fwd_cudnn, recurrent_seq_bwd_cudnn, kCuda};

bool not_supported(const Error& e) {
  return std::string(e.what()).find("not supported by cuDNN") != std::string::npos;
}

// cuDNN's persistent algorithms sum the f32 weight gradients in an order of their own: on an H200
// (cuDNN 9.14) an element of rnn_tanh's reversed grad w_hh that cancels to -0.0064 came out
// 1.47e-5 off, 3.2e-6 of the tensor's largest element (kF32 allows 2e-6 of it, which recur's own
// engines meet). Every other bound stays kF32's.
constexpr Tolerance kF32CudnnPersistent{kF32.nmse, kF32.rtol, 1e-5};

class GpuCudnnSeq : public ::testing::TestWithParam<CudnnCase> {
 protected:
  void SetUp() override {
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  }
};
class GpuCudnnSeqDeterminism : public GpuCudnnSeq {};

// Where cuDNN's reference (cudnnRNNForward, "Returns") refuses an algorithm with BAD_PARAM:
// sequences of different lengths with persist_static or persist_dynamic, f64 with persist_static.
bool documented_refusal(const Case& c, CudnnAlgo algo) {
  const bool persistent = algo == CudnnAlgo::persist_static || algo == CudnnAlgo::persist_dynamic;
  return (persistent && c.lengths) || (algo == CudnnAlgo::persist_static && c.dtype == DType::f64);
}

TEST_P(GpuCudnnSeq, MatchesReference) {
  const Case& c = GetParam().seq;
  const Problem p = make_problem(c, kCudnnSeed);
  AlgoScope algo(GetParam().algo);
  if (documented_refusal(c, GetParam().algo)) {
    // recur refuses it before cuDNN does, as "not supported", naming the reason.
    try {
      run_engine(p, c.dtype, kCudnn);
      ADD_FAILURE() << "cuDNN's reference refuses this algorithm here; the engine ran it";
    } catch (const Error& e) {
      EXPECT_TRUE(not_supported(e)) << e.what();
      EXPECT_NE(std::string(e.what()).find(cudnn_algo_name(GetParam().algo)), std::string::npos)
          << e.what();
    }
    return;
  }
  try {
    const bool persistent = GetParam().algo != CudnnAlgo::standard;
    expect_matches_reference(p, c.dtype, kCudnn,
                             c.dtype == DType::f64 ? kF64
                             : persistent          ? kF32CudnnPersistent
                                                   : kF32);
  } catch (const Error& e) {
    // Only the persistent algorithms may be out of cuDNN's reach; standard runs everything.
    if (GetParam().algo != CudnnAlgo::standard && not_supported(e)) GTEST_SKIP() << e.what();
    throw;
  }
}

TEST_P(GpuCudnnSeqDeterminism, TwoRunsAreBitIdentical) {
  const Case& c = GetParam().seq;
  AlgoScope algo(GetParam().algo);
  expect_two_runs_identical(make_problem(c, kCudnnSeed), c.dtype, kCudnn);
}

const std::vector<CellVariant> kCells = {{CellKind::rnn_tanh, 0},
                                         {CellKind::rnn_relu, 0},
                                         {CellKind::gru, 0},
                                         {CellKind::lstm, 0},
                                         {CellKind::lstm, kProj}};

// The standard algorithm on the whole grid (without biases: CUDNN_RNN_NO_BIAS).
std::vector<CudnnCase> parity_cases() {
  return standard(option_grid(kCells,
                              {{1, kHidden, 7}, {3, kHidden, 1}, {3, kHidden, 7}, {64, kHidden, 7}},
                              {DType::f64, DType::f32}));
}

// The persistent algorithms on a smaller grid (persist_dynamic builds kernels for each shape).
std::vector<CudnnCase> algorithm_cases() {
  std::vector<CudnnCase> out;
  for (CudnnAlgo algo :
       {CudnnAlgo::persist_static, CudnnAlgo::persist_dynamic, CudnnAlgo::persist_static_small_h})
    for (const CellVariant& cv : kCells)
      for (bool reverse : {false, true})
        for (bool lengths : {false, true})
          for (DType dtype : {DType::f64, DType::f32})
            out.push_back({{cv.cell, cv.proj, reverse, true, lengths, 3, kHidden, 7, dtype}, algo});
  return out;
}

// Where cuDNN's reductions are largest: batch 64, lengths, both directions, every cell.
std::vector<CudnnCase> determinism_cases() {
  return standard(seq_parity::determinism_cases(kCells, kHidden));
}

INSTANTIATE_TEST_SUITE_P(Standard, GpuCudnnSeq, ::testing::ValuesIn(parity_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Algorithms, GpuCudnnSeq, ::testing::ValuesIn(algorithm_cases()),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Standard, GpuCudnnSeqDeterminism, ::testing::ValuesIn(determinism_cases()),
                         case_name);

// Replaces the engine table for one scope: every mode of (cell, B, H, T) in f32 measured with
// cuDNN's `algo` fastest.
class MeasuredAlgoScope {
 public:
  MeasuredAlgoScope(const Case& c, CudnnAlgo algo) : saved_(EngineTable::active()) {
    nlohmann::json entries = nlohmann::json::array();
    for (const char* mode : {"inference", "training"})
      entries.push_back({{"cell", cell_name(c.cell)},
                         {"mode", mode},
                         {"dtype", "f32"},
                         {"B", c.B},
                         {"H", c.H},
                         {"T", c.T},
                         {"ranking", {"cudnn"}},
                         {"cudnn_algo", cudnn_algo_name(algo)}});
    EngineTable::set_active(EngineTable::parse({{"entries", entries}}, "test"));
  }
  ~MeasuredAlgoScope() { EngineTable::set_active(*saved_); }

 private:
  std::shared_ptr<const EngineTable> saved_;
};

// Under auto (the default) the engine table's measured algorithm runs the call: where cuDNN runs
// it at this shape the results are bit for bit those of that algorithm forced; where it cannot
// (NOT_SUPPORTED, or sequences of different lengths a persistent algorithm refuses), auto runs
// standard instead (no error) and still matches the reference.
TEST(GpuCudnnSeqAuto, RunsTheMeasuredAlgorithmOrElseStandard) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  for (CudnnAlgo measured :
       {CudnnAlgo::persist_static, CudnnAlgo::persist_dynamic, CudnnAlgo::persist_static_small_h})
    for (CellKind cell : {CellKind::lstm, CellKind::gru})
      for (bool lengths : {true, false}) {  // a refusal with lengths must not stick to the shape
        SCOPED_TRACE(std::string(cell_name(cell)) + " measured " + cudnn_algo_name(measured) +
                     (lengths ? " with lengths" : ""));
        const Case c{cell, 0, false, true, lengths, 3, kHidden, 7, DType::f32};
        const Problem p = make_problem(c, kCudnnSeed);
        MeasuredAlgoScope table(c, measured);
        bool forced_runs = true;
        Results forced;
        {
          AlgoScope algo(measured);
          try {
            forced = run_engine(p, c.dtype, kCudnn);
          } catch (const Error& e) {
            if (!not_supported(e)) throw;
            forced_runs = false;
          }
        }
        AlgoScope algo(CudnnAlgo::auto_);
        const Results got = run_engine(p, c.dtype, kCudnn);
        if (forced_runs) compare_results(got, forced, nullptr);
        expect_matches_reference(p, c.dtype, kCudnn);
      }
}

TEST(GpuCudnnSeqErrors, RefusesLeakyCellsHostTensorsAndShortLengths) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const Case c{CellKind::gru, 0, false, true, true, 3, kHidden, 7, DType::f32};
  const Problem p = make_problem(c, kCudnnSeed);
  auto dev = [](const Tensor& t) { return t.to(DType::f32).to(kCuda); };
  DeviceCall call(p, kCuda);
  const SeqParams& params = call.params;
  SeqForward& a = call.args;
  SeqConfig leaky = p.cfg;
  leaky.cell = CellKind::leaky;
  testing::expect_error([&] { recurrent_seq_fwd_cudnn(leaky, params, a); }, {"leaky"});
  a.h0 = p.h0.to(DType::f32);  // on the host: refused
  testing::expect_error([&] { recurrent_seq_fwd_cudnn(p.cfg, params, a); }, {"h0", "cpu"});
  a.h0 = dev(p.h0);
  a.lengths = p.lengths;  // on the host: refused
  testing::expect_error([&] { recurrent_seq_fwd_cudnn(p.cfg, params, a); }, {"lengths", "cpu"});
  a.lengths = Tensor::from_vector<int64_t>({7, 1}, {2}).to(kCuda);  // 2 lengths for 3 rows
  testing::expect_error([&] { recurrent_seq_fwd_cudnn(p.cfg, params, a); }, {"lengths", "[3]"});
  a.lengths = p.lengths.to(kCuda);
  SeqBackward b;  // a backward without a cuDNN training forward
  SeqSaved none;
  b.x = &call.x;
  b.saved = &none;
  testing::expect_error([&] { recurrent_seq_bwd_cudnn(p.cfg, params, b); }, {"training forward"});
}

// ---------------------------------------------------------------- through the Recurrent layer

// Through the layer: with the nearest shape ranking cuDNN first at persist_dynamic, a call whose
// sequences have different lengths (which persist_dynamic refuses) follows the entry's ranking for
// such calls (fused first here); lengths that are all T, or none, keep cuDNN.
TEST(GpuCudnnLayerAuto, CallsWithDifferentLengthsFollowTheirOwnRanking) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const int64_t B = 3, T = 7;
  nlohmann::json entries = nlohmann::json::array();
  for (const char* mode : {"inference", "training"})
    entries.push_back({{"cell", "lstm"},
                       {"mode", mode},
                       {"dtype", "f32"},
                       {"B", B},
                       {"H", kHidden},
                       {"T", T},
                       {"ranking", {"cudnn", "fused"}},
                       {"cudnn_algo", "persist_dynamic"},
                       {"ranking_varying_lengths", {"fused", "cudnn"}},
                       {"cudnn_algo_varying_lengths", "standard"}});
  const std::shared_ptr<const EngineTable> saved = EngineTable::active();
  EngineTable::set_active(EngineTable::parse({{"entries", entries}}, "test"));
  RecurrentConfig cfg;
  cfg.cell = CellKind::lstm;
  cfg.input_size = 5;
  cfg.hidden_size = kHidden;
  Recurrent rnn(cfg, DType::f32, 11);
  rnn.to(kCuda);
  const Tensor x = testing::random_tensor({B, T, 5}, 1).to(DType::f32).to(kCuda);
  rnn.run(x, {}, Tensor::from_vector<int64_t>({T, 2, 5}, {B}));
  EXPECT_EQ(rnn.last_engine(), Engine::fused);
  rnn.run(x, {}, Tensor::from_vector<int64_t>({T, T, T}, {B}));
  EXPECT_EQ(rnn.last_engine(), Engine::cudnn);
  rnn.run(x);
  EXPECT_EQ(rnn.last_engine(), Engine::cudnn);
  EngineTable::set_active(*saved);
}

RecurrentConfig layer_config(CellKind cell) {
  RecurrentConfig c;
  c.cell = cell;
  c.input_size = 19;
  c.hidden_size = kHidden;
  c.num_layers = 3;  // layers 2 and 3 have the same shape: one cached plan, two weight sets
  c.bidirectional = true;
  c.dropout = 0.25;
  c.proj_size = cell == CellKind::lstm ? kProj : 0;
  return c;
}

class GpuCudnnLayer : public ::testing::TestWithParam<CellKind> {
 protected:
  void SetUp() override {
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  }

  void check(DType dtype, const Tolerance& tol) {
    using namespace layer_parity;
    const RecurrentConfig cfg = layer_config(GetParam());
    Recurrent cpu(cfg, DType::f64, 11);
    Recurrent gpu(cfg, dtype, 11);
    copy_parameters(cpu, gpu);
    gpu.to(kCuda);
    gpu.set_engine(Engine::cudnn);

    const LayerInputs in = make_layer_inputs(cfg);
    const LayerRun want = run_layer(cpu, in, /*step=*/3);
    const LayerRun got = run_layer(gpu, in, /*step=*/3);
    EXPECT_EQ(gpu.last_engine(), Engine::cudnn);
    expect_runs_close(got, want, [&](const Tensor& ref) { return scaled_to(tol, ref); });
  }
};

TEST_P(GpuCudnnLayer, F64MatchesTheReference) {
  check(DType::f64, kF64);
}

TEST_P(GpuCudnnLayer, F32MatchesTheF64Reference) {
  check(DType::f32, kF32);
}

// Mixed precision: cuDNN's 16-bit RNN (its states and cell state 16-bit too) within the mixed
// tolerance of the f64 reference; relu's kinks make per-element gradient bounds meaningless, so
// that cell is checked on its outputs (see tests/layers/recurrent_precision_test.cpp).
TEST_P(GpuCudnnLayer, MixedPrecisionMatchesTheF64Reference) {
  using namespace layer_parity;
  const RecurrentConfig cfg = layer_config(GetParam());
  for (Precision precision : {Precision::bf16, Precision::f16}) {
    SCOPED_TRACE(precision_name(precision));
    Recurrent cpu(cfg, DType::f64, 11);
    Recurrent gpu(cfg, DType::f32, 11);
    copy_parameters(cpu, gpu);
    gpu.to(kCuda);
    gpu.set_engine(Engine::cudnn);
    gpu.set_precision(precision);
    const LayerInputs in = make_layer_inputs(cfg);
    const LayerRun want = run_layer(cpu, in, /*step=*/3);
    const LayerRun got = run_layer(gpu, in, /*step=*/3);
    EXPECT_EQ(gpu.last_engine(), Engine::cudnn);
    if (GetParam() == CellKind::rnn_relu)
      testing::expect_close(got.out.y, want.out.y, testing::mixed_tolerance(want.out.y), "y");
    else
      expect_runs_close(got, want, [](const Tensor& r) { return testing::mixed_tolerance(r); });
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, GpuCudnnLayer,
                         ::testing::Values(CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::gru,
                                           CellKind::lstm),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

}  // namespace
}  // namespace recur

#else  // RECUR_WITH_CUDNN

TEST(GpuCudnnSeq, NeedsCudnnInTheBuild) {
  GTEST_SKIP() << "this build of recur has no cuDNN";
}

#endif  // RECUR_WITH_CUDNN
