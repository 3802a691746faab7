// A layer graph on a GPU against the same graph on the CPU (f64): a GRU layer, a Dropout node in
// training mode (the same Philox masks on both devices), two Linear heads reading the dropped
// value (its gradient is the sum of both, added on the GPU), a mean-squared-error loss on one head
// and a weighted sum on the other; the loss, both outputs, the input gradient and every parameter
// gradient. f64 to 1e-10 relative, f32 with the f32 tolerances, and the Linear heads at bf16/f16
// math (the GEMM operands rounded) within the mixed tolerance. Skips where there is no GPU.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/cuda_runtime.h"
#include "layers/dropout.h"
#include "layers/graph.h"
#include "layers/linear.h"
#include "layers/loss.h"
#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

constexpr int64_t kB = 3, kT = 5, kIn = 7, kHidden = 37;

Graph make_graph(DType dtype) {
  Graph g;
  g.add_input("x");
  RecurrentConfig rc;
  rc.cell = CellKind::gru;
  rc.input_size = kIn;
  rc.hidden_size = kHidden;
  g.add("rnn", Recurrent(rc, dtype, 1), {"x"});
  g.add("drop", Dropout(0.3, 9), {"rnn:0"});
  g.add("a", Linear(kHidden, 5, true, dtype, 2), {"drop"});
  g.add("b", Linear(kHidden, 3, false, dtype, 3), {"drop"});
  g.set_outputs({"a", "b"});
  g.set_training(true);
  return g;
}

// Everything one training step of the graph computes, on the CPU in f64.
struct GraphRun {
  double loss = 0;
  std::vector<Tensor> outputs;  // a [B,T,5], b [B,T,3]
  Tensor dx;                    // [B,T,I]
  std::vector<Tensor> param_grads;
};

// loss = mse(a, target) + sum(b * weight), from f64 CPU inputs on the graph's device and dtype.
GraphRun run_graph(Graph& g, Device device, DType dtype, const Tensor& x, const Tensor& target,
                   const Tensor& weight) {
  auto there = [&](const Tensor& t) { return t.to(dtype).to(device); };
  auto back = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); };
  g.zero_grad();
  ForwardOptions train;
  train.keep_for_backward = true;
  train.step = 4;
  const std::vector<Tensor> out = g.forward({{"x", there(x)}}, train);
  MeanSquaredError mse;
  GraphRun r;
  r.loss = mse.forward(out[0], there(target));
  std::vector<double> b = back(out[1]).to_vector(), w = weight.to_vector();
  for (size_t i = 0; i < b.size(); ++i) r.loss += b[i] * w[i];
  const std::map<std::string, Tensor> grads = g.backward({mse.backward(), there(weight)});
  for (const Tensor& o : out) r.outputs.push_back(back(o));
  r.dx = back(grads.at("x"));
  for (const Parameter& p : g.parameters()) r.param_grads.push_back(back(p.grad));
  return r;
}

void expect_runs_close(const GraphRun& got, const GraphRun& want,
                       const std::function<testing::Tolerance(const Tensor&)>& tol_for) {
  auto close = [&](const Tensor& a, const Tensor& r, const std::string& what) {
    testing::expect_close(a, r, tol_for(r), what);
  };
  const Tensor loss_got = Tensor::from_vector<double>({got.loss}, {1});
  const Tensor loss_want = Tensor::from_vector<double>({want.loss}, {1});
  close(loss_got, loss_want, "loss");
  close(got.outputs[0], want.outputs[0], "a");
  close(got.outputs[1], want.outputs[1], "b");
  close(got.dx, want.dx, "dx");
  ASSERT_EQ(got.param_grads.size(), want.param_grads.size());
  for (size_t i = 0; i < want.param_grads.size(); ++i)
    close(got.param_grads[i], want.param_grads[i], "parameter gradient " + std::to_string(i));
}

class GpuLayerGraph : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  }
};

// The GPU graph from the CPU graph's weights (rounded to its dtype), with the Linear heads at
// math precision `precision`: its run and the CPU f64 run.
std::pair<GraphRun, GraphRun> run_both(DType dtype, Precision precision) {
  const Tensor x = testing::random_tensor({kB, kT, kIn}, 1);
  const Tensor target = testing::random_tensor({kB, kT, 5}, 2);
  const Tensor weight = testing::random_tensor({kB, kT, 3}, 3);
  Graph cpu = make_graph(DType::f64);
  Graph gpu = make_graph(dtype);
  ParameterList from = cpu.parameters(), to = gpu.parameters();
  for (size_t i = 0; i < from.size(); ++i) to[i].value.copy_from(from[i].value);
  gpu.to(Device::cuda(0));
  gpu.layer("a").set_precision(precision);
  gpu.layer("b").set_precision(precision);
  return {run_graph(gpu, Device::cuda(0), dtype, x, target, weight),
          run_graph(cpu, Device::cpu(), DType::f64, x, target, weight)};
}

TEST_P(GpuLayerGraph, MatchesTheCpuGraph) {
  const auto [got, want] = run_both(GetParam(), Precision::f32);
  const testing::Tolerance tol =
      GetParam() == DType::f64 ? testing::kF64Tolerance : testing::kF32Tolerance;
  expect_runs_close(got, want, [&](const Tensor&) { return tol; });
}

INSTANTIATE_TEST_SUITE_P(DTypes, GpuLayerGraph, ::testing::Values(DType::f64, DType::f32),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// The Linear heads at bf16/f16 math on the GPU (cuBLAS with rounded operands, f32 sums).
TEST(GpuLayerGraphMixed, LinearHeadsAtSixteenBitMathMatchTheCpuGraph) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  for (Precision precision : {Precision::bf16, Precision::f16}) {
    SCOPED_TRACE(precision_name(precision));
    const auto [got, want] = run_both(DType::f32, precision);
    expect_runs_close(got, want, [](const Tensor& ref) { return testing::mixed_tolerance(ref); });
  }
}

}  // namespace
}  // namespace recur
