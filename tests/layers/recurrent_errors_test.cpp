// Bad input to the Recurrent layer: each case throws recur::Error whose message names what was
// expected and what was given.
#include <gtest/gtest.h>

#include "layers/recurrent.h"
#include "support/expect_error.h"

namespace recur {
namespace {

using ::recur::testing::expect_error;

RecurrentConfig lstm_config() {
  RecurrentConfig c;
  c.cell = CellKind::lstm;
  c.input_size = 512;
  c.hidden_size = 8;
  c.num_layers = 2;
  return c;
}

TEST(RecurrentErrors, WrongInputShapeNamesExpectedAndGiven) {
  Recurrent rnn(lstm_config());
  expect_error(
      [&] {
        rnn.run(Tensor::zeros({8, 100, 256}, DType::f32));
      },
      "lstm input: expected [B,T,512], got [8,100,256]");
  expect_error(
      [&] {
        rnn.run(Tensor::zeros({8, 512}, DType::f32));
      },
      "lstm input: expected [B,T,512], got [8,512]");
  expect_error(
      [&] {
        rnn.run(Tensor::zeros({2, 3, 512}, DType::f64));
      },
      "lstm input: expected dtype f32, got f64");
  expect_error(
      [&] {
        rnn.run(Tensor::zeros({2, 0, 512}, DType::f32));
      },
      "expected at least one sequence and one step");
}

TEST(RecurrentErrors, WrongInitialStateShapes) {
  Recurrent rnn(lstm_config());
  Tensor x = Tensor::zeros({3, 4, 512}, DType::f32);
  expect_error(
      [&] {
        rnn.run(x, {Tensor::zeros({1, 3, 8}, DType::f32), Tensor()});
      },
      "lstm initial h: expected [2,3,8], got [1,3,8]");
  expect_error(
      [&] {
        rnn.run(x, {Tensor(), Tensor::zeros({2, 3, 7}, DType::f32)});
      },
      "lstm initial c: expected [2,3,8], got [2,3,7]");
  RecurrentConfig g = lstm_config();
  g.cell = CellKind::gru;
  Recurrent gru(g);
  expect_error(
      [&] {
        gru.run(x, {Tensor(), Tensor::zeros({2, 3, 8}, DType::f32)});
      },
      "an initial c is only for lstm");
}

TEST(RecurrentErrors, LengthsOfZeroOrPastTOrWrongDtype) {
  Recurrent rnn(lstm_config());
  Tensor x = Tensor::zeros({3, 4, 512}, DType::f32);
  expect_error(
      [&] {
        rnn.run(x, {}, Tensor::from_vector<int64_t>({4, 0, 2}, {3}));
      },
      "lstm lengths[1] = 0: expected a length in [1, T=4]");
  expect_error(
      [&] {
        rnn.run(x, {}, Tensor::from_vector<int64_t>({4, 5, 2}, {3}));
      },
      "lstm lengths[1] = 5: expected a length in [1, T=4]");
  expect_error(
      [&] {
        rnn.run(x, {}, Tensor::from_vector<int32_t>({4, 1, 2}, {3}));
      },
      "lstm lengths: expected dtype i64, got i32");
  expect_error(
      [&] {
        rnn.run(x, {}, Tensor::from_vector<int64_t>({4, 1}, {2}));
      },
      "lstm lengths: expected [3], got [2]");
}

TEST(RecurrentErrors, BackwardWithoutForwardOrWithWrongGradients) {
  Recurrent rnn(lstm_config());
  expect_error([&] { rnn.run_backward(Tensor()); }, "no saved forward");
  Tensor x = Tensor::zeros({3, 4, 512}, DType::f32);
  ForwardOptions opts;
  opts.keep_for_backward = true;
  rnn.run(x, {}, {}, opts);
  expect_error(
      [&] {
        rnn.run_backward(Tensor::zeros({3, 4, 9}, DType::f32));
      },
      "lstm output gradient: expected [3,4,8], got [3,4,9]");
  rnn.run(x);  // an inference forward leaves nothing to differentiate
  expect_error([&] { rnn.run_backward(Tensor()); }, "no saved forward");
}

TEST(RecurrentErrors, InvalidConfigurations) {
  RecurrentConfig c = lstm_config();
  c.proj_size = 8;
  expect_error([&] { Recurrent r(c); }, "proj_size must be smaller than hidden_size (8), got 8");
  c = lstm_config();
  c.cell = CellKind::gru;
  c.proj_size = 2;
  expect_error([&] { Recurrent r(c); }, "proj_size is only for lstm, got it with gru");
  c = lstm_config();
  c.dropout = 1.0;
  expect_error([&] { Recurrent r(c); }, "dropout must be a probability in [0, 1), got 1");
  c = lstm_config();
  c.num_layers = 0;
  expect_error([&] { Recurrent r(c); }, "num_layers must be at least 1, got 0");
  c = lstm_config();
  c.cell = CellKind::leaky;
  c.leak = 0.0;
  expect_error([&] { Recurrent r(c); }, "leak must be in (0, 1], got 0");
  expect_error([&] { Recurrent r(lstm_config(), DType::f16); },
               "the CPU engine computes in f32 or f64, got f16");
  expect_error([] { cell_from_name("lstmm"); },
               "unknown cell 'lstmm': expected one of rnn_tanh, rnn_relu, leaky, gru, lstm");
  expect_error([] { RecurrentConfig::from_json({{"cell", "gru"}}); }, "recurrent config");
}

TEST(RecurrentErrors, ConfigRoundTripsThroughJson) {
  RecurrentConfig c = lstm_config();
  c.bidirectional = true;
  c.proj_size = 3;
  c.dropout = 0.25;
  RecurrentConfig back = RecurrentConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
}

}  // namespace
}  // namespace recur
