// Optimizers and gradient clipping on GPU 0 against the same optimizers on the CPU, f32 and f64:
// SGD (momentum with dampening and weight decay, Nesterov), Adam (L2) and AdamW over several
// steps, their state buffers, zero_grad, the global norm and clipping (GPU grads alone and beside
// CPU grads), two GPU runs bit-identical, and a checkpoint round trip of GPU optimizer state.
// Every test skips where there is no GPU.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_runtime.h"
#include "core/random.h"
#include "core/tensor.h"
#include "support/expect_error.h"
#include "support/scratch_dir.h"
#include "train/checkpoint.h"
#include "train/clip.h"
#include "train/grad_scaler.h"
#include "train/optimizer.h"

namespace recur {
namespace {

using testing::expect_error;

const Device kCuda = Device::cuda(0);

template <class T>
class GpuOptim : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GpuOptim, FloatTypes);

class GpuOptimErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};

// |gpu - cpu| <= tol * max(|cpu|, 1): the devices may fuse multiply-adds differently.
template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

template <class T>
Tensor random_tensor(const Shape& shape, uint64_t seed, uint32_t stream) {
  Tensor t = Tensor::empty(shape, dtype_of<T>);
  fill_uniform(t, -1.0, 1.0, seed, stream);
  return t;
}

// Two parameters of odd sizes on the CPU, values from `seed`, zero grads.
template <class T>
ParameterList cpu_parameters(uint64_t seed) {
  ParameterList params;
  params.push_back({"bias", random_tensor<T>({37}, seed, 1), Tensor::zeros({37}, dtype_of<T>)});
  params.push_back(
      {"weight", random_tensor<T>({13, 7}, seed, 2), Tensor::zeros({13, 7}, dtype_of<T>)});
  return params;
}

ParameterList on_device(const ParameterList& params, Device device) {
  ParameterList moved;
  for (const Parameter& p : params)
    moved.push_back({p.name, p.value.to(device), p.grad.to(device)});
  return moved;
}

// The gradients of step k, the same on every device.
template <class T>
void set_grads(const ParameterList& params, int k) {
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor grad = params[i].grad;  // shares storage
    grad.copy_from(
        random_tensor<T>(grad.shape(), 100 + k, static_cast<uint32_t>(i)).to(grad.device()));
  }
}

template <class T>
void expect_near(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  const std::vector<double> a = gpu.to(Device::cpu()).to_vector(), b = cpu.to_vector();
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_LE(std::abs(a[i] - b[i]), tolerance<T>() * std::max(std::abs(b[i]), 1.0))
        << what << " [" << i << "]: GPU " << a[i] << ", CPU " << b[i];
}

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  return ha.shape() == hb.shape() && ha.dtype() == hb.dtype() &&
         std::memcmp(ha.raw_data(), hb.raw_data(), ha.nbytes()) == 0;
}

const std::vector<nlohmann::json> kConfigs = {
    {{"name", "sgd"}, {"lr", 0.1}},
    {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"dampening", 0.1}, {"weight_decay", 0.01}},
    {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.8}, {"nesterov", true}},
    {{"name", "adam"}, {"lr", 0.01}, {"weight_decay", 0.02}},
    {{"name", "adamw"}, {"lr", 0.01}, {"betas", {0.8, 0.99}}, {"eps", 1e-6}},
};

TYPED_TEST(GpuOptim, StepsMatchTheCpu) {
  using T = TypeParam;
  for (const nlohmann::json& config : kConfigs) {
    const ParameterList cpu = cpu_parameters<T>(1);
    const ParameterList gpu = on_device(cpu, kCuda);
    std::unique_ptr<Optimizer> cpu_opt = make_optimizer(cpu, config);
    std::unique_ptr<Optimizer> gpu_opt = make_optimizer(gpu, config);
    for (int k = 0; k < 6; ++k) {
      set_grads<T>(cpu, k);
      set_grads<T>(gpu, k);
      if (k == 3) {  // a changed lr takes effect on both
        cpu_opt->set_lr(cpu_opt->lr() * 0.5);
        gpu_opt->set_lr(gpu_opt->lr() * 0.5);
      }
      cpu_opt->step();
      gpu_opt->step();
    }
    for (size_t i = 0; i < cpu.size(); ++i)
      expect_near<T>(gpu[i].value, cpu[i].value, config.dump() + " " + cpu[i].name);
    const TensorMap cpu_state = cpu_opt->state_tensors(), gpu_state = gpu_opt->state_tensors();
    ASSERT_EQ(gpu_state.size(), cpu_state.size()) << config.dump();
    for (const auto& [name, t] : gpu_state) {
      EXPECT_EQ(t.device(), kCuda) << name << ": state lives on the parameter's device";
      expect_near<T>(t, cpu_state.at(name), config.dump() + " state " + name);
    }
  }
}

TYPED_TEST(GpuOptim, TwoGpuRunsAreBitIdentical) {
  using T = TypeParam;
  for (const nlohmann::json& config : kConfigs) {
    std::vector<ParameterList> runs;
    for (int run = 0; run < 2; ++run) {
      const ParameterList gpu = on_device(cpu_parameters<T>(2), kCuda);
      std::unique_ptr<Optimizer> opt = make_optimizer(gpu, config);
      for (int k = 0; k < 4; ++k) {
        set_grads<T>(gpu, k);
        clip_grad_norm(gpu, 0.5);
        opt->step();
      }
      runs.push_back(gpu);
    }
    for (size_t i = 0; i < runs[0].size(); ++i)
      EXPECT_TRUE(same_bits(runs[0][i].value, runs[1][i].value))
          << config.dump() << " " << runs[0][i].name;
  }
}

TYPED_TEST(GpuOptim, ZeroGradZeroesGpuGrads) {
  using T = TypeParam;
  const ParameterList gpu = on_device(cpu_parameters<T>(3), kCuda);
  std::unique_ptr<Optimizer> opt = make_optimizer(gpu, {{"name", "sgd"}, {"lr", 0.1}});
  set_grads<T>(gpu, 0);
  opt->zero_grad();
  for (const Parameter& p : gpu)
    for (double g : p.grad.to(Device::cpu()).to_vector()) EXPECT_EQ(g, 0.0) << p.name;
}

TYPED_TEST(GpuOptim, GradNormAndClipMatchTheCpu) {
  using T = TypeParam;
  const ParameterList cpu = cpu_parameters<T>(4);
  const ParameterList gpu = on_device(cpu, kCuda);
  // A large gradient (more than the two-pass reduction's 1024 x 256 elements) beside the two.
  ParameterList cpu_big = cpu, gpu_big = gpu;
  const Tensor big = random_tensor<T>({300001}, 5, 3);
  cpu_big.push_back({"big", big.clone(), big.clone()});
  gpu_big.push_back({"big", big.to(kCuda), big.to(kCuda)});
  set_grads<T>(cpu, 7);
  set_grads<T>(gpu, 7);

  for (const auto& [c, g] : {std::pair(cpu, gpu), std::pair(cpu_big, gpu_big)}) {
    const double norm_cpu = grad_norm(c), norm_gpu = grad_norm(g);
    EXPECT_NEAR(norm_gpu, norm_cpu, 1e-12 * norm_cpu);
    const double max_norm = 0.25 * norm_cpu;
    EXPECT_NEAR(clip_grad_norm(g, max_norm), norm_gpu, 0.0);
    clip_grad_norm(c, max_norm);
    for (size_t i = 0; i < c.size(); ++i)
      expect_near<T>(g[i].grad, c[i].grad, "clipped " + c[i].name);
    EXPECT_NEAR(grad_norm(g), max_norm, 1e-5 * max_norm);
  }
}

TYPED_TEST(GpuOptim, GradNormSpansCpuAndGpuGrads) {
  using T = TypeParam;
  const ParameterList cpu = cpu_parameters<T>(6);
  set_grads<T>(cpu, 8);
  ParameterList mixed = cpu;
  mixed[1] = on_device({cpu[1]}, kCuda)[0];
  EXPECT_NEAR(grad_norm(mixed), grad_norm(cpu), 1e-12 * grad_norm(cpu));
}

TYPED_TEST(GpuOptim, CheckpointRoundTripOfGpuState) {
  using T = TypeParam;
  const nlohmann::json config = {{"name", "adamw"}, {"lr", 0.01}};
  const ParameterList gpu = on_device(cpu_parameters<T>(9), kCuda);
  std::unique_ptr<Optimizer> opt = make_optimizer(gpu, config);
  for (int k = 0; k < 3; ++k) {
    set_grads<T>(gpu, k);
    opt->step();
  }
  testing::ScratchDir dir("gpu_optim");
  Checkpoint saved;
  saved.model = state_dict(gpu);  // GPU tensors: save copies them to the host
  saved.config = {{"kind", "test"}};
  saved.optimizer = opt->state_tensors();
  saved.optimizer_meta = opt->state_scalars();
  save_checkpoint(dir.file("ckpt"), saved);

  const Checkpoint loaded = load_checkpoint(dir.file("ckpt"));
  const ParameterList restored = on_device(cpu_parameters<T>(10), kCuda);
  load_state_dict(restored, loaded.model);
  std::unique_ptr<Optimizer> resumed = make_optimizer(restored, loaded.optimizer_meta);
  resumed->load_state(loaded.optimizer, loaded.optimizer_meta);
  for (const auto& [name, t] : resumed->state_tensors()) EXPECT_EQ(t.device(), kCuda) << name;
  for (int k = 3; k < 5; ++k) {
    set_grads<T>(gpu, k);
    set_grads<T>(restored, k);
    opt->step();
    resumed->step();
  }
  for (size_t i = 0; i < gpu.size(); ++i)
    EXPECT_TRUE(same_bits(restored[i].value, gpu[i].value)) << gpu[i].name;
}

TEST_F(GpuOptimErrors, ValueAndGradOnTwoDevicesAreAnError) {
  ParameterList params = cpu_parameters<float>(11);
  params[0].value = params[0].value.to(kCuda);
  expect_error(
      [&] {
        make_optimizer(params, {{"name", "sgd"}, {"lr", 0.1}});
      },
      {"parameter 'bias'", "expected value and grad on one device", "cuda:0", "cpu"});
}

// Dynamic loss scaling on GPU gradients: the same decisions and the same unscaled, clipped
// values as on the CPU, and an inf on the GPU skips the step leaving every gradient untouched.
TYPED_TEST(GpuOptim, GradScalerMatchesTheCpuAndSkipsOverflows) {
  using T = TypeParam;
  GradScalerOptions o;
  o.init_scale = 512;
  GradScaler cpu_scaler(o), gpu_scaler(o);
  ParameterList cpu = cpu_parameters<T>(3);
  ParameterList gpu = on_device(cpu, kCuda);
  set_grads<T>(cpu, 1);
  set_grads<T>(gpu, 1);
  const std::optional<double> cpu_norm = cpu_scaler.unscale_and_clip(cpu, 0.01);
  const std::optional<double> gpu_norm = gpu_scaler.unscale_and_clip(gpu, 0.01);
  ASSERT_TRUE(cpu_norm && gpu_norm);
  EXPECT_NEAR(*gpu_norm, *cpu_norm, tolerance<T>() * *cpu_norm);
  for (size_t i = 0; i < cpu.size(); ++i) expect_near<T>(gpu[i].grad, cpu[i].grad, cpu[i].name);

  set_grads<T>(gpu, 2);
  Tensor poisoned = Tensor::from_vector<T>({std::numeric_limits<T>::infinity()}, {1});
  copy_bytes(gpu[1].grad.data<T>() + 5, kCuda, poisoned.data<T>(), Device::cpu(), sizeof(T));
  const Tensor before = gpu[0].grad.to(Device::cpu());
  EXPECT_FALSE(gpu_scaler.unscale_and_clip(gpu, 0.01).has_value());
  EXPECT_TRUE(same_bits(gpu[0].grad, before));
  EXPECT_EQ(gpu_scaler.scale(), 256);
}

}  // namespace
}  // namespace recur
