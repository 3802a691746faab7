// CharLM end to end on the CPU: it learns a generated corpus, a resumed run equals an
// uninterrupted one bit for bit, `score` agrees with PyTorch on fixture checkpoints, generation
// is reproducible, and PyTorch's state_dict names round-trip.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "models/char_lm_inference.h"
#include "models/char_lm_trainer.h"
#include "support/scratch_dir.h"
#include "train/checkpoint.h"

namespace recur {
namespace {

using testing::ScratchDir;

// Sentences of a tiny grammar, documents separated by RS: about 1 bit per character to learn.
std::string generated_corpus(int documents, uint32_t seed) {
  const char* words[] = {"the", "cat", "dog",  "sat",   "ran",   "on",    "under", "mat",
                         "log", "red", "blue", "quick", "brown", "jumps", "over",  "fox"};
  std::mt19937 rng(seed);
  std::string text;
  for (int d = 0; d < documents; ++d) {
    const int sentences = 2 + rng() % 4;
    for (int s = 0; s < sentences; ++s) {
      const int n = 3 + rng() % 5;
      for (int w = 0; w < n; ++w) text += std::string(w ? " " : "") + words[rng() % 16];
      text += ".\n";
    }
    text += '\x1e';
  }
  return text;
}

std::string write_file(const ScratchDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

CharLMConfig small_model(CellKind cell = CellKind::lstm) {
  CharLMConfig m;
  m.cell = cell;
  m.embed = 16;
  m.hidden = 48;
  m.layers = 2;
  m.dropout = 0.1;
  return m;
}

CharLMTrainConfig small_training(const std::string& corpus, int64_t steps) {
  CharLMTrainConfig t;
  t.corpus = corpus;
  t.batch = 8;
  t.bptt = 32;
  t.steps = steps;
  t.lr = 1e-2;
  t.min_lr = 1e-3;
  t.eval_every = 1000;
  t.val_tokens = 0;
  t.val_fraction = 0.1;
  return t;
}

// A one-layer LSTM that learns the generated corpus in 200 steps, trained where `where` says.
std::unique_ptr<CharLMTrainer> learner(const ScratchDir& dir, const Placement& where = {}) {
  const std::string corpus = write_file(dir, "toy.txt", generated_corpus(250, 1));
  CharLMConfig model = small_model();
  model.layers = 1;
  model.hidden = 64;
  CharLMTrainConfig training = small_training(corpus, 200);
  training.batch = 16;
  return std::make_unique<CharLMTrainer>(model, training, dir.file("run"), where);
}

TEST(CharLMTraining, LearnsAGeneratedCorpusBelowTwoBitsPerCharacter) {
  ScratchDir dir("recur_charlm");
  std::unique_ptr<CharLMTrainer> owner = learner(dir);
  CharLMTrainer& trainer = *owner;
  const double before = trainer.evaluate();
  for (int i = 0; i < 200; ++i) trainer.step();
  const double after = trainer.evaluate();
  EXPECT_GT(before, 7.0);  // untrained: close to 8 bits per byte
  EXPECT_LT(after, 2.0) << "validation bpc before " << before;
}

// Mixed precision on the CPU (emulated rounding, core/precision.h) learns as f32 does; f16 runs
// with dynamic loss scaling.
class CharLMMixedPrecision : public ::testing::TestWithParam<Precision> {};

TEST_P(CharLMMixedPrecision, LearnsTheGeneratedCorpusBelowTwoBitsPerCharacter) {
  ScratchDir dir("recur_charlm");
  Placement where;
  where.precision = GetParam();
  std::unique_ptr<CharLMTrainer> owner = learner(dir, where);
  CharLMTrainer& trainer = *owner;
  double scale = 0;
  for (int i = 0; i < 200; ++i) scale = trainer.step().loss_scale;
  EXPECT_EQ(scale, GetParam() == Precision::f16 ? 65536.0 : 0.0);  // no overflow at this size
  EXPECT_LT(trainer.evaluate(), 2.0);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CharLMMixedPrecision,
                         ::testing::Values(Precision::bf16, Precision::f16),
                         [](const auto& info) { return std::string(precision_name(info.param)); });

TEST(CharLMTraining, AnF16RunResumesBitForBitWithItsLossScale) {
  ScratchDir dir("recur_charlm");
  const std::string corpus = write_file(dir, "toy.txt", generated_corpus(120, 2));
  const CharLMConfig model = small_model(CellKind::lstm);
  Placement f16;
  f16.precision = Precision::f16;
  std::vector<double> straight, resumed;
  {
    CharLMTrainer t(model, small_training(corpus, 8), dir.file("straight"), f16);
    for (int i = 0; i < 8; ++i) straight.push_back(t.step().loss);
  }
  {
    CharLMTrainer t(model, small_training(corpus, 8), dir.file("resumed"), f16);
    for (int i = 0; i < 3; ++i) resumed.push_back(t.step().loss);
    t.save_checkpoint();
  }
  const Checkpoint ck = load_checkpoint(dir.file("resumed") + "/last.safetensors");
  ASSERT_TRUE(ck.extra.contains("grad_scaler"));
  EXPECT_EQ(ck.extra.at("grad_scaler").at("scale").get<double>(), 65536.0);
  std::unique_ptr<CharLMTrainer> t = CharLMTrainer::resume(dir.file("resumed"), 0, f16);
  while (t->steps_done() < 8) resumed.push_back(t->step().loss);
  EXPECT_EQ(resumed, straight);
}

TEST(CharLMTraining, ResumeEqualsAnUninterruptedRunBitForBit) {
  ScratchDir dir("recur_charlm");
  const std::string corpus = write_file(dir, "toy.txt", generated_corpus(120, 2));
  const CharLMConfig model = small_model(CellKind::gru);
  std::vector<double> straight_losses, resumed_losses;
  TensorMap straight_state;
  {
    CharLMTrainer t(model, small_training(corpus, 12), dir.file("straight"));
    for (int i = 0; i < 12; ++i) straight_losses.push_back(t.step().loss);
    straight_state = t.model().state_dict();
  }
  {
    CharLMTrainer t(model, small_training(corpus, 12), dir.file("resumed"));
    for (int i = 0; i < 5; ++i) resumed_losses.push_back(t.step().loss);
    t.save_checkpoint();
  }  // the process "dies" here
  std::unique_ptr<CharLMTrainer> t = CharLMTrainer::resume(dir.file("resumed"));
  EXPECT_EQ(t->steps_done(), 5);
  while (t->steps_done() < 12) resumed_losses.push_back(t->step().loss);
  EXPECT_EQ(resumed_losses, straight_losses);  // exact, not approximately
  for (auto& [name, value] : t->model().state_dict())
    EXPECT_EQ(value.to_vector(), straight_state.at(name).to_vector()) << name;
}

TEST(CharLMTraining, RefusesToOverwriteARunAndReportsAChangedCorpus) {
  ScratchDir dir("recur_charlm");
  const std::string corpus = write_file(dir, "toy.txt", generated_corpus(60, 3));
  {
    CharLMTrainer t(small_model(), small_training(corpus, 4), dir.file("run"));
    t.step();
    t.save_checkpoint();
  }
  EXPECT_THROW(CharLMTrainer(small_model(), small_training(corpus, 4), dir.file("run")), Error);
  write_file(dir, "toy.txt", generated_corpus(61, 3));
  try {
    CharLMTrainer::resume(dir.file("run"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has changed since the checkpoint"), std::string::npos)
        << e.what();
  }
}

// Fixtures by python_tools/make_score_fixture.py: PyTorch CharLMs (2 layers) and the bits per
// character PyTorch computes for a text, in float32.
TEST(CharLMScore, AgreesWithPyTorchOnFixtureCheckpoints) {
  const std::string dir = std::string(RECUR_TEST_DATA_DIR) + "/char_lm/";
  std::ifstream in(dir + "expected.json");
  ASSERT_TRUE(in) << "missing fixture " << dir << "expected.json";
  nlohmann::json expected = nlohmann::json::parse(in);
  std::ifstream text_file(dir + expected["text"].get<std::string>(), std::ios::binary);
  std::stringstream text;
  text << text_file.rdbuf();
  for (const char* cell : {"lstm", "gru"}) {
    LoadedCharLM m = load_char_lm(dir + expected[cell]["checkpoint"].get<std::string>());
    EXPECT_EQ(cell_name(m.model->config().cell), std::string(cell));
    EXPECT_EQ(m.model->config().layers, 2);
    const double bpc = bits_per_symbol(*m.model, m.vocab->encode(text.str()), 37);
    const double torch = expected[cell]["bpc_f32"].get<double>();
    EXPECT_LE(std::fabs(bpc - torch) / torch, 1e-5)
        << cell << ": recur " << bpc << " PyTorch " << torch;
  }
}

TEST(CharLMGenerate, SameSeedSameTextAndTheStopSymbolEndsIt) {
  CharLM model(small_model(), 5);
  const std::vector<int64_t> prime = {72, 105, 32};  // "Hi "
  auto run = [&](uint64_t seed, int64_t stop) {
    std::vector<int64_t> out;
    SamplingOptions o;
    o.seed = seed;
    o.top_k = 40;
    generate(model, prime, 60, o, stop, [&](int64_t id) { out.push_back(id); });
    return out;
  };
  const std::vector<int64_t> a = run(11, -1);
  EXPECT_EQ(a.size(), 60u);
  EXPECT_EQ(run(11, -1), a);
  EXPECT_NE(run(12, -1), a);
  const std::vector<int64_t> stopped = run(11, a[10]);  // stop at the 11th symbol's value
  EXPECT_LE(stopped.size(), 10u);
  EXPECT_EQ(std::vector<int64_t>(a.begin(), a.begin() + stopped.size()), stopped);
  // Greedy decoding picks the argmax every time.
  SamplingOptions greedy;
  greedy.temperature = 0;
  const float logits[4] = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_EQ(sample_symbol(logits, 4, greedy, 0.99), 1);
  SamplingOptions top2;
  top2.top_k = 2;
  for (double u : {0.0, 0.3, 0.6, 0.999}) {
    const int64_t s = sample_symbol(logits, 4, top2, u);
    EXPECT_TRUE(s == 1 || s == 3) << s;
  }
}

TEST(CharLM, StateDictHasPyTorchModuleNames) {
  CharLM model(small_model());
  TensorMap sd = model.state_dict();
  for (const char* name : {"embed.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                           "rnn.bias_hh_l1", "head.weight", "head.bias"})
    EXPECT_TRUE(sd.count(name)) << name;
  EXPECT_EQ(sd.size(), 11u);  // embed 1 + rnn 2 layers x 4 + head 2
  EXPECT_EQ(sd.at("rnn.weight_ih_l0").shape(), (Shape{4 * 48, 16}));
}

TEST(CharLM, CheckpointsOfAnotherKindAreRejected) {
  ScratchDir dir("recur_charlm");
  Checkpoint ck;
  ck.config = {{"kind", "sequence_classifier"}};
  save_checkpoint(dir.file("other.safetensors"), ck);
  EXPECT_THROW(load_char_lm(dir.file("other.safetensors")), Error);
  EXPECT_THROW(load_char_lm(dir.file("missing.safetensors")), Error);
}

}  // namespace
}  // namespace recur
