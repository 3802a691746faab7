// Forecaster on a GPU against PyTorch's float64 numbers (tests/support/forecaster_fixture.h):
// forecasts ahead and one step ahead (one step per call, the state carried on the device), the
// training loss and every gradient, through each GPU engine. Skips without a GPU.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"
#include "support/forecaster_fixture.h"

namespace recur {
namespace {

TEST(GpuForecaster, MatchesPyTorchOnEveryEngine) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  for (Engine engine : {Engine::fused, Engine::cudnn, Engine::persistent, Engine::auto_})
    for (const char* name : {"lstm", "gru", "features_lstm"})
      testing::check_forecaster_against_pytorch(name, DType::f32, testing::kF32Tolerance,
                                                {Device::cuda(0), engine});
}

}  // namespace
}  // namespace recur
