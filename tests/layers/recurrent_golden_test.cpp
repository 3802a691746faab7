// Parity of the Recurrent layer with PyTorch: fixtures in tests/data/golden, written by
// python_tools/make_golden.py from nn.RNN / nn.GRU / nn.LSTM (and a reference leaky module), hold
// inputs, weights, upstream gradients, outputs and every gradient. Each runs here in f64 (to
// ~1e-12) and in f32 (NMSE <= 1e-10, per element 1e-4 relative).
#include <gtest/gtest.h>

#include <filesystem>

#include "core/safetensors.h"
#include "layers/recurrent.h"
#include "support/compare.h"

namespace recur {
namespace {

using testing::expect_close;
using testing::Tolerance;

std::string golden_dir() {
  return std::string(RECUR_TEST_DATA_DIR) + "/golden";
}

std::vector<std::string> golden_cases() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(golden_dir()))
    if (e.path().extension() == ".safetensors") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

struct GoldenParam {
  std::string name;
  DType dtype;
};

class RecurrentGolden : public ::testing::TestWithParam<GoldenParam> {};

TEST_P(RecurrentGolden, MatchesPyTorch) {
  const GoldenParam& gp = GetParam();
  SafetensorsFile f = read_safetensors(golden_dir() + "/" + gp.name + ".safetensors");
  auto get = [&](const std::string& key) {
    auto it = f.tensors.find(key);
    return it == f.tensors.end() ? Tensor() : it->second;
  };
  auto as_dtype = [&](const std::string& key) {
    Tensor t = get(key);
    return t.defined() ? t.to(gp.dtype) : Tensor();
  };
  RecurrentConfig cfg = RecurrentConfig::from_json(nlohmann::json::parse(f.metadata.at("config")));
  Recurrent rnn(cfg, gp.dtype);
  for (Parameter& p : rnn.parameters()) {
    Tensor v = get(p.name);
    ASSERT_TRUE(v.defined()) << "fixture lacks " << p.name;
    p.value.copy_from(v);
  }
  const bool lstm = cfg.cell == CellKind::lstm;
  RecurrentState init{as_dtype("h0"), as_dtype("c0")};
  ForwardOptions opts;
  opts.keep_for_backward = true;
  Recurrent::Output out = rnn.run(as_dtype("x"), init, get("lengths"), opts);
  Recurrent::InputGrads g = rnn.run_backward(as_dtype("dy"), {as_dtype("dh_n"), as_dtype("dc_n")});

  const Tolerance tol = gp.dtype == DType::f64 ? testing::kF64Tolerance : testing::kF32Tolerance;
  expect_close(out.y, get("y"), tol, "y");
  expect_close(out.final_state.h, get("h_n"), tol, "h_n");
  if (lstm) expect_close(out.final_state.c, get("c_n"), tol, "c_n");
  expect_close(g.dx, get("grad.x"), tol, "grad.x");
  if (init.h.defined()) expect_close(g.d_initial.h, get("grad.h0"), tol, "grad.h0");
  if (init.c.defined()) expect_close(g.d_initial.c, get("grad.c0"), tol, "grad.c0");
  int checked = 0;
  for (Parameter& p : rnn.parameters()) {
    Tensor ref = get("grad." + p.name);
    if (!p.requires_grad) {
      EXPECT_FALSE(ref.defined()) << p.name << " is fixed here but PyTorch has a gradient";
      continue;
    }
    ASSERT_TRUE(ref.defined()) << "fixture lacks grad." << p.name;
    expect_close(p.grad, ref, tol, "grad." + p.name);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

std::vector<GoldenParam> params() {
  std::vector<GoldenParam> out;
  for (const std::string& n : golden_cases())
    for (DType d : {DType::f64, DType::f32}) out.push_back({n, d});
  return out;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, RecurrentGolden, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<GoldenParam>& info) {
                           return info.param.name + "_" + dtype_name(info.param.dtype);
                         });

TEST(RecurrentGoldenFixtures, CoverEveryCellAndOption) {
  std::vector<std::string> names = golden_cases();
  for (const char* cell : {"rnn_tanh", "rnn_relu", "gru", "lstm", "leaky"})
    for (const char* variant : {"_basic", "_deep_bi", "_lengths", "_tiny"})
      EXPECT_NE(std::find(names.begin(), names.end(), std::string(cell) + variant), names.end())
          << cell << variant;
  for (const char* extra : {"lstm_proj", "lstm_proj_deep_bi_lengths", "lstm_nobias", "leaky_fixed"})
    EXPECT_NE(std::find(names.begin(), names.end(), extra), names.end()) << extra;
}

}  // namespace
}  // namespace recur
