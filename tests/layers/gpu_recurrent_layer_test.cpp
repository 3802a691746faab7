// The Recurrent layer on a GPU (Fused engine) against the same layer on the CPU (the f64
// reference): every cell, two bidirectional layers with dropout between them in training mode
// (the same Philox masks on both devices), padded lengths, an initial state and (lstm) a
// projection; the forward outputs, the input and initial-state gradients and every parameter
// gradient; f64 to 1e-10 relative and f32 with the f32 tolerances; two GPU runs bit-identical.
// Skips where there is no GPU.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"
#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/layer_parity.h"

namespace recur {
namespace {

using namespace layer_parity;

constexpr uint64_t kStep = 5;  // keys the dropout masks of every run

RecurrentConfig config(CellKind cell) {
  RecurrentConfig c;
  c.cell = cell;
  c.input_size = 19;
  c.hidden_size = 37;  // not a multiple of 32
  c.num_layers = 2;
  c.bidirectional = true;
  c.dropout = 0.25;
  c.proj_size = cell == CellKind::lstm ? 11 : 0;
  c.learn_leak = true;
  return c;
}

class GpuRecurrentLayer : public ::testing::TestWithParam<CellKind> {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  }

  void check(DType dtype, const testing::Tolerance& tol) {
    const RecurrentConfig cfg = config(GetParam());
    Recurrent cpu(cfg, DType::f64, 11);
    Recurrent gpu(cfg, dtype, 11);
    // The GPU layer starts from the CPU layer's weights, rounded to its dtype.
    copy_parameters(cpu, gpu);
    gpu.to(Device::cuda(0));
    gpu.set_engine(Engine::fused);  // the engine under test here; auto may rank others first

    const LayerInputs in = make_layer_inputs(cfg);
    const LayerRun want = run_layer(cpu, in, kStep);
    const LayerRun got = run_layer(gpu, in, kStep);
    EXPECT_EQ(gpu.last_engine(), Engine::fused);
    expect_runs_close(got, want, tol);

    const LayerRun again = run_layer(gpu, in, kStep);
    EXPECT_EQ(again.out.y.to_vector(), got.out.y.to_vector()) << "two GPU runs differ";
    EXPECT_EQ(again.grads.dx.to_vector(), got.grads.dx.to_vector()) << "two GPU runs differ";
    for (size_t i = 0; i < got.param_grads.size(); ++i)
      EXPECT_EQ(again.param_grads[i].to_vector(), got.param_grads[i].to_vector())
          << "parameter gradient " << i << " differs between two GPU runs";
  }
};

TEST_P(GpuRecurrentLayer, FusedF64MatchesTheReference) {
  check(DType::f64, testing::kF64Tolerance);
}

TEST_P(GpuRecurrentLayer, FusedF32MatchesTheF64Reference) {
  check(DType::f32, testing::kF32Tolerance);
}

// Mixed precision (bf16/f16 GEMM operands on tensor cores, f32 elsewhere): against the f64
// reference within the mixed tolerance, and against the CPU's emulation of the same rounding far
// more closely (only the order of f32 sums differs, and rarely a rounding that flips with it).
TEST_P(GpuRecurrentLayer, FusedMixedPrecisionMatchesTheReference) {
  const RecurrentConfig cfg = config(GetParam());
  for (Precision precision : {Precision::bf16, Precision::f16}) {
    SCOPED_TRACE(precision_name(precision));
    Recurrent reference(cfg, DType::f64, 11);
    Recurrent emulated(cfg, DType::f32, 11);
    Recurrent gpu(cfg, DType::f32, 11);
    copy_parameters(reference, emulated);
    copy_parameters(reference, gpu);
    emulated.set_precision(precision);
    gpu.to(Device::cuda(0));
    gpu.set_engine(Engine::fused);
    gpu.set_precision(precision);

    const LayerInputs in = make_layer_inputs(cfg);
    const LayerRun want = run_layer(reference, in, kStep);
    const LayerRun cpu = run_layer(emulated, in, kStep);
    const LayerRun got = run_layer(gpu, in, kStep);
    if (GetParam() != CellKind::rnn_relu)  // relu's kinks: see recurrent_precision_test.cpp
      expect_runs_close(got, want, [](const Tensor& r) { return testing::mixed_tolerance(r); });
    EXPECT_LE(testing::normalised_mse(got.out.y, cpu.out.y), 1e-6);
    EXPECT_LE(testing::normalised_mse(got.grads.dx, cpu.grads.dx), 1e-5);
    for (size_t i = 0; i < got.param_grads.size(); ++i)
      EXPECT_LE(testing::normalised_mse(got.param_grads[i], cpu.param_grads[i]), 1e-5)
          << "parameter gradient " << i;
    const LayerRun again = run_layer(gpu, in, kStep);
    EXPECT_EQ(again.out.y.to_vector(), got.out.y.to_vector()) << "two GPU runs differ";
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, GpuRecurrentLayer,
                         ::testing::Values(CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::leaky,
                                           CellKind::gru, CellKind::lstm),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

}  // namespace
}  // namespace recur
