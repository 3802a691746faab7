// SeqClassifier on a GPU against PyTorch's float64 numbers (tests/support/classifier_fixture.h):
// logits, loss and every gradient, through each GPU engine that runs the fixture's 2-layer
// bidirectional model with unsorted lengths. Skips without a GPU.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"
#include "support/classifier_fixture.h"

namespace recur {
namespace {

TEST(GpuSeqClassifier, MatchesPyTorchOnEveryEngine) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  for (Engine engine : {Engine::fused, Engine::cudnn, Engine::auto_})
    for (const char* name : {"lstm", "gru", "rnn_tanh", "features_lstm"})
      testing::check_classifier_against_pytorch(name, DType::f32, testing::kF32Tolerance,
                                                {Device::cuda(0), engine});
  // The persistent engine runs lstm and gru only.
  for (const char* cell : {"lstm", "gru"})
    testing::check_classifier_against_pytorch(cell, DType::f32, testing::kF32Tolerance,
                                              {Device::cuda(0), Engine::persistent});
}

}  // namespace
}  // namespace recur
