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
#include "support/gradcheck.h"

namespace recur {
namespace {

using testing::random_tensor;

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

struct LayerRun {
  Recurrent::Output out;
  Recurrent::InputGrads grads;
  std::vector<Tensor> param_grads;
};

// Forward (training mode, kept for backward) and backward of `rnn` on its device; results on the
// CPU in f64.
LayerRun run(Recurrent& rnn, const Tensor& x64, const RecurrentState& init64, const Tensor& lengths,
             const Tensor& dy64) {
  const Device dev = rnn.device();
  const DType dt = rnn.dtype();
  auto there = [&](const Tensor& t) { return t.defined() ? t.to(dt).to(dev) : Tensor(); };
  auto back = [](const Tensor& t) { return t.defined() ? t.to(Device::cpu()).to(DType::f64) : t; };
  rnn.zero_grad();
  ForwardOptions train;
  train.keep_for_backward = true;
  train.step = 5;
  LayerRun r;
  Recurrent::Output o = rnn.run(there(x64), {there(init64.h), there(init64.c)}, lengths, train);
  Recurrent::InputGrads g = rnn.run_backward(there(dy64));
  r.out = {back(o.y), {back(o.final_state.h), back(o.final_state.c)}};
  r.grads = {back(g.dx), {back(g.d_initial.h), back(g.d_initial.c)}};
  for (const Parameter& p : rnn.parameters())
    if (p.grad.defined()) r.param_grads.push_back(back(p.grad));
  return r;
}

void expect_runs_close(const LayerRun& gpu, const LayerRun& cpu, const testing::Tolerance& tol) {
  testing::expect_close(gpu.out.y, cpu.out.y, tol, "y");
  testing::expect_close(gpu.out.final_state.h, cpu.out.final_state.h, tol, "h_n");
  if (cpu.out.final_state.c.defined())
    testing::expect_close(gpu.out.final_state.c, cpu.out.final_state.c, tol, "c_n");
  testing::expect_close(gpu.grads.dx, cpu.grads.dx, tol, "dx");
  testing::expect_close(gpu.grads.d_initial.h, cpu.grads.d_initial.h, tol, "dh0");
  if (cpu.grads.d_initial.c.defined())
    testing::expect_close(gpu.grads.d_initial.c, cpu.grads.d_initial.c, tol, "dc0");
  ASSERT_EQ(gpu.param_grads.size(), cpu.param_grads.size());
  for (size_t i = 0; i < cpu.param_grads.size(); ++i)
    testing::expect_close(gpu.param_grads[i], cpu.param_grads[i], tol,
                          "parameter gradient " + std::to_string(i));
}

class GpuRecurrentLayer : public ::testing::TestWithParam<CellKind> {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  }

  void check(DType dtype, const testing::Tolerance& tol) {
    const RecurrentConfig cfg = config(GetParam());
    const int64_t B = 3, T = 7, L = cfg.num_layers, D = cfg.directions();
    Recurrent cpu(cfg, DType::f64, 11);
    Recurrent gpu(cfg, dtype, 11);
    // The GPU layer starts from the CPU layer's weights, rounded to its dtype.
    ParameterList from = cpu.parameters(), to = gpu.parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].value.copy_from(from[i].value);
    gpu.to(Device::cuda(0));
    gpu.set_engine(Engine::fused);  // the engine under test here; auto may rank others first

    Tensor x = random_tensor({B, T, cfg.input_size}, 1);
    RecurrentState init{
        random_tensor({L * D, B, cfg.state_size()}, 2),
        GetParam() == CellKind::lstm ? random_tensor({L * D, B, cfg.hidden_size}, 3) : Tensor()};
    Tensor lengths = Tensor::from_vector<int64_t>({T, 1, 4}, {B});
    Tensor dy = random_tensor({B, T, cfg.output_size()}, 4);

    const LayerRun want = run(cpu, x, init, lengths, dy);
    const LayerRun got = run(gpu, x, init, lengths, dy);
    EXPECT_EQ(gpu.last_engine(), Engine::fused);
    expect_runs_close(got, want, tol);

    const LayerRun again = run(gpu, x, init, lengths, dy);
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

INSTANTIATE_TEST_SUITE_P(Cells, GpuRecurrentLayer,
                         ::testing::Values(CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::leaky,
                                           CellKind::gru, CellKind::lstm),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

}  // namespace
}  // namespace recur
