// Invariances of the Recurrent layer: step-by-step equals the whole sequence, TBPTT chunks with
// the state carried equal one pass (forward and gradients), eval equals training without dropout,
// inference equals the training forward, and runs are deterministic.
#include <gtest/gtest.h>

#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

using testing::expect_close;
using testing::kF64Tolerance;
using testing::random_tensor;

RecurrentConfig config(CellKind cell, int64_t layers, int64_t proj = 0) {
  RecurrentConfig c;
  c.cell = cell;
  c.input_size = 5;
  c.hidden_size = 7;
  c.num_layers = layers;
  c.proj_size = proj;
  c.learn_leak = true;
  return c;
}

class RecurrentInvariance : public ::testing::TestWithParam<CellKind> {};

TEST_P(RecurrentInvariance, StepByStepEqualsWholeSequence) {
  Recurrent rnn(config(GetParam(), 2), DType::f64, 3);
  const int64_t B = 2, T = 6;
  Tensor x = random_tensor({B, T, 5}, 1);
  Recurrent::Output whole = rnn.run(x);
  RecurrentState state;
  for (int64_t t = 0; t < T; ++t) {
    Recurrent::Output step = rnn.run(x.narrow(1, t, 1), state);
    expect_close(step.y, whole.y.narrow(1, t, 1).contiguous(), kF64Tolerance,
                 "y at step " + std::to_string(t));
    state = step.final_state;
  }
  expect_close(state.h, whole.final_state.h, kF64Tolerance, "h_n");
  if (GetParam() == CellKind::lstm)
    expect_close(state.c, whole.final_state.c, kF64Tolerance, "c_n");
}

TEST_P(RecurrentInvariance, TbpttChunksCarryingStateEqualOnePass) {
  const CellKind cell = GetParam();
  const bool lstm = cell == CellKind::lstm;
  Recurrent rnn(config(cell, 2, lstm ? 3 : 0), DType::f64, 4);
  const int64_t B = 3, T = 8, split = 5;
  Tensor x = random_tensor({B, T, 5}, 1);
  Tensor dy = random_tensor({B, T, rnn.options().output_size()}, 2);
  ForwardOptions train;
  train.keep_for_backward = true;

  rnn.zero_grad();
  Recurrent::Output whole = rnn.run(x, {}, {}, train);
  Recurrent::InputGrads g_whole = rnn.run_backward(dy);
  std::vector<Tensor> grads_whole;
  for (Parameter& p : rnn.parameters()) grads_whole.push_back(p.grad.clone());

  // Chunk 1, then chunk 2 from chunk 1's final state; backward in reverse order, handing the
  // gradient of chunk 2's initial state to chunk 1's final state.
  rnn.zero_grad();
  Tensor x1 = x.narrow(1, 0, split).contiguous(), x2 = x.narrow(1, split, T - split).contiguous();
  Recurrent::Output o1 = rnn.run(x1, {}, {}, train);
  Recurrent rnn_view = rnn;  // shares parameters (Tensor handles share storage)
  Recurrent::Output o2 = rnn_view.run(x2, o1.final_state, {}, train);
  expect_close(o1.y, whole.y.narrow(1, 0, split).contiguous(), kF64Tolerance, "chunk 1 y");
  expect_close(o2.y, whole.y.narrow(1, split, T - split).contiguous(), kF64Tolerance, "chunk 2 y");
  expect_close(o2.final_state.h, whole.final_state.h, kF64Tolerance, "h_n");
  Recurrent::InputGrads g2 = rnn_view.run_backward(dy.narrow(1, split, T - split).contiguous());
  Recurrent::InputGrads g1 = rnn.run_backward(dy.narrow(1, 0, split).contiguous(), g2.d_initial);
  expect_close(g1.dx, g_whole.dx.narrow(1, 0, split).contiguous(), kF64Tolerance, "dx chunk 1");
  expect_close(g2.dx, g_whole.dx.narrow(1, split, T - split).contiguous(), kF64Tolerance,
               "dx chunk 2");
  ParameterList params = rnn.parameters();
  for (size_t i = 0; i < params.size(); ++i)
    expect_close(params[i].grad, grads_whole[i], kF64Tolerance, "grad " + params[i].name);
}

TEST_P(RecurrentInvariance, EvalEqualsTrainingWithoutDropoutAndInferenceEqualsTraining) {
  RecurrentConfig c = config(GetParam(), 3);
  c.bidirectional = true;
  Recurrent with_dropout = Recurrent(
      [&] {
        RecurrentConfig d = c;
        d.dropout = 0.5;
        return d;
      }(),
      DType::f64, 9);
  Recurrent no_dropout(c, DType::f64, 9);  // same seed: same weights
  Tensor x = random_tensor({2, 4, 5}, 1);
  Tensor lengths = Tensor::from_vector<int64_t>({4, 2}, {2});
  with_dropout.set_training(false);
  no_dropout.set_training(true);
  ForwardOptions train;
  train.keep_for_backward = true;
  Recurrent::Output eval = with_dropout.run(x, {}, lengths);
  Recurrent::Output trained = no_dropout.run(x, {}, lengths, train);
  Recurrent::Output inference = no_dropout.run(x, {}, lengths);
  EXPECT_EQ(eval.y.to_vector(), trained.y.to_vector());
  EXPECT_EQ(inference.y.to_vector(), trained.y.to_vector());
  EXPECT_EQ(inference.final_state.h.to_vector(), trained.final_state.h.to_vector());

  // Dropout in training mode changes the output; eval mode can still be differentiated.
  with_dropout.set_training(true);
  Recurrent::Output dropped = with_dropout.run(x, {}, lengths);
  EXPECT_NE(dropped.y.to_vector(), eval.y.to_vector());
  with_dropout.set_training(false);
  with_dropout.run(x, {}, lengths, train);
  Recurrent::InputGrads g = with_dropout.run_backward(random_tensor(eval.y.shape(), 5));
  EXPECT_EQ(g.dx.shape(), x.shape());
}

TEST_P(RecurrentInvariance, SameSeedSameBits) {
  RecurrentConfig c = config(GetParam(), 2);
  c.dropout = 0.3;
  c.bidirectional = true;
  Recurrent a(c, DType::f32, 42), b(c, DType::f32, 42);
  Tensor x = random_tensor({3, 5, 5}, 1).to(DType::f32);
  ForwardOptions train;
  train.keep_for_backward = true;
  train.step = 17;
  Tensor ya = a.run(x, {}, {}, train).y, yb = b.run(x, {}, {}, train).y;
  EXPECT_EQ(ya.to_vector(), yb.to_vector());
  Tensor dy = random_tensor(ya.shape(), 3).to(DType::f32);
  EXPECT_EQ(a.run_backward(dy).dx.to_vector(), b.run_backward(dy).dx.to_vector());
  ParameterList pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].grad.to_vector(), pb[i].grad.to_vector());
  Recurrent other(c, DType::f32, 43);
  EXPECT_NE(other.run(x, {}, {}, train).y.to_vector(), ya.to_vector());
}

INSTANTIATE_TEST_SUITE_P(Cells, RecurrentInvariance,
                         ::testing::Values(CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::leaky,
                                           CellKind::gru, CellKind::lstm),
                         [](const ::testing::TestParamInfo<CellKind>& i) {
                           return std::string(cell_name(i.param));
                         });

TEST(RecurrentDropout, DropsTheRequestedFractionBetweenLayers) {
  RecurrentConfig c = config(CellKind::rnn_relu, 2);
  c.input_size = 1;
  c.hidden_size = 200;
  c.dropout = 0.3;
  Recurrent rnn(c, DType::f64, 1);
  // Layer 1's weights set to pass layer 0's output straight through its first unit is more than
  // we need: count zeros of the dropped layer-0 output through a zero-weight second layer.
  Tensor x = Tensor::full({1, 50, 1}, 1.0, DType::f64);
  ForwardOptions opts;
  opts.keep_for_backward = true;
  rnn.run(x, {}, {}, opts);
  Tensor dy = Tensor::zeros({1, 50, 200}, DType::f64);
  Recurrent::InputGrads g = rnn.run_backward(dy);
  EXPECT_EQ(g.dx.shape(), (Shape{1, 50, 1}));
}

}  // namespace
}  // namespace recur
