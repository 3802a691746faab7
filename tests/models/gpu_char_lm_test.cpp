// CharLM on a GPU against the same model on the CPU: twenty training steps from the same weights
// and data (dropout on: the masks are Philox draws shared by both devices) follow the same loss
// trajectory, validation bpc agrees, a GPU run resumed from its checkpoint repeats the
// uninterrupted run bit for bit, and a GPU checkpoint loads on the CPU. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "core/cuda_runtime.h"
#include "models/char_lm_inference.h"
#include "models/char_lm_trainer.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using testing::ScratchDir;

std::string corpus_file(const ScratchDir& dir) {
  const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "ran", "off"};
  std::mt19937 rng(3);
  std::string text;
  for (int d = 0; d < 120; ++d) {
    for (int w = 0; w < 12; ++w) text += std::string(w ? " " : "") + words[rng() % 9];
    text += ".\n\x1e";
  }
  const std::string path = dir.file("corpus.txt");
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

CharLMConfig model_config() {
  CharLMConfig m;
  m.embed = 16;
  m.hidden = 40;
  m.layers = 2;
  m.dropout = 0.2;
  return m;
}

CharLMTrainConfig training(const std::string& corpus, int64_t steps) {
  CharLMTrainConfig t;
  t.corpus = corpus;
  t.batch = 6;
  t.bptt = 24;
  t.steps = steps;
  t.lr = 5e-3;
  t.eval_every = 1000;
  t.val_tokens = 0;
  return t;
}

Placement gpu(Engine engine = Engine::auto_) {
  return {Device::cuda(0), engine};
}

class GpuCharLM : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU";
  }
};

TEST_F(GpuCharLM, TrainingFollowsTheCpuLossTrajectory) {
  ScratchDir dir("recur_gpu_charlm");
  const std::string corpus = corpus_file(dir);
  CharLMTrainer cpu(model_config(), training(corpus, 20), dir.file("cpu"));
  CharLMTrainer on_gpu(model_config(), training(corpus, 20), dir.file("gpu"), gpu());
  for (int i = 0; i < 20; ++i) {
    const double want = cpu.step().loss, got = on_gpu.step().loss;
    // f32 on both; the GPU sums in another order, so the trajectories drift apart slowly.
    EXPECT_NEAR(got, want, 1e-4 * (1 + i) * std::abs(want)) << "step " << i + 1;
  }
  EXPECT_NEAR(on_gpu.evaluate(), cpu.evaluate(), 1e-3);
}

// Mixed precision on the GPU (tensor-core GEMMs; f16 with loss scaling) against the CPU's
// emulation of the same rounding: the same trajectory to within the drift of summation order.
TEST_F(GpuCharLM, MixedPrecisionTrainingFollowsTheCpuEmulation) {
  ScratchDir dir("recur_gpu_charlm_mixed");
  const std::string corpus = corpus_file(dir);
  for (Precision precision : {Precision::bf16, Precision::f16}) {
    SCOPED_TRACE(precision_name(precision));
    Placement host, device = gpu(Engine::fused);
    host.precision = device.precision = precision;
    const std::string name = precision_name(precision);
    CharLMTrainer cpu(model_config(), training(corpus, 20), dir.file("cpu_" + name), host);
    CharLMTrainer on_gpu(model_config(), training(corpus, 20), dir.file("gpu_" + name), device);
    double first = 0, last = 0;
    for (int i = 0; i < 20; ++i) {
      const TrainStepResult want = cpu.step(), got = on_gpu.step();
      EXPECT_NEAR(got.loss, want.loss, 1e-3 * (1 + i) * std::abs(want.loss)) << "step " << i + 1;
      EXPECT_EQ(got.loss_scale, want.loss_scale);
      EXPECT_EQ(got.skipped, want.skipped);
      if (i == 0) first = got.loss;
      last = got.loss;
    }
    EXPECT_LT(last, first);
  }
}

TEST_F(GpuCharLM, ResumeOnTheGpuRepeatsTheUninterruptedRunBitForBit) {
  ScratchDir dir("recur_gpu_charlm_resume");
  const std::string corpus = corpus_file(dir);
  std::vector<double> whole;
  {
    CharLMTrainer t(model_config(), training(corpus, 12), dir.file("whole"), gpu());
    for (int i = 0; i < 12; ++i) whole.push_back(t.step().loss);
  }
  {
    CharLMTrainer t(model_config(), training(corpus, 12), dir.file("split"), gpu());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(t.step().loss, whole[i]) << "step " << i + 1;
    t.save_checkpoint();
  }
  std::unique_ptr<CharLMTrainer> resumed = CharLMTrainer::resume(dir.file("split"), 0, gpu());
  for (int i = 5; i < 12; ++i) EXPECT_EQ(resumed->step().loss, whole[i]) << "step " << i + 1;
}

TEST_F(GpuCharLM, GpuCheckpointScoresTheSameOnTheCpu) {
  ScratchDir dir("recur_gpu_charlm_score");
  const std::string corpus = corpus_file(dir);
  {
    CharLMTrainer t(model_config(), training(corpus, 6), dir.file("run"), gpu());
    for (int i = 0; i < 6; ++i) t.step();
    t.save_checkpoint();
  }
  const std::string ckpt = dir.file("run") + "/last.safetensors";
  LoadedCharLM on_cpu = load_char_lm(ckpt);
  LoadedCharLM on_gpu = load_char_lm(ckpt, gpu());
  const std::vector<int64_t> ids = on_cpu.vocab->encode("the cat sat on a mat and ran off.\n");
  EXPECT_NEAR(bits_per_symbol(*on_gpu.model, ids), bits_per_symbol(*on_cpu.model, ids), 1e-4);
  // Greedy generation is the argmax of the same logits on both devices.
  SamplingOptions greedy;
  greedy.temperature = 0;
  std::vector<int64_t> a, b;
  generate(*on_cpu.model, ids, 40, greedy, -1, [&](int64_t s) { a.push_back(s); });
  generate(*on_gpu.model, ids, 40, greedy, -1, [&](int64_t s) { b.push_back(s); });
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace recur
