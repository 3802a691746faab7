// Asking for a GPU where there is none: every way a tensor reaches cuda:0 is a recur::Error that
// names the device, whether the build has CUDA (no GPU visible) or not (no CUDA at all). Also
// cuda_compiled() reports what the build was configured with. Runs in the CPU suite; the GPU part
// skips itself on a machine that has a GPU.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"
#include "core/tensor.h"
#include "support/expect_error.h"

namespace recur {
namespace {

using testing::expect_error;

TEST(DeviceErrors, CudaCompiledMatchesTheBuild) {
#if defined(RECUR_WITH_CUDA) && RECUR_WITH_CUDA
  EXPECT_TRUE(cuda_compiled());
#else
  EXPECT_FALSE(cuda_compiled());
  EXPECT_EQ(cuda_device_count(), 0);
#endif
  EXPECT_GE(cuda_device_count(), 0);
}

TEST(DeviceErrors, NoGpuMeansEveryDeviceTensorIsAnError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "this machine has a GPU";
  expect_error([] { Tensor::empty({2}, DType::f32, Device::cuda(0)); }, "cuda:0");
  expect_error([] { Tensor::zeros({2}, DType::f32, Device::cuda(0)); }, "cuda:0");
  expect_error([] { Tensor::zeros({2}, DType::f32).to(Device::cuda(0)); }, "cuda:0");
  expect_error([] { Tensor::zeros({3, 4}, DType::i64).to(Device::cuda(1)); }, "cuda:1");
  expect_error([] { allocate_cuda(16, 0); }, "cuda:0");
  expect_error([] { cuda_memory_stats(0); }, "cuda:0");
  expect_error([] { cuda_synchronize(0); }, "cuda:0");
  expect_error([] { set_cuda_allow_tf32(0, true); }, "cuda:0");
  expect_error([] { cuda_allow_tf32(0); }, "cuda:0");
}

TEST(DeviceErrors, NoGpuMeansDeviceCopiesAreErrors) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "this machine has a GPU";
  float host[4] = {1, 2, 3, 4}, other[4] = {};
  expect_error([&] { copy_bytes(other, Device::cuda(0), host, Device::cpu(), sizeof host); },
               "cuda:0");
  expect_error([&] { copy_bytes(other, Device::cpu(), host, Device::cuda(0), sizeof host); },
               "cuda:0");
  expect_error([&] { zero_bytes(other, Device::cuda(0), sizeof other); }, "cuda:0");
  // Host to host still works.
  copy_bytes(other, Device::cpu(), host, Device::cpu(), sizeof host);
  EXPECT_EQ(other[3], 4.0f);
  zero_bytes(other, Device::cpu(), sizeof other);
  EXPECT_EQ(other[0], 0.0f);
  // CPU tensors never touch the CUDA runtime.
  Tensor t = Tensor::zeros({2, 3}, DType::f32).to(Device::cpu());
  EXPECT_TRUE(t.device().is_cpu());
  EXPECT_EQ(t.to_vector(), std::vector<double>(6, 0.0));
}

}  // namespace
}  // namespace recur
