// The parity harness of the GPU recurrent engines (tests/kernels/gpu_*_test.cpp): one recurrent
// direction (kernels/recurrent_seq.h) described by a Case, its inputs drawn in f64 and rounded to
// the engine's dtype, run by an engine (inference forward, training forward, backward onto
// non-zero starting gradients) and compared with the f64 CPU reference, or bit for bit with
// another run. Tolerances: f64 to ~1e-10; f32 NMSE <= 1e-10 and per element 1e-4 relative plus
// 2e-6 of the tensor's largest.
#pragma once

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

namespace recur::seq_parity {

using testing::expect_close;
using testing::Tolerance;

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

// The cell and its options: "lstm_proj_rev_h0_len_nobias" (sizes and dtype left to the caller).
inline std::string case_options(const Case& c) {
  std::string s = cell_name(c.cell);
  if (c.proj) s += "_proj";
  s += c.reverse ? "_rev" : "_fwd";
  if (c.h0) s += "_h0";
  if (c.lengths) s += "_len";
  if (!c.bias) s += "_nobias";
  return s;
}

inline std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string s = case_options(c);
  s += "_B" + std::to_string(c.B) + "_H" + std::to_string(c.H) + "_T" + std::to_string(c.T);
  return s + "_" + dtype_name(c.dtype);
}

// gtest prints a failing case by its name rather than its bytes.
inline void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(::testing::TestParamInfo<Case>(c, 0));
}

// Whether there is a GPU to run the engines on (the tests skip where there is none).
inline bool have_gpu() {
  return cuda_device_count() > 0;
}

inline constexpr int64_t kInput = 13;  // I
inline constexpr int64_t kProj = 11;   // P < H

struct CellVariant {
  CellKind cell;
  int64_t proj;
};

struct Size {
  int64_t B, H, T;
};

// For each cell: every option (reverse, h0, lengths) at each size in each dtype, then (in each
// dtype) without biases, reverse with h0 and lengths at B=3, H=37, T=7.
inline std::vector<Case> option_grid(const std::vector<CellVariant>& cells,
                                     const std::vector<Size>& sizes,
                                     const std::vector<DType>& dtypes) {
  std::vector<Case> out;
  for (const CellVariant& cv : cells)
    for (bool reverse : {false, true})
      for (bool h0 : {false, true})
        for (bool lengths : {false, true})
          for (Size s : sizes)
            for (DType dtype : dtypes)
              out.push_back({cv.cell, cv.proj, reverse, h0, lengths, s.B, s.H, s.T, dtype});
  for (const CellVariant& cv : cells)
    for (DType dtype : dtypes)
      out.push_back({cv.cell, cv.proj, true, true, true, 3, 37, 7, dtype, /*bias=*/false});
  return out;
}

// For each cell, both directions with h0 and lengths, at batch 64 and T=7 in f32: where the
// reductions are largest, for the two-runs-are-bit-identical tests.
inline std::vector<Case> determinism_cases(const std::vector<CellVariant>& cells, int64_t H) {
  std::vector<Case> out;
  for (const CellVariant& cv : cells)
    for (bool reverse : {false, true})
      out.push_back({cv.cell, cv.proj, reverse, true, true, 64, H, 7, DType::f32});
  return out;
}

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

inline constexpr uint64_t kSeed = 31337;  // of every random input

inline Tensor uniform(const Shape& shape, double low, double high, uint64_t seed, uint32_t stream,
                      DType round_to) {
  Tensor t = Tensor::empty(shape, DType::f64);
  fill_uniform(t, low, high, seed, stream);
  return t.to(round_to).to(DType::f64);
}

inline std::vector<int64_t> make_lengths(int64_t B, int64_t T) {
  if (B == 1) return {std::max<int64_t>(1, T / 2 + 1)};  // one row, ending early where T > 1
  std::vector<int64_t> len(B);
  for (int64_t b = 0; b < B; ++b) len[b] = 1 + (b * 5 + 3) % T;
  len[0] = T;  // the longest and the shortest are always there
  len[1] = 1;
  return len;
}

// `seed` picks the random inputs (a test may keep its own).
inline Problem make_problem(const Case& c, uint64_t seed = kSeed) {
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
  p.x = uniform({B, T, kInput}, -1, 1, seed, stream++, r);
  if (c.h0) p.h0 = uniform({B, S}, -1, 1, seed, stream++, r);
  if (c.h0 && lstm) p.c0 = uniform({B, H}, -1, 1, seed, stream++, r);
  if (c.lengths) p.lengths = Tensor::from_vector(make_lengths(B, T), {B});
  p.params.w_ih = uniform({G, kInput}, -k, k, seed, stream++, r);
  p.params.w_hh = uniform({G, S}, -k, k, seed, stream++, r);
  if (c.bias) {
    p.params.b_ih = uniform({G}, -k, k, seed, stream++, r);
    p.params.b_hh = uniform({G}, -k, k, seed, stream++, r);
  }
  if (c.proj) p.params.w_hr = uniform({c.proj, H}, -k, k, seed, stream++, r);
  if (c.cell == CellKind::leaky) p.params.leak = uniform({H}, 0.1, 0.9, seed, stream++, r);

  // Two directions' worth of output columns, as in a bidirectional layer.
  const int64_t Y = 2 * S;
  p.y_col = c.reverse ? S : 0;
  p.y_init = Tensor::full({B, T, Y}, 7.0, DType::f64);
  p.dy = uniform({B, T, Y}, -1, 1, seed, stream++, r);
  p.dh_n = uniform({B, S}, -1, 1, seed, stream++, r);
  if (lstm) p.dc_n = uniform({B, H}, -1, 1, seed, stream++, r);
  p.dx_init = uniform({B, T, kInput}, -1, 1, seed, stream++, r);
  p.grads_init.w_ih = uniform({G, kInput}, -1, 1, seed, stream++, r);
  p.grads_init.w_hh = uniform({G, S}, -1, 1, seed, stream++, r);
  if (c.bias) {
    p.grads_init.b_ih = uniform({G}, -1, 1, seed, stream++, r);
    p.grads_init.b_hh = uniform({G}, -1, 1, seed, stream++, r);
  }
  if (c.proj) p.grads_init.w_hr = uniform({c.proj, H}, -1, 1, seed, stream++, r);
  if (c.cell == CellKind::leaky) p.grads_init.leak = uniform({H}, -1, 1, seed, stream++, r);
  return p;
}

using FwdFn = void (*)(const SeqConfig&, const SeqParams&, SeqForward&);
using BwdFn = void (*)(const SeqConfig&, const SeqParams&, SeqBackward&);

struct SeqEngine {
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

inline Results run_engine(const Problem& p, DType dtype, const SeqEngine& e) {
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

inline const SeqEngine kReference{recurrent_seq_fwd_ref, recurrent_seq_bwd_ref, Device::cpu()};

// Tolerances against the f64 reference. The absolute part scales with the tensor's largest
// element: a weight gradient sums B*T terms, so an element that cancels to near zero carries the
// rounding of terms as large as the tensor's largest. Measured with the CPU engine in f32, the
// worst element needs 2.1e-7 of the largest; 2e-6 leaves room for cuBLAS's other summation order.
inline constexpr Tolerance kF64{1e-24, 1e-10, 1e-12};
inline constexpr Tolerance kF32{1e-10, 1e-4, 2e-6};

inline Tolerance scaled_to(const Tolerance& tol, const Tensor& ref) {
  double largest = 1.0;
  for (double v : ref.to_vector()) largest = std::max(largest, std::fabs(v));
  return {tol.nmse, tol.rtol, tol.atol * largest};
}

// Calls check(a, r, what, gradient) for every output of a run `got` and the same output of `ref`
// (inference outputs against ref's training forward, which computes the same); `gradient` marks
// the backward's outputs.
template <class Check>
void for_each_output(const Results& got, const Results& ref, Check check) {
  check(got.y_inf, ref.y, "inference y", false);
  check(got.h_n_inf, ref.h_n, "inference h_n", false);
  check(got.c_n_inf, ref.c_n, "inference c_n", false);
  check(got.y, ref.y, "y", false);
  check(got.h_n, ref.h_n, "h_n", false);
  check(got.c_n, ref.c_n, "c_n", false);
  check(got.dx, ref.dx, "dx", true);
  check(got.dh0, ref.dh0, "dh0", true);
  check(got.dc0, ref.dc0, "dc0", true);
  check(got.grads.w_ih, ref.grads.w_ih, "grad w_ih", true);
  check(got.grads.w_hh, ref.grads.w_hh, "grad w_hh", true);
  check(got.grads.b_ih, ref.grads.b_ih, "grad b_ih", true);
  check(got.grads.b_hh, ref.grads.b_hh, "grad b_hh", true);
  check(got.grads.w_hr, ref.grads.w_hr, "grad w_hr", true);
  check(got.grads.leak, ref.grads.leak, "grad leak", true);
}

// Every output of `got` against the f64 reference, or bit for bit against another run when
// `tol` is null.
inline void compare_results(const Results& got, const Results& ref, const Tolerance* tol) {
  for_each_output(got, ref, [&](const Tensor& a, const Tensor& r, const char* what, bool) {
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
  });
}

// One forward call of `p` with every tensor in f32 on `device` (h_n, c_n uninitialised), for the
// error tests to move one tensor at a time. Not copyable: `args.x` points at `x`.
struct DeviceCall {
  SeqParams params;
  Tensor x;
  SeqForward args;

  DeviceCall(const Problem& p, Device device) {
    auto on = [&](const Tensor& t) { return t.defined() ? t.to(DType::f32).to(device) : Tensor(); };
    params = {on(p.params.w_ih), on(p.params.w_hh), on(p.params.b_ih),
              on(p.params.b_hh), on(p.params.w_hr), on(p.params.leak)};
    x = on(p.x);
    const int64_t B = p.x.size(0);
    args.x = &x;
    args.h0 = on(p.h0);
    args.c0 = on(p.c0);
    args.lengths = p.lengths.defined() ? p.lengths.to(device) : Tensor();
    args.y = on(p.y_init);
    args.y_col = p.y_col;
    args.h_n = Tensor::empty({B, p.cfg.state_size()}, DType::f32, device);
    if (p.cfg.cell == CellKind::lstm)
      args.c_n = Tensor::empty({B, p.cfg.hidden_size}, DType::f32, device);
  }
  DeviceCall(const DeviceCall&) = delete;
  DeviceCall& operator=(const DeviceCall&) = delete;
};

// Engine `e` on `p` in `dtype` against the f64 reference, within kF64 or kF32.
inline void expect_matches_reference(const Problem& p, DType dtype, const SeqEngine& e,
                                     const Tolerance& tol) {
  const Results ref = run_engine(p, DType::f64, kReference);
  const Results got = run_engine(p, dtype, e);
  compare_results(got, ref, &tol);
}

inline void expect_matches_reference(const Problem& p, DType dtype, const SeqEngine& e) {
  expect_matches_reference(p, dtype, e, dtype == DType::f64 ? kF64 : kF32);
}

// Two runs of engine `e` on `p` in `dtype` are bit-identical.
inline void expect_two_runs_identical(const Problem& p, DType dtype, const SeqEngine& e) {
  const Results first = run_engine(p, dtype, e);
  const Results second = run_engine(p, dtype, e);
  compare_results(second, first, nullptr);
}

}  // namespace recur::seq_parity
