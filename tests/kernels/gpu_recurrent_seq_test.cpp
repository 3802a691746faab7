// Parity of the Fused CUDA engine for one recurrent direction (recurrent_seq_fwd_fused /
// recurrent_seq_bwd_fused, kernels/recurrent_seq.h) with the CPU reference (recurrent_seq_*_ref):
// every cell (rnn_tanh, rnn_relu, leaky with a per-unit leak, gru, lstm, lstm with projection),
// both directions, with and without initial state, with and without lengths (1 and T among them),
// batch 1, 3 and 64, hidden sizes that are not multiples of 32, T = 1 and 7. f64 runs against the
// f64 reference to ~1e-10; f32 runs against the f64 reference of the same (f32-rounded) inputs
// with NMSE <= 1e-10 and per element 1e-4 relative plus 2e-6 of the tensor's largest. Compared: the
// inference and the training forward (y, h_n, c_n) and the backward (dx, dh0, dc0 and every weight
// gradient, all accumulated onto non-zero starting values). Two Fused runs are bit-identical. Skips
// where there is no GPU. The harness is tests/support/seq_parity.h.
#include <gtest/gtest.h>

#include <vector>

#include "core/cuda_runtime.h"
#include "kernels/recurrent_seq.h"
#include "support/expect_error.h"
#include "support/seq_parity.h"

namespace recur {
namespace {

using namespace seq_parity;

const Device kCuda = Device::cuda(0);
const SeqEngine kFused{recurrent_seq_fwd_fused, recurrent_seq_bwd_fused, kCuda};

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
