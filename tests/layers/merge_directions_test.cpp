// MergeDirections (layers/merge_directions.h): each layer's two directions side by side, its
// gradient, and bad shapes.
#include "layers/merge_directions.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/gradcheck.h"

namespace recur {
namespace {

TEST(MergeDirections, PutsEachLayersDirectionsSideBySide) {
  const int64_t layers = 2, B = 3, H = 4;
  const Tensor h_n = testing::random_tensor({layers * 2, B, H}, 1);
  const Tensor c_n = testing::random_tensor({layers * 2, B, H}, 2);
  MergeDirections merge;
  const std::vector<Tensor> out = merge.forward({h_n, c_n}, {});
  ASSERT_EQ(out[0].shape(), (Shape{layers, B, 2 * H}));
  ASSERT_EQ(out[1].shape(), (Shape{layers, B, 2 * H}));
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < 2; ++d)
        for (int64_t k = 0; k < H; ++k) {
          EXPECT_EQ(out[0].item({l, b, d * H + k}), h_n.item({l * 2 + d, b, k}));
          EXPECT_EQ(out[1].item({l, b, d * H + k}), c_n.item({l * 2 + d, b, k}));
        }
  EXPECT_FALSE(merge.forward({h_n, Tensor()}, {})[1].defined()) << "no cell state: none out";
}

TEST(MergeDirections, GradientIsTheSplitOfTheMergedGradient) {
  Tensor h_n = testing::random_tensor({4, 2, 3}, 1), c_n = testing::random_tensor({4, 2, 3}, 2);
  const Tensor wh = testing::random_tensor({2, 2, 6}, 3), wc = testing::random_tensor({2, 2, 6}, 4);
  MergeDirections merge;
  auto loss = [&] {
    const std::vector<Tensor> out = merge.forward({h_n, c_n}, {});
    return testing::dot(out[0], wh) + testing::dot(out[1], wc);
  };
  merge.forward({h_n, c_n}, {});
  const std::vector<Tensor> grads = merge.backward({wh, wc});
  testing::expect_gradient("h_n", h_n, grads[0], loss, 1e-6, 1e-9, 100);
  testing::expect_gradient("c_n", c_n, grads[1], loss, 1e-6, 1e-9, 100);
  merge.forward({h_n, c_n}, {});
  const std::vector<Tensor> only_h = merge.backward({wh, Tensor()});
  EXPECT_EQ(only_h[1].to_vector(), std::vector<double>(24, 0.0)) << "an undefined dc is zero";
}

TEST(MergeDirections, RejectsBadShapes) {
  MergeDirections merge;
  testing::expect_error(
      [&] {
        merge.forward({testing::random_tensor({3, 2, 4}, 1)}, {});
      },
      "expected two directions per layer");
  testing::expect_error(
      [&] {
        merge.forward({testing::random_tensor({2, 2, 4}, 1), testing::random_tensor({2, 3, 4}, 1)},
                      {});
      },
      "MergeDirections c_n");
  testing::expect_error([&] { merge.forward({}, {}); }, "bidirectional RNN");
  testing::expect_error([] { MergeDirections().backward({}); }, "no forward");
}

}  // namespace
}  // namespace recur
