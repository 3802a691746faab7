// f64 gradient checks of Linear, Embedding, Dropout, the losses and the layer graph.
#include <gtest/gtest.h>

#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/graph.h"
#include "layers/linear.h"
#include "layers/loss.h"
#include "layers/recurrent.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

using testing::dot;
using testing::expect_gradient;
using testing::random_tensor;

ForwardOptions keep() {
  ForwardOptions o;
  o.keep_for_backward = true;
  return o;
}

TEST(LayerGradcheck, Linear) {
  for (bool bias : {true, false}) {
    Linear lin(4, 5, bias, DType::f64, 3);
    Tensor x = random_tensor({2, 3, 4}, 1), w = random_tensor({2, 3, 5}, 2);
    auto loss = [&] { return dot(lin.forward({x}, {})[0], w); };
    lin.zero_grad();
    lin.forward({x}, keep());
    Tensor dx = lin.backward({w})[0];
    expect_gradient("dx", x, dx, loss);
    for (Parameter& p : lin.parameters()) expect_gradient(p.name, p.value, p.grad, loss);
  }
}

TEST(LayerGradcheck, Embedding) {
  Embedding emb(7, 3, DType::f64, 1);
  Tensor ids = Tensor::from_vector<int64_t>({1, 6, 1, 0, 3, 1}, {2, 3});
  Tensor w = random_tensor({2, 3, 3}, 2);
  auto loss = [&] { return dot(emb.forward({ids}, {})[0], w); };
  emb.zero_grad();
  emb.forward({ids}, keep());
  EXPECT_FALSE(emb.backward({w})[0].defined());
  expect_gradient("weight", emb.weight().value, emb.weight().grad, loss, 1e-6, 1e-6, 100);
  EXPECT_EQ(emb.weight().grad.item({2, 0}), 0.0);  // row 2 is never looked up
}

TEST(LayerGradcheck, DropoutInTrainingAndEval) {
  for (bool training : {true, false}) {
    Dropout drop(0.4, 5, 2);
    drop.set_training(training);
    Tensor x = random_tensor({4, 25}, 1), w = random_tensor({4, 25}, 2);
    ForwardOptions opts = keep();
    opts.step = 3;
    ForwardOptions eval_opts;
    eval_opts.step = 3;
    auto loss = [&] { return dot(drop.forward({x}, eval_opts)[0], w); };
    Tensor y = drop.forward({x}, opts)[0];
    Tensor dx = drop.backward({w})[0];
    expect_gradient("dx", x, dx, loss, 1e-6, 1e-6, 100);
    int zeros = 0;
    for (double v : y.to_vector()) zeros += v == 0.0;
    if (training) {
      EXPECT_GT(zeros, 20);  // about 40 of 100
      EXPECT_LT(zeros, 60);
    } else {
      EXPECT_EQ(zeros, 0);
    }
  }
}

TEST(LayerGradcheck, SoftmaxCrossEntropyWithIgnoreIndex) {
  SoftmaxCrossEntropy xent(-1);
  Tensor logits = random_tensor({2, 3, 5}, 1);
  Tensor targets = Tensor::from_vector<int64_t>({4, -1, 0, 2, -1, 1}, {2, 3});
  auto loss = [&] { return xent.forward(logits, targets); };
  double l = loss();
  EXPECT_EQ(xent.counted(), 4);
  Tensor d = xent.backward(1.0);
  expect_gradient("dlogits", logits, d, loss);
  EXPECT_EQ(d.item({0, 1, 3}), 0.0);  // ignored row
  // Against the closed form for one row: -log softmax.
  SoftmaxCrossEntropy one;
  Tensor row = Tensor::from_vector<double>({1.0, 2.0, 3.0}, {1, 3});
  double expected = -std::log(std::exp(2.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  EXPECT_NEAR(one.forward(row, Tensor::from_vector<int64_t>({1}, {1})), expected, 1e-14);
  EXPECT_GT(l, 0.0);
}

TEST(LayerGradcheck, MeanSquaredError) {
  MeanSquaredError mse;
  Tensor p = random_tensor({3, 4}, 1), t = random_tensor({3, 4}, 2);
  auto loss = [&] { return mse.forward(p, t); };
  loss();
  expect_gradient("dprediction", p, mse.backward(), loss);
}

// Embedding -> 2-layer LSTM -> Dropout -> Linear, cross-entropy: every parameter of the graph.
TEST(LayerGradcheck, GraphCharLanguageModel) {
  Graph g;
  g.add_input("tokens");
  RecurrentConfig rc;
  rc.cell = CellKind::lstm;
  rc.input_size = 3;
  rc.hidden_size = 4;
  rc.num_layers = 2;
  rc.dropout = 0.25;
  // Added out of order on purpose: the graph sorts them.
  g.add("head", Linear(4, 6, true, DType::f64, 3), {"drop"});
  g.add("rnn", Recurrent(rc, DType::f64, 2), {"embed"});
  g.add("embed", Embedding(6, 3, DType::f64, 1), {"tokens"});
  g.add("drop", Dropout(0.3, 9), {"rnn:0"});
  g.set_outputs({"head"});
  EXPECT_EQ(g.order(), (std::vector<std::string>{"embed", "rnn", "drop", "head"}));
  Tensor tokens = Tensor::from_vector<int64_t>({0, 1, 2, 3, 4, 5, 5, 4}, {2, 4});
  Tensor targets = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 0, 4, 3}, {2, 4});
  SoftmaxCrossEntropy xent;
  ForwardOptions opts;
  opts.step = 4;
  auto loss = [&] { return xent.forward(g.forward({{"tokens", tokens}}, opts)[0], targets); };
  g.zero_grad();
  ForwardOptions train = opts;
  train.keep_for_backward = true;
  xent.forward(g.forward({{"tokens", tokens}}, train)[0], targets);
  EXPECT_TRUE(g.backward({xent.backward()}).empty());  // token ids have no gradient
  ParameterList params = g.parameters();
  ASSERT_EQ(params.front().name, "head.weight");
  for (Parameter& p : params) expect_gradient(p.name, p.value, p.grad, loss);
  TensorMap sd = g.state_dict();
  for (const char* name : {"embed.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l1", "rnn.bias_hh_l1",
                           "head.weight", "head.bias"})
    EXPECT_TRUE(sd.count(name)) << name;
}

// One value used by two nodes: its gradient is the sum of both.
TEST(LayerGradcheck, GraphSumsGradientsOfSharedValues) {
  Graph g;
  g.add_input("x");
  g.add("a", Linear(3, 2, true, DType::f64, 1), {"x"});
  g.add("b", Linear(3, 4, false, DType::f64, 2), {"x"});
  g.add("c", Linear(2, 2, true, DType::f64, 3), {"a"});
  g.set_outputs({"c", "b", "a"});
  Tensor x = random_tensor({5, 3}, 1);
  Tensor wc = random_tensor({5, 2}, 2), wb = random_tensor({5, 4}, 3),
         wa = random_tensor({5, 2}, 4);
  auto loss = [&] {
    std::vector<Tensor> o = g.forward({{"x", x}});
    return dot(o[0], wc) + dot(o[1], wb) + dot(o[2], wa);
  };
  g.zero_grad();
  g.forward({{"x", x}}, keep());
  std::map<std::string, Tensor> grads = g.backward({wc, wb, wa});
  expect_gradient("dx", x, grads.at("x"), loss);
  for (Parameter& p : g.parameters()) expect_gradient(p.name, p.value, p.grad, loss);
}

TEST(GraphErrors, CyclesUnknownNamesAndMissingInputs) {
  {
    Graph g;
    g.add_input("x");
    g.add("a", Linear(2, 2), {"b"});
    g.add("b", Linear(2, 2), {"a"});
    g.set_outputs({"b"});
    EXPECT_THROW(g.forward({{"x", Tensor::zeros({1, 2}, DType::f32)}}), Error);
  }
  {
    Graph g;
    g.add_input("x");
    g.add("a", Linear(2, 2), {"nope"});
    g.set_outputs({"a"});
    try {
      g.forward({{"x", Tensor::zeros({1, 2}, DType::f32)}});
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'nope' is neither a node nor a graph input"),
                std::string::npos);
    }
  }
  Graph g;
  g.add_input("x");
  g.add("a", Linear(2, 3), {"x"});
  g.set_outputs({"a"});
  EXPECT_THROW(g.add("a", Linear(2, 2), {"x"}), Error);
  EXPECT_THROW(g.forward({}), Error);  // missing input x
  try {
    g.forward({{"x", Tensor::zeros({1, 5}, DType::f32)}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "node 'a': linear input: expected [..., 2], got [1,5]");
  }
  EXPECT_THROW(g.backward({Tensor()}), Error);  // no forward kept
}

}  // namespace
}  // namespace recur
