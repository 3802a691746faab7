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
// answers NOT_SUPPORTED for is skipped (never for the standard algorithm). Two cuDNN runs are
// bit-identical. The Recurrent layer runs on the engine unchanged (two bidirectional layers,
// dropout, lengths). Skips where there is no GPU or the build has no cuDNN.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"

#if RECUR_WITH_CUDNN

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "core/random.h"
#include "kernels/recurrent_engine.h"
#include "kernels/recurrent_seq.h"
#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

using testing::expect_close;
using testing::Tolerance;

const Device kCuda = Device::cuda(0);
constexpr int64_t kInput = 13;   // I
constexpr int64_t kHidden = 37;  // H, not a multiple of 32
constexpr int64_t kProj = 11;    // P < H

struct Case {
  CellKind cell;
  int64_t proj;  // lstm projection size, 0 for none
  bool reverse;
  bool h0;
  bool lengths;
  int64_t B, T;
  DType dtype;
  bool bias = true;
  CudnnAlgo algo = CudnnAlgo::standard;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string s = cell_name(c.cell);
  if (c.proj) s += "_proj";
  s += c.reverse ? "_rev" : "_fwd";
  if (c.h0) s += "_h0";
  if (c.lengths) s += "_len";
  if (!c.bias) s += "_nobias";
  s += "_B" + std::to_string(c.B) + "_T" + std::to_string(c.T) + "_" + dtype_name(c.dtype);
  return s + "_" + cudnn_algo_name(c.algo);
}

// gtest prints a failing case by its name rather than its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(::testing::TestParamInfo<Case>(c, 0));
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

// Everything one direction reads, on the CPU in f64, already rounded to the engine's dtype so the
// reference computes exactly on what the engine sees.
struct Problem {
  SeqConfig cfg;
  Tensor x, h0, c0, lengths;
  SeqParams params;
  Tensor y_init;  // [B,T,2S] sentinel: the other direction's columns must stay as they are
  int64_t y_col = 0;
  Tensor dy, dh_n, dc_n;
  Tensor dx_init;  // the backward accumulates into dx and the weight gradients
  SeqParamGrads grads_init;
};

Tensor uniform(const Shape& shape, double low, double high, uint32_t stream, DType round_to) {
  Tensor t = Tensor::empty(shape, DType::f64);
  fill_uniform(t, low, high, 4242, stream);
  return t.to(round_to).to(DType::f64);
}

// 1 and T always present (for B > 1), the others as different as T allows.
std::vector<int64_t> make_lengths(int64_t B, int64_t T) {
  if (B == 1) return {std::max<int64_t>(1, T / 2 + 1)};
  std::vector<int64_t> len(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) len[static_cast<size_t>(b)] = 1 + (b * 5 + 3) % T;
  len[0] = T;
  len[1] = 1;
  return len;
}

Problem make_problem(const Case& c) {
  Problem p;
  p.cfg.cell = c.cell;
  p.cfg.input_size = kInput;
  p.cfg.hidden_size = kHidden;
  p.cfg.proj_size = c.proj;
  p.cfg.reverse = c.reverse;
  const int64_t B = c.B, T = c.T, H = kHidden, S = p.cfg.state_size(), G = p.cfg.gate_rows();
  const bool lstm = c.cell == CellKind::lstm;
  const DType r = c.dtype;
  const double k = 1.0 / std::sqrt(static_cast<double>(H));  // PyTorch's initial range
  uint32_t stream = 1;
  p.x = uniform({B, T, kInput}, -1, 1, stream++, r);
  if (c.h0) p.h0 = uniform({B, S}, -1, 1, stream++, r);
  if (c.h0 && lstm) p.c0 = uniform({B, H}, -1, 1, stream++, r);
  if (c.lengths) p.lengths = Tensor::from_vector(make_lengths(B, T), {B});
  p.params.w_ih = uniform({G, kInput}, -k, k, stream++, r);
  p.params.w_hh = uniform({G, S}, -k, k, stream++, r);
  if (c.bias) {
    p.params.b_ih = uniform({G}, -k, k, stream++, r);
    p.params.b_hh = uniform({G}, -k, k, stream++, r);
  }
  if (c.proj) p.params.w_hr = uniform({c.proj, H}, -k, k, stream++, r);

  const int64_t Y = 2 * S;  // two directions' columns, as in a bidirectional layer
  p.y_col = c.reverse ? S : 0;
  p.y_init = Tensor::full({B, T, Y}, 7.0, DType::f64);
  p.dy = uniform({B, T, Y}, -1, 1, stream++, r);
  p.dh_n = uniform({B, S}, -1, 1, stream++, r);
  if (lstm) p.dc_n = uniform({B, H}, -1, 1, stream++, r);
  p.dx_init = uniform({B, T, kInput}, -1, 1, stream++, r);
  p.grads_init.w_ih = uniform({G, kInput}, -1, 1, stream++, r);
  p.grads_init.w_hh = uniform({G, S}, -1, 1, stream++, r);
  if (c.bias) {
    p.grads_init.b_ih = uniform({G}, -1, 1, stream++, r);
    p.grads_init.b_hh = uniform({G}, -1, 1, stream++, r);
  }
  if (c.proj) p.grads_init.w_hr = uniform({c.proj, H}, -1, 1, stream++, r);
  return p;
}

using FwdFn = void (*)(const SeqConfig&, const SeqParams&, SeqForward&);
using BwdFn = void (*)(const SeqConfig&, const SeqParams&, SeqBackward&);

struct EngineFns {
  FwdFn fwd;
  BwdFn bwd;
  Device device;
};

const EngineFns kReference{recurrent_seq_fwd_ref, recurrent_seq_bwd_ref, Device::cpu()};
const EngineFns kCudnn{recurrent_seq_fwd_cudnn, recurrent_seq_bwd_cudnn, kCuda};

// What an engine produced, brought back to the CPU in the engine's dtype.
struct Results {
  Tensor y_inf, h_n_inf, c_n_inf;  // inference forward
  Tensor y, h_n, c_n;              // training forward
  Tensor dx, dh0, dc0;
  SeqParamGrads grads;
};

Results run_engine(const Problem& p, DType dtype, const EngineFns& e) {
  auto move = [&](const Tensor& t) { return t.defined() ? t.to(dtype).to(e.device) : Tensor(); };
  auto back = [](const Tensor& t) { return t.defined() ? t.to(Device::cpu()) : Tensor(); };
  const bool lstm = p.cfg.cell == CellKind::lstm;
  const int64_t B = p.x.size(0), S = p.cfg.state_size(), H = p.cfg.hidden_size;
  SeqParams params{move(p.params.w_ih), move(p.params.w_hh), move(p.params.b_ih),
                   move(p.params.b_hh), move(p.params.w_hr), Tensor()};
  const Tensor x = move(p.x);
  const Tensor lengths = p.lengths.defined() ? p.lengths.to(e.device) : Tensor();  // i64

  auto forward = [&](SeqSaved* saved, Tensor& y, Tensor& h_n, Tensor& c_n) {
    SeqForward a;
    a.x = &x;
    a.h0 = move(p.h0);
    a.c0 = move(p.c0);
    a.lengths = lengths;
    a.y = move(p.y_init);
    a.y_col = p.y_col;
    a.h_n = Tensor::empty({B, S}, dtype, e.device);
    if (lstm) a.c_n = Tensor::empty({B, H}, dtype, e.device);
    a.saved = saved;
    e.fwd(p.cfg, params, a);
    y = back(a.y);
    h_n = back(a.h_n);
    c_n = back(a.c_n);
  };

  Results r;
  forward(nullptr, r.y_inf, r.h_n_inf, r.c_n_inf);
  SeqSaved saved;
  forward(&saved, r.y, r.h_n, r.c_n);

  SeqBackward b;
  b.x = &x;
  b.lengths = lengths;
  b.saved = &saved;
  b.dy = move(p.dy);
  b.dy_col = p.y_col;
  b.dh_n = move(p.dh_n);
  b.dc_n = move(p.dc_n);
  b.dx = move(p.dx_init);
  b.dh0 = Tensor::empty({B, S}, dtype, e.device);
  if (lstm) b.dc0 = Tensor::empty({B, H}, dtype, e.device);
  const SeqParamGrads& g0 = p.grads_init;
  b.grads = {move(g0.w_ih), move(g0.w_hh), move(g0.b_ih), move(g0.b_hh), move(g0.w_hr), Tensor()};
  e.bwd(p.cfg, params, b);
  r.dx = back(b.dx);
  r.dh0 = back(b.dh0);
  r.dc0 = back(b.dc0);
  r.grads = {back(b.grads.w_ih), back(b.grads.w_hh), back(b.grads.b_ih),
             back(b.grads.b_hh), back(b.grads.w_hr), Tensor()};
  return r;
}

// Tolerances against the f64 reference; the absolute part scales with the tensor's largest
// element (an element of a weight gradient that cancels to near zero still carries the rounding
// of B*T terms as large as the largest).
constexpr Tolerance kF64{1e-24, 1e-10, 1e-12};
constexpr Tolerance kF32{1e-10, 1e-4, 2e-6};

Tolerance scaled_to(const Tolerance& tol, const Tensor& ref) {
  double largest = 1.0;
  for (double v : ref.to_vector()) largest = std::max(largest, std::fabs(v));
  return {tol.nmse, tol.rtol, tol.atol * largest};
}

// Every output of `got` against the f64 reference, or bit for bit against another run when
// `tol` is null.
void compare_results(const Results& got, const Results& ref, const Tolerance* tol) {
  auto check = [&](const Tensor& a, const Tensor& r, const char* what) {
    ASSERT_EQ(a.defined(), r.defined()) << what;
    if (!a.defined()) return;
    if (tol) {
      expect_close(a.to(DType::f64), r, scaled_to(*tol, r), what);
    } else {
      ASSERT_EQ(a.dtype(), r.dtype()) << what;
      ASSERT_EQ(a.shape(), r.shape()) << what;
      EXPECT_EQ(std::memcmp(a.raw_data(), r.raw_data(), a.nbytes()), 0)
          << what << ": two runs differ";
    }
  };
  check(got.y_inf, ref.y, "inference y");
  check(got.h_n_inf, ref.h_n, "inference h_n");
  check(got.c_n_inf, ref.c_n, "inference c_n");
  check(got.y, ref.y, "y");
  check(got.h_n, ref.h_n, "h_n");
  check(got.c_n, ref.c_n, "c_n");
  check(got.dx, ref.dx, "dx");
  check(got.dh0, ref.dh0, "dh0");
  check(got.dc0, ref.dc0, "dc0");
  check(got.grads.w_ih, ref.grads.w_ih, "grad w_ih");
  check(got.grads.w_hh, ref.grads.w_hh, "grad w_hh");
  check(got.grads.b_ih, ref.grads.b_ih, "grad b_ih");
  check(got.grads.b_hh, ref.grads.b_hh, "grad b_hh");
  check(got.grads.w_hr, ref.grads.w_hr, "grad w_hr");
}

bool not_supported(const Error& e) {
  return std::string(e.what()).find("not supported by cuDNN") != std::string::npos;
}

class GpuCudnnSeq : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};
class GpuCudnnSeqDeterminism : public GpuCudnnSeq {};

TEST_P(GpuCudnnSeq, MatchesReference) {
  const Case& c = GetParam();
  const Problem p = make_problem(c);
  const Results ref = run_engine(p, DType::f64, kReference);
  AlgoScope algo(c.algo);
  Results got;
  try {
    got = run_engine(p, c.dtype, kCudnn);
  } catch (const Error& e) {
    // Only the persistent algorithms may be out of cuDNN's reach; standard runs everything.
    if (c.algo != CudnnAlgo::standard && not_supported(e)) GTEST_SKIP() << e.what();
    throw;
  }
  const Tolerance tol = c.dtype == DType::f64 ? kF64 : kF32;
  compare_results(got, ref, &tol);
}

TEST_P(GpuCudnnSeqDeterminism, TwoRunsAreBitIdentical) {
  const Case& c = GetParam();
  const Problem p = make_problem(c);
  AlgoScope algo(c.algo);
  const Results first = run_engine(p, c.dtype, kCudnn);
  const Results second = run_engine(p, c.dtype, kCudnn);
  compare_results(second, first, nullptr);
}

struct CellVariant {
  CellKind cell;
  int64_t proj;
};
constexpr CellVariant kCells[] = {{CellKind::rnn_tanh, 0},
                                  {CellKind::rnn_relu, 0},
                                  {CellKind::gru, 0},
                                  {CellKind::lstm, 0},
                                  {CellKind::lstm, kProj}};

struct Size {
  int64_t B, T;
};

// The standard algorithm on the whole grid.
std::vector<Case> parity_cases() {
  std::vector<Case> out;
  for (const CellVariant& cv : kCells)
    for (bool reverse : {false, true})
      for (bool h0 : {false, true})
        for (bool lengths : {false, true})
          for (Size s : {Size{1, 7}, Size{3, 1}, Size{3, 7}, Size{64, 7}})
            for (DType dtype : {DType::f64, DType::f32})
              out.push_back({cv.cell, cv.proj, reverse, h0, lengths, s.B, s.T, dtype});
  for (const CellVariant& cv : kCells)  // without biases (CUDNN_RNN_NO_BIAS)
    for (DType dtype : {DType::f64, DType::f32})
      out.push_back({cv.cell, cv.proj, true, true, true, 3, 7, dtype, /*bias=*/false});
  return out;
}

// The persistent algorithms on a smaller grid (persist_dynamic builds kernels for each shape).
std::vector<Case> algorithm_cases() {
  std::vector<Case> out;
  for (CudnnAlgo algo :
       {CudnnAlgo::persist_static, CudnnAlgo::persist_dynamic, CudnnAlgo::persist_static_small_h})
    for (const CellVariant& cv : kCells)
      for (bool reverse : {false, true})
        for (bool lengths : {false, true})
          for (DType dtype : {DType::f64, DType::f32}) {
            Case c{cv.cell, cv.proj, reverse, true, lengths, 3, 7, dtype};
            c.algo = algo;
            out.push_back(c);
          }
  return out;
}

// Where cuDNN's reductions are largest: batch 64, lengths, both directions, every cell.
std::vector<Case> determinism_cases() {
  std::vector<Case> out;
  for (const CellVariant& cv : kCells)
    for (bool reverse : {false, true})
      out.push_back({cv.cell, cv.proj, reverse, true, true, 64, 7, DType::f32});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Standard, GpuCudnnSeq, ::testing::ValuesIn(parity_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Algorithms, GpuCudnnSeq, ::testing::ValuesIn(algorithm_cases()),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Standard, GpuCudnnSeqDeterminism, ::testing::ValuesIn(determinism_cases()),
                         case_name);

TEST(GpuCudnnSeqErrors, RefusesLeakyCellsAndHostTensors) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  const Case c{CellKind::gru, 0, false, true, true, 3, 7, DType::f32};
  const Problem p = make_problem(c);
  auto dev = [](const Tensor& t) { return t.to(DType::f32).to(kCuda); };
  SeqParams params{dev(p.params.w_ih), dev(p.params.w_hh), dev(p.params.b_ih),
                   dev(p.params.b_hh), Tensor(),           Tensor()};
  const Tensor x = dev(p.x);
  SeqForward a;
  a.x = &x;
  a.h0 = dev(p.h0);
  a.lengths = p.lengths.to(kCuda);
  a.y = dev(p.y_init);
  a.h_n = Tensor::empty({3, kHidden}, DType::f32, kCuda);
  SeqConfig leaky = p.cfg;
  leaky.cell = CellKind::leaky;
  testing::expect_error([&] { recurrent_seq_fwd_cudnn(leaky, params, a); }, {"leaky"});
  a.h0 = p.h0.to(DType::f32);  // on the host: refused
  testing::expect_error([&] { recurrent_seq_fwd_cudnn(p.cfg, params, a); }, {"h0", "cpu"});
  a.h0 = dev(p.h0);
  a.lengths = p.lengths;  // on the host: refused
  testing::expect_error([&] { recurrent_seq_fwd_cudnn(p.cfg, params, a); }, {"lengths", "cpu"});
  a.lengths = p.lengths.to(kCuda);
  SeqBackward b;  // a backward without a cuDNN training forward
  SeqSaved none;
  b.x = &x;
  b.saved = &none;
  testing::expect_error([&] { recurrent_seq_bwd_cudnn(p.cfg, params, b); }, {"training forward"});
}

// ---------------------------------------------------------------- through the Recurrent layer

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

struct LayerRun {
  Recurrent::Output out;
  Recurrent::InputGrads grads;
  std::vector<Tensor> param_grads;
};

LayerRun run_layer(Recurrent& rnn, const Tensor& x64, const RecurrentState& init64,
                   const Tensor& lengths, const Tensor& dy64) {
  const Device dev = rnn.device();
  const DType dt = rnn.dtype();
  auto there = [&](const Tensor& t) { return t.defined() ? t.to(dt).to(dev) : Tensor(); };
  auto back = [](const Tensor& t) { return t.defined() ? t.to(Device::cpu()).to(DType::f64) : t; };
  rnn.zero_grad();
  ForwardOptions train;
  train.keep_for_backward = true;
  train.step = 3;
  LayerRun r;
  // The layer takes lengths on the host and moves them to where its kernels run.
  Recurrent::Output o = rnn.run(there(x64), {there(init64.h), there(init64.c)}, lengths, train);
  Recurrent::InputGrads g = rnn.run_backward(there(dy64));
  r.out = {back(o.y), {back(o.final_state.h), back(o.final_state.c)}};
  r.grads = {back(g.dx), {back(g.d_initial.h), back(g.d_initial.c)}};
  for (const Parameter& p : rnn.parameters())
    if (p.grad.defined()) r.param_grads.push_back(back(p.grad));
  return r;
}

class GpuCudnnLayer : public ::testing::TestWithParam<CellKind> {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }

  void check(DType dtype, const Tolerance& tol) {
    const RecurrentConfig cfg = layer_config(GetParam());
    const int64_t B = 3, T = 7, L = cfg.num_layers, D = cfg.directions();
    Recurrent cpu(cfg, DType::f64, 11);
    Recurrent gpu(cfg, dtype, 11);
    ParameterList from = cpu.parameters(), to = gpu.parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].value.copy_from(from[i].value);
    gpu.to(kCuda);
    gpu.set_engine(Engine::cudnn);

    Tensor x = testing::random_tensor({B, T, cfg.input_size}, 1);
    RecurrentState init{
        testing::random_tensor({L * D, B, cfg.state_size()}, 2),
        GetParam() == CellKind::lstm ? testing::random_tensor({L * D, B, kHidden}, 3) : Tensor()};
    Tensor lengths = Tensor::from_vector<int64_t>({T, 1, 4}, {B});
    Tensor dy = testing::random_tensor({B, T, cfg.output_size()}, 4);

    const LayerRun want = run_layer(cpu, x, init, lengths, dy);
    const LayerRun got = run_layer(gpu, x, init, lengths, dy);
    EXPECT_EQ(gpu.last_engine(), Engine::cudnn);
    auto close = [&](const Tensor& a, const Tensor& r, const std::string& what) {
      if (r.defined()) expect_close(a, r, scaled_to(tol, r), what);
    };
    close(got.out.y, want.out.y, "y");
    close(got.out.final_state.h, want.out.final_state.h, "h_n");
    close(got.out.final_state.c, want.out.final_state.c, "c_n");
    close(got.grads.dx, want.grads.dx, "dx");
    close(got.grads.d_initial.h, want.grads.d_initial.h, "dh0");
    close(got.grads.d_initial.c, want.grads.d_initial.c, "dc0");
    ASSERT_EQ(got.param_grads.size(), want.param_grads.size());
    for (size_t i = 0; i < want.param_grads.size(); ++i)
      close(got.param_grads[i], want.param_grads[i], "parameter gradient " + std::to_string(i));
  }
};

TEST_P(GpuCudnnLayer, F64MatchesTheReference) {
  check(DType::f64, kF64);
}

TEST_P(GpuCudnnLayer, F32MatchesTheF64Reference) {
  check(DType::f32, kF32);
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
