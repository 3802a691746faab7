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

class GpuRecurrentSeq : public ::testing::TestWithParam<Case> {};
class GpuRecurrentSeqDeterminism : public ::testing::TestWithParam<Case> {};

TEST_P(GpuRecurrentSeq, FusedMatchesReference) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const Case& c = GetParam();
  expect_matches_reference(make_problem(c), c.dtype, kFused);
}

TEST_P(GpuRecurrentSeqDeterminism, TwoFusedRunsAreBitIdentical) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const Case& c = GetParam();
  expect_two_runs_identical(make_problem(c), c.dtype, kFused);
}

const std::vector<CellVariant> kCells = {{CellKind::rnn_tanh, 0}, {CellKind::rnn_relu, 0},
                                         {CellKind::leaky, 0},    {CellKind::gru, 0},
                                         {CellKind::lstm, 0},     {CellKind::lstm, kProj}};

// Every option and size; without biases the engine stands zeros in for them.
std::vector<Case> parity_cases() {
  return option_grid(kCells, {{1, 37, 7}, {3, 50, 1}, {3, 37, 7}, {64, 50, 7}},
                     {DType::f64, DType::f32});
}

INSTANTIATE_TEST_SUITE_P(Parity, GpuRecurrentSeq, ::testing::ValuesIn(parity_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Fused, GpuRecurrentSeqDeterminism,
                         ::testing::ValuesIn(determinism_cases(kCells, 50)), case_name);

// The engine takes every tensor on the input's GPU and says which one is not.
TEST(GpuRecurrentSeqErrors, FusedRejectsTensorsOnTheHost) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  const Case c{CellKind::gru, 0, false, true, true, 3, 37, 7, DType::f32};
  const Problem p = make_problem(c);
  auto dev = [](const Tensor& t) { return t.to(DType::f32).to(kCuda); };
  DeviceCall call(p, kCuda);
  SeqParams& params = call.params;
  SeqForward& a = call.args;
  a.lengths = p.lengths;  // on the host: refused
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
