// SeqAutoencoder on a GPU against PyTorch's float64 numbers (tests/support/autoencoder_fixture.h):
// reconstruction, loss, every gradient (through the decoder into the encoder's final state) and
// the anomaly scores, through each GPU engine. Skips without a GPU.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"
#include "support/autoencoder_fixture.h"

namespace recur {
namespace {

TEST(GpuSeqAutoencoder, MatchesPyTorchOnEveryEngine) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  for (Engine engine : {Engine::fused, Engine::cudnn, Engine::persistent, Engine::auto_})
    for (const char* cell : {"lstm", "gru", "features_lstm"})
      testing::check_autoencoder_against_pytorch(cell, DType::f32, testing::kF32Tolerance,
                                                 {Device::cuda(0), engine});
}

}  // namespace
}  // namespace recur
