// The consumer: a program outside recur that includes only <recur/recur.h> from the installed
// package. It builds a tensor, checks that recur::check_shape throws recur::Error for a bad shape,
// and prints "recur consumer: OK"; any failure returns non-zero.
#include <recur/recur.h>

#include <cstdio>
#include <exception>
#include <string>

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "recur consumer: FAILED: %s\n", what.c_str());
    ++failures;
  }
}

void run() {
  recur::Tensor t = recur::Tensor::zeros({2, 3, 4}, recur::DType::f32);
  expect(t.defined(), "Tensor::zeros gives a defined tensor");
  expect(t.numel() == 24, "numel of [2,3,4] is 24");
  expect(t.shape_str() == "[2,3,4]", "shape_str is [2,3,4], got " + t.shape_str());
  t.data<float>()[5] = 1.5f;
  expect(t.item({0, 1, 1}) == 1.5, "element [0,1,1] reads back 1.5");

  recur::check_shape(t, {"B", 3, 4}, "consumer input");  // matches: must not throw

  bool threw = false;
  try {
    recur::check_shape(t, {"B", "T", 5}, "consumer input");
  } catch (const recur::Error& e) {
    threw = true;
    const std::string message = e.what();
    expect(message.find("consumer input") != std::string::npos,
           "the message names what was checked: " + message);
    expect(message.find("[2,3,4]") != std::string::npos,
           "the message names the shape given: " + message);
  }
  expect(threw, "check_shape throws recur::Error for [2,3,4] against [B,T,5]");

  // A two-layer LSTM -> Linear graph, trained a few Adam steps on a fixed batch: the loss falls.
  recur::RecurrentConfig rc;
  rc.cell = recur::CellKind::lstm;
  rc.input_size = 3;
  rc.hidden_size = 8;
  rc.num_layers = 2;
  recur::Graph model;
  model.add_input("x");
  model.add("rnn", recur::Recurrent(rc), {"x"});
  model.add("head", recur::Linear(8, 1), {"rnn:0"});
  model.set_outputs({"head"});
  recur::Tensor x = recur::Tensor::full({4, 6, 3}, 0.5, recur::DType::f32);
  recur::Tensor y = recur::Tensor::full({4, 6, 1}, 0.25, recur::DType::f32);
  recur::Adam adam(model.parameters(), recur::AdamOptions{});
  recur::MeanSquaredError mse;
  recur::ForwardOptions train;
  train.keep_for_backward = true;
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    adam.zero_grad();
    last = mse.forward(model.forward({{"x", x}}, train)[0], y);
    if (step == 0) first = last;
    model.backward({mse.backward()});
    adam.step();
  }
  expect(last < first, "20 Adam steps lower the loss (" + std::to_string(first) + " -> " +
                           std::to_string(last) + ")");
  expect(model.state_dict().count("rnn.weight_hh_l1") == 1, "state_dict has PyTorch names");
}

}  // namespace

int main() {
  try {
    run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recur consumer: FAILED: unexpected exception: %s\n", e.what());
    return 1;
  }
  if (failures != 0) return 1;
  std::printf("recur consumer: OK\n");
  return 0;
}
