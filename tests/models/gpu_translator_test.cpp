// Translator on a GPU against PyTorch's float64 numbers (tests/support/translator_fixture.h):
// logits, attention weights, loss, every gradient (through the attention's GPU kernels,
// kernels/cuda/attention_cuda.cu, into both RNNs) and the greedy translations, through each GPU
// engine. Skips without a GPU.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"
#include "support/translator_fixture.h"

namespace recur {
namespace {

TEST(GpuTranslator, MatchesPyTorchOnEveryEngine) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  for (Engine engine : {Engine::fused, Engine::cudnn, Engine::persistent, Engine::auto_})
    for (const char* fixture_case : {"lstm", "gru", "lstm_bidirectional", "gru_bidirectional"})
      testing::check_translator_against_pytorch(fixture_case, DType::f32, testing::kF32Tolerance,
                                                {Device::cuda(0), engine});
}

TEST(GpuTranslator, MatchesPyTorchInF64) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  for (const char* fixture_case : {"lstm", "lstm_bidirectional"})
    testing::check_translator_against_pytorch(fixture_case, DType::f64, testing::kF64Tolerance,
                                              {Device::cuda(0), Engine::fused});
}

}  // namespace
}  // namespace recur
