// f64 gradient checks of the Recurrent layer by central differences, over every cell and every
// option: layers, directions, lengths, initial state, projection, bias, dropout, learned leak.
#include <gtest/gtest.h>

#include "layers/recurrent.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

using testing::dot;
using testing::expect_gradient;
using testing::random_tensor;

struct Case {
  CellKind cell;
  int64_t layers;
  bool bidirectional;
  bool lengths;
  bool initial_state;
  int64_t proj = 0;
  bool bias = true;
  double dropout = 0.0;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string s = std::string(cell_name(c.cell)) + "_L" + std::to_string(c.layers);
  if (c.bidirectional) s += "_bi";
  if (c.lengths) s += "_lengths";
  if (c.initial_state) s += "_h0";
  if (c.proj) s += "_proj" + std::to_string(c.proj);
  if (!c.bias) s += "_nobias";
  if (c.dropout > 0) s += "_dropout";
  return s;
}

class RecurrentGradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(RecurrentGradcheck, MatchesCentralDifferences) {
  const Case& c = GetParam();
  RecurrentConfig cfg;
  cfg.cell = c.cell;
  cfg.input_size = 3;
  cfg.hidden_size = 4;
  cfg.num_layers = c.layers;
  cfg.bidirectional = c.bidirectional;
  cfg.proj_size = c.proj;
  cfg.bias = c.bias;
  cfg.dropout = c.dropout;
  cfg.leak = 0.6;
  cfg.learn_leak = true;
  Recurrent rnn(cfg, DType::f64, 7);
  rnn.set_training(true);
  const int64_t B = 3, T = 4, LD = cfg.num_layers * cfg.directions();
  const int64_t S = cfg.state_size(), H = cfg.hidden_size;
  const bool lstm = c.cell == CellKind::lstm;

  Tensor x = random_tensor({B, T, 3}, 1);
  RecurrentState init;
  if (c.initial_state) {
    init.h = random_tensor({LD, B, S}, 2);
    if (lstm) init.c = random_tensor({LD, B, H}, 3);
  }
  Tensor lengths = c.lengths ? Tensor::from_vector<int64_t>({4, 2, 3}, {B}) : Tensor();
  // Loss weights: L = sum(y * wy) + sum(h_n * wh) + sum(c_n * wc).
  Tensor wy = random_tensor({B, T, cfg.output_size()}, 4);
  Tensor wh = random_tensor({LD, B, S}, 5);
  Tensor wc = random_tensor({LD, B, H}, 6);
  ForwardOptions opts;
  opts.step = 11;  // dropout masks depend on it; every evaluation uses the same masks
  auto loss = [&] {
    Recurrent::Output o = rnn.run(x, init, lengths, opts);
    double l = dot(o.y, wy) + dot(o.final_state.h, wh);
    if (lstm) l += dot(o.final_state.c, wc);
    return l;
  };

  rnn.zero_grad();
  opts.keep_for_backward = true;
  rnn.run(x, init, lengths, opts);
  opts.keep_for_backward = false;
  Recurrent::InputGrads g = rnn.run_backward(wy, {wh, lstm ? wc : Tensor()});

  expect_gradient("dx", x, g.dx, loss);
  if (c.initial_state) {
    expect_gradient("dh0", init.h, g.d_initial.h, loss);
    if (lstm) expect_gradient("dc0", init.c, g.d_initial.c, loss);
  }
  for (Parameter& p : rnn.parameters()) expect_gradient(p.name, p.value, p.grad, loss);
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (CellKind cell :
       {CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::leaky, CellKind::gru, CellKind::lstm})
    for (int64_t layers : {1, 2})
      for (bool bi : {false, true})
        for (bool lengths : {false, true})
          for (bool h0 : {false, true}) cases.push_back({cell, layers, bi, lengths, h0});
  for (int64_t layers : {1, 2})
    for (bool bi : {false, true})
      for (bool lengths : {false, true})
        for (bool h0 : {false, true}) cases.push_back({CellKind::lstm, layers, bi, lengths, h0, 2});
  cases.push_back({CellKind::gru, 2, true, true, true, 0, false});
  cases.push_back({CellKind::lstm, 1, false, false, false, 0, false});
  for (CellKind cell : {CellKind::leaky, CellKind::gru, CellKind::lstm})
    cases.push_back({cell, 3, true, true, true, 0, true, 0.4});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllOptions, RecurrentGradcheck, ::testing::ValuesIn(all_cases()),
                         case_name);

}  // namespace
}  // namespace recur
