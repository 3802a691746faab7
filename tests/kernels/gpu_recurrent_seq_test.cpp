// Parity of the Fused CUDA engine for one recurrent direction (recurrent_seq_fwd_fused /
// recurrent_seq_bwd_fused, kernels/recurrent_seq.h) with the CPU reference (recurrent_seq_*_ref):
// every cell (rnn_tanh, rnn_relu, leaky with a per-unit leak, gru, lstm, lstm with projection),
// both directions, with and without initial state, with and without lengths (1 and T among them),
// batch 1, 3 and 64, hidden sizes that are not multiples of 32, T = 1 and 7. f64 runs against the
// f64 reference to ~1e-10; f32 runs against the f64 reference of the same (f32-rounded) inputs
// with NMSE <= 1e-10 and per element 1e-4 relative plus 2e-6 of the tensor's largest. Compared: the
// inference and the training forward (y, h_n, c_n) and the backward (dx, dh0, dc0 and every weight
// gradient, all accumulated onto non-zero starting values). Two Fused runs are bit-identical. Skips
// where there is no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "core/cuda_runtime.h"
#include "core/random.h"
#include "kernels/recurrent_seq.h"
#include "support/compare.h"
#include "support/expect_error.h"

namespace recur {
namespace {

using testing::expect_close;
using testing::Tolerance;

const Device kCuda = Device::cuda(0);

struct Case {
  CellKind cell;
  int64_t proj;  // lstm projection size, 0 for none
  bool reverse;
  bool h0;
  bool lengths;
  int64_t B, H, T;
  DType dtype;
  bool bias = true;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string s = cell_name(c.cell);
  if (c.proj) s += "_proj";
  s += c.reverse ? "_rev" : "_fwd";
  if (c.h0) s += "_h0";
  if (c.lengths) s += "_len";
  if (!c.bias) s += "_nobias";
  s += "_B" + std::to_string(c.B) + "_H" + std::to_string(c.H) + "_T" + std::to_string(c.T);
  return s + "_" + dtype_name(c.dtype);
}

// gtest prints a failing case by its name rather than its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(::testing::TestParamInfo<Case>(c, 0));
}

constexpr int64_t kInput = 13;  // I
constexpr int64_t kProj = 11;   // P < H

// Everything one direction reads, on the CPU in f64, already rounded to the engine's dtype so the
// reference computes exactly on what the engine sees.
struct Problem {
  SeqConfig cfg;
  Tensor x, h0, c0, lengths;
  SeqParams params;
  Tensor y_init;  // [B,T,Y] sentinel: columns other than this direction's must stay as they are
  int64_t y_col = 0;
  Tensor dy, dh_n, dc_n;
  Tensor dx_init;  // the backward accumulates into dx and the weight gradients
  SeqParamGrads grads_init;
};

Tensor uniform(const Shape& shape, double low, double high, uint32_t stream, DType round_to) {
  Tensor t = Tensor::empty(shape, DType::f64);
  fill_uniform(t, low, high, 31337, stream);
  return t.to(round_to).to(DType::f64);
}

std::vector<int64_t> make_lengths(int64_t B, int64_t T) {
  if (B == 1) return {std::max<int64_t>(1, T / 2 + 1)};  // one row, ending early where T > 1
  std::vector<int64_t> len(B);
  for (int64_t b = 0; b < B; ++b) len[b] = 1 + (b * 5 + 3) % T;
  len[0] = T;  // the longest and the shortest are always there
  len[1] = 1;
  return len;
}

Problem make_problem(const Case& c) {
  Problem p;
  p.cfg.cell = c.cell;
  p.cfg.input_size = kInput;
  p.cfg.hidden_size = c.H;
  p.cfg.proj_size = c.proj;
  p.cfg.reverse = c.reverse;
  const int64_t B = c.B, T = c.T, H = c.H, S = p.cfg.state_size(), G = p.cfg.gate_rows();
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
  if (c.cell == CellKind::leaky) p.params.leak = uniform({H}, 0.1, 0.9, stream++, r);

  // Two directions' worth of output columns, as in a bidirectional layer.
  const int64_t Y = 2 * S;
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
  if (c.cell == CellKind::leaky) p.grads_init.leak = uniform({H}, -1, 1, stream++, r);
  return p;
}

using FwdFn = void (*)(const SeqConfig&, const SeqParams&, SeqForward&);
using BwdFn = void (*)(const SeqConfig&, const SeqParams&, SeqBackward&);

struct Engine {
  FwdFn fwd;
  BwdFn bwd;
  Device device;
};

// What an engine produced, brought back to the CPU in the engine's dtype.
struct Results {
  Tensor y_inf, h_n_inf, c_n_inf;  // inference forward
  Tensor y, h_n, c_n;              // training forward
  Tensor dx, dh0, dc0;
  SeqParamGrads grads;
};

Results run_engine(const Problem& p, DType dtype, const Engine& e) {
  auto move = [&](const Tensor& t) { return t.defined() ? t.to(dtype).to(e.device) : Tensor(); };
  auto back = [](const Tensor& t) { return t.defined() ? t.to(Device::cpu()) : Tensor(); };
  const bool lstm = p.cfg.cell == CellKind::lstm;
  const int64_t B = p.x.size(0), S = p.cfg.state_size(), H = p.cfg.hidden_size;
  SeqParams params{move(p.params.w_ih), move(p.params.w_hh), move(p.params.b_ih),
                   move(p.params.b_hh), move(p.params.w_hr), move(p.params.leak)};
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
  b.grads = {move(g0.w_ih), move(g0.w_hh), move(g0.b_ih),
             move(g0.b_hh), move(g0.w_hr), move(g0.leak)};
  e.bwd(p.cfg, params, b);
  r.dx = back(b.dx);
  r.dh0 = back(b.dh0);
  r.dc0 = back(b.dc0);
  r.grads = {back(b.grads.w_ih), back(b.grads.w_hh), back(b.grads.b_ih),
             back(b.grads.b_hh), back(b.grads.w_hr), back(b.grads.leak)};
  return r;
}

const Engine kReference{recurrent_seq_fwd_ref, recurrent_seq_bwd_ref, Device::cpu()};
const Engine kFused{recurrent_seq_fwd_fused, recurrent_seq_bwd_fused, kCuda};

// Tolerances against the f64 reference. The absolute part scales with the tensor's largest
// element: a weight gradient sums B*T terms, so an element that cancels to near zero carries the
// rounding of terms as large as the tensor's largest. Measured with the CPU engine in f32, the
// worst element needs 2.1e-7 of the largest; 2e-6 leaves room for cuBLAS's other summation order.
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
  check(got.grads.leak, ref.grads.leak, "grad leak");
}

bool have_gpu() {
  return cuda_device_count() > 0;
}

class GpuRecurrentSeq : public ::testing::TestWithParam<Case> {};
class GpuRecurrentSeqDeterminism : public ::testing::TestWithParam<Case> {};

TEST_P(GpuRecurrentSeq, FusedMatchesReference) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const Case& c = GetParam();
  const Problem p = make_problem(c);
  const Results ref = run_engine(p, DType::f64, kReference);
  const Results fused = run_engine(p, c.dtype, kFused);
  const Tolerance tol = c.dtype == DType::f64 ? kF64 : kF32;
  compare_results(fused, ref, &tol);
}

TEST_P(GpuRecurrentSeqDeterminism, TwoFusedRunsAreBitIdentical) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const Case& c = GetParam();
  const Problem p = make_problem(c);
  const Results first = run_engine(p, c.dtype, kFused);
  const Results second = run_engine(p, c.dtype, kFused);
  compare_results(second, first, nullptr);
}

struct CellVariant {
  CellKind cell;
  int64_t proj;
};
constexpr CellVariant kCells[] = {{CellKind::rnn_tanh, 0}, {CellKind::rnn_relu, 0},
                                  {CellKind::leaky, 0},    {CellKind::gru, 0},
                                  {CellKind::lstm, 0},     {CellKind::lstm, kProj}};

struct Size {
  int64_t B, H, T;
};

std::vector<Case> parity_cases() {
  std::vector<Case> out;
  for (const CellVariant& cv : kCells)
    for (bool reverse : {false, true})
      for (bool h0 : {false, true})
        for (bool lengths : {false, true})
          for (Size s : {Size{1, 37, 7}, Size{3, 50, 1}, Size{3, 37, 7}, Size{64, 50, 7}})
            for (DType dtype : {DType::f64, DType::f32})
              out.push_back({cv.cell, cv.proj, reverse, h0, lengths, s.B, s.H, s.T, dtype});
  // Without biases (the engine stands zeros in for them).
  for (const CellVariant& cv : kCells)
    for (DType dtype : {DType::f64, DType::f32})
      out.push_back({cv.cell, cv.proj, true, true, true, 3, 37, 7, dtype, /*bias=*/false});
  return out;
}

// Determinism where the GEMMs and column sums are largest: batch 64, lengths, both directions.
std::vector<Case> determinism_cases() {
  std::vector<Case> out;
  for (const CellVariant& cv : kCells)
    for (bool reverse : {false, true})
      out.push_back({cv.cell, cv.proj, reverse, true, true, 64, 50, 7, DType::f32});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Parity, GpuRecurrentSeq, ::testing::ValuesIn(parity_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Fused, GpuRecurrentSeqDeterminism,
                         ::testing::ValuesIn(determinism_cases()), case_name);

// The engine takes every tensor on the input's GPU and says which one is not.
TEST(GpuRecurrentSeqErrors, FusedRejectsTensorsOnTheHost) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const Case c{CellKind::gru, 0, false, true, true, 3, 37, 7, DType::f32};
  const Problem p = make_problem(c);
  auto dev = [](const Tensor& t) { return t.to(DType::f32).to(kCuda); };
  SeqParams params{dev(p.params.w_ih), dev(p.params.w_hh), dev(p.params.b_ih),
                   dev(p.params.b_hh), Tensor(),           Tensor()};
  const Tensor x = dev(p.x);
  SeqForward a;
  a.x = &x;
  a.h0 = dev(p.h0);
  a.lengths = p.lengths;  // on the host: refused
  a.y = dev(p.y_init);
  a.h_n = Tensor::empty({3, 37}, DType::f32, kCuda);
  testing::expect_error([&] { recurrent_seq_fwd_fused(p.cfg, params, a); },
                        {"lengths", "cpu", "cuda:0"});
  a.lengths = p.lengths.to(kCuda);
  a.h0 = p.h0.to(DType::f32);  // on the host: refused
  testing::expect_error([&] { recurrent_seq_fwd_fused(p.cfg, params, a); },
                        {"h0", "cpu", "cuda:0"});
  a.h0 = dev(p.h0);
  params.w_hh = p.params.w_hh.to(DType::f32);
  testing::expect_error([&] { recurrent_seq_fwd_fused(p.cfg, params, a); },
                        {"weight_hh", "cpu", "cuda:0"});
  const Tensor host_x = p.x.to(DType::f32);
  a.x = &host_x;
  testing::expect_error([&] { recurrent_seq_fwd_fused(p.cfg, params, a); }, {"GPU", "cpu"});
}

}  // namespace
}  // namespace recur
