// Attention (layers/attention.h): f64 gradient checks through both outputs with per-sequence key
// lengths, the mask, the weights against a direct computation, and bad inputs.
#include "layers/attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/attention.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

using testing::dot;
using testing::expect_error;
using testing::expect_gradient;
using testing::random_tensor;

constexpr int64_t B = 3, T = 4, S = 5, H = 6;

ForwardOptions keep() {
  ForwardOptions o;
  o.keep_for_backward = true;
  return o;
}

TEST(Attention, GradientsThroughBothOutputsWithKeyLengths) {
  for (bool with_lengths : {true, false}) {
    SCOPED_TRACE(with_lengths ? "key lengths 5, 2, 4" : "all keys valid");
    Attention attention(H, DType::f64, 3);
    Tensor queries = random_tensor({B, T, H}, 1), keys = random_tensor({B, S, H}, 2);
    const Tensor lengths = with_lengths ? Tensor::from_vector<int64_t>({5, 2, 4}, {B}) : Tensor();
    const Tensor w_out = random_tensor({B, T, H}, 4), w_weights = random_tensor({B, T, S}, 5);
    auto loss = [&] {
      const std::vector<Tensor> out = attention.forward({queries, keys, lengths}, {});
      return dot(out[0], w_out) + dot(out[1], w_weights);
    };
    attention.zero_grad();
    attention.forward({queries, keys, lengths}, keep());
    const std::vector<Tensor> d = attention.backward({w_out, w_weights});
    EXPECT_FALSE(d[2].defined());
    expect_gradient("dqueries", queries, d[0], loss, 1e-6, 1e-6, 72);
    expect_gradient("dkeys", keys, d[1], loss, 1e-6, 1e-6, 90);
    for (Parameter& p : attention.parameters()) expect_gradient(p.name, p.value, p.grad, loss);
    if (with_lengths) {  // a key past its sequence's end gets no gradient
      for (int64_t s = 2; s < S; ++s)
        for (int64_t h = 0; h < H; ++h) EXPECT_EQ(d[1].item({1, s, h}), 0.0);
    }
  }
}

// The weights are the softmax of the dot products over each sequence's valid keys, 0 beyond.
TEST(Attention, WeightsAreTheMaskedSoftmaxOfTheDotProducts) {
  Attention attention(H, DType::f64, 3);
  const Tensor queries = random_tensor({B, T, H}, 1), keys = random_tensor({B, S, H}, 2);
  const std::vector<int64_t> lengths = {5, 2, 4};
  const Tensor weights =
      attention.forward({queries, keys, Tensor::from_vector(lengths, {B})}, {})[1];
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> e(S, 0.0);
      double total = 0;
      for (int64_t s = 0; s < lengths[b]; ++s) {
        double score = 0;
        for (int64_t h = 0; h < H; ++h) score += queries.item({b, t, h}) * keys.item({b, s, h});
        e[s] = std::exp(score);
        total += e[s];
      }
      for (int64_t s = 0; s < S; ++s)
        EXPECT_NEAR(weights.item({b, t, s}), e[s] / total, 1e-14) << b << " " << t << " " << s;
    }
}

TEST(Attention, ParameterIsTheCombiningLinearsWeight) {
  Attention attention(H, DType::f32, 3);
  ParameterList params = attention.parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].name, "weight");
  EXPECT_EQ(params[0].value.shape(), (Shape{H, 2 * H}));
}

TEST(Attention, RejectsBadInputs) {
  Attention attention(H, DType::f64, 3);
  const Tensor queries = random_tensor({B, T, H}, 1), keys = random_tensor({B, S, H}, 2);
  expect_error(
      [&] {
        attention.forward({queries, random_tensor({B, S, H + 1}, 2)}, {});
      },
      "attention keys: expected [3,S,6]");
  expect_error(
      [&] {
        attention.forward({random_tensor({B, T, 2}, 1), keys}, {});
      },
      "attention queries");
  expect_error(
      [&] {
        attention.forward({queries, keys, Tensor::from_vector<int64_t>({5, 0, 4}, {B})}, {});
      },
      "expected each in [1,5]");
  expect_error(
      [&] {
        attention.forward({queries, keys, Tensor::from_vector<int64_t>({5, 6, 4}, {B})}, {});
      },
      "got 6 at 1");
  expect_error([&] { attention.backward({random_tensor({B, T, H}, 3)}); }, "no saved forward");
}

TEST(AttentionOps, ConcatAndSplitAreInverse) {
  const Tensor left = random_tensor({3, 2}, 1), right = random_tensor({3, 4}, 2);
  Tensor wide = Tensor::empty({3, 6}, DType::f64);
  concat_columns(left, right, wide);
  EXPECT_EQ(wide.item({1, 1}), left.item({1, 1}));
  EXPECT_EQ(wide.item({2, 5}), right.item({2, 3}));
  Tensor l2 = Tensor::empty({3, 2}, DType::f64), r2 = Tensor::empty({3, 4}, DType::f64);
  split_columns(wide, l2, r2);
  EXPECT_EQ(l2.to_vector(), left.to_vector());
  EXPECT_EQ(r2.to_vector(), right.to_vector());
  expect_error(
      [&] {
        concat_columns(left, random_tensor({2, 4}, 2), wide);
      },
      "concat_columns right");
}

}  // namespace
}  // namespace recur
