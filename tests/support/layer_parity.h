// The Recurrent layer on a GPU against the same layer on the CPU (tests/layers/gpu_*_test.cpp,
// tests/kernels/gpu_cudnn_seq_test.cpp): a training forward (kept for backward) and a backward of
// one layer, with its outputs, input and initial-state gradients and every parameter gradient
// brought back to the CPU in f64, and the comparison of two such runs.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace recur::layer_parity {

struct LayerRun {
  Recurrent::Output out;
  Recurrent::InputGrads grads;
  std::vector<Tensor> param_grads;  // the defined ones, in parameters() order
};

// The inputs of a parity run at batch 3, T=7, f64 on the CPU: x [B,T,I], an initial state
// (h [L*D,B,S], c [L*D,B,H] for lstm), lengths {7, 1, 4}, the output gradient dy [B,T,D*S] and the
// gradients of the final state (shaped as the initial state), from testing::random_tensor seeds 1
// to 6.
struct LayerInputs {
  Tensor x;
  RecurrentState init;
  Tensor lengths, dy;
  RecurrentState d_final;
};

inline LayerInputs make_layer_inputs(const RecurrentConfig& cfg) {
  const int64_t B = 3, T = 7, LD = cfg.num_layers * cfg.directions();
  const bool lstm = cfg.cell == CellKind::lstm;
  LayerInputs in;
  in.x = testing::random_tensor({B, T, cfg.input_size}, 1);
  in.init.h = testing::random_tensor({LD, B, cfg.state_size()}, 2);
  if (lstm) in.init.c = testing::random_tensor({LD, B, cfg.hidden_size}, 3);
  in.lengths = Tensor::from_vector<int64_t>({T, 1, 4}, {B});
  in.dy = testing::random_tensor({B, T, cfg.output_size()}, 4);
  in.d_final.h = testing::random_tensor({LD, B, cfg.state_size()}, 5);
  if (lstm) in.d_final.c = testing::random_tensor({LD, B, cfg.hidden_size}, 6);
  return in;
}

// Forward (training mode, kept for backward, dropout keyed by `step`) and backward (from dy and
// the final state's gradients) of `rnn` on its device and in its dtype, from f64 CPU inputs;
// results on the CPU in f64. The layer takes the lengths on the host and moves them to where its
// kernels run.
inline LayerRun run_layer(Recurrent& rnn, const LayerInputs& in, uint64_t step) {
  const Device dev = rnn.device();
  const DType dt = rnn.dtype();
  auto there = [&](const Tensor& t) { return t.defined() ? t.to(dt).to(dev) : Tensor(); };
  auto back = [](const Tensor& t) { return t.defined() ? t.to(Device::cpu()).to(DType::f64) : t; };
  rnn.zero_grad();
  ForwardOptions train;
  train.keep_for_backward = true;
  train.step = step;
  LayerRun r;
  Recurrent::Output o =
      rnn.run(there(in.x), {there(in.init.h), there(in.init.c)}, in.lengths, train);
  Recurrent::InputGrads g =
      rnn.run_backward(there(in.dy), {there(in.d_final.h), there(in.d_final.c)});
  r.out = {back(o.y), {back(o.final_state.h), back(o.final_state.c)}};
  r.grads = {back(g.dx), {back(g.d_initial.h), back(g.d_initial.c)}};
  for (const Parameter& p : rnn.parameters())
    if (p.grad.defined()) r.param_grads.push_back(back(p.grad));
  return r;
}

// The tolerance to compare against reference tensor `ref` with.
using ToleranceFor = std::function<testing::Tolerance(const Tensor& ref)>;

// Every output and gradient of `got` against `want`: y, h_n, dx, dh0 always; c_n and dc0 where
// `want` has them; every parameter gradient.
inline void expect_runs_close(const LayerRun& got, const LayerRun& want,
                              const ToleranceFor& tol_for) {
  auto close = [&](const Tensor& a, const Tensor& r, const std::string& what) {
    testing::expect_close(a, r, tol_for(r), what);
  };
  close(got.out.y, want.out.y, "y");
  close(got.out.final_state.h, want.out.final_state.h, "h_n");
  if (want.out.final_state.c.defined()) close(got.out.final_state.c, want.out.final_state.c, "c_n");
  close(got.grads.dx, want.grads.dx, "dx");
  close(got.grads.d_initial.h, want.grads.d_initial.h, "dh0");
  if (want.grads.d_initial.c.defined()) close(got.grads.d_initial.c, want.grads.d_initial.c, "dc0");
  ASSERT_EQ(got.param_grads.size(), want.param_grads.size());
  for (size_t i = 0; i < want.param_grads.size(); ++i)
    close(got.param_grads[i], want.param_grads[i], "parameter gradient " + std::to_string(i));
}

// The same comparison with one tolerance for every tensor.
inline void expect_runs_close(const LayerRun& got, const LayerRun& want,
                              const testing::Tolerance& tol) {
  expect_runs_close(got, want, [&](const Tensor&) { return tol; });
}

// `to` takes `from`'s parameter values (rounded to its dtype); both have the same config.
inline void copy_parameters(Recurrent& from, Recurrent& to) {
  ParameterList src = from.parameters(), dst = to.parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].value.copy_from(src[i].value);
}

}  // namespace recur::layer_parity
