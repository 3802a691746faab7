// The measured engine table Engine::auto_ consults (kernels/engine_table.h): parsing, the
// nearest-shape lookup, the errors for malformed tables, and the table compiled into the library.
#include <gtest/gtest.h>

#include "kernels/engine_table.h"
#include "kernels/recurrent_engine.h"
#include "support/expect_error.h"

namespace recur {
namespace {

using testing::expect_error;

nlohmann::json entry(const char* cell, const char* mode, int64_t B, int64_t H,
                     std::vector<std::string> ranking) {
  return {{"gpu", "test GPU"},
          {"cell", cell},
          {"mode", mode},
          {"dtype", "f32"},
          {"B", B},
          {"H", H},
          {"T", 256},
          {"ranking", ranking}};
}

EngineTable table() {
  nlohmann::json j = {{"source", "synthetic"},
                      {"entries",
                       {entry("lstm", "inference", 1, 1024, {"persistent", "cudnn", "fused"}),
                        entry("lstm", "inference", 64, 1024, {"cudnn", "fused"}),
                        entry("lstm", "training", 8, 1024, {"fused", "cudnn"}),
                        entry("gru", "inference", 8, 512, {"fused"})}}};
  return EngineTable::parse(j, "synthetic");
}

TEST(EngineTable, NearestShapeOfTheSameCellModeAndDtype) {
  const EngineTable t = table();
  EXPECT_EQ(t.source(), "synthetic");
  ASSERT_EQ(t.entries().size(), 4u);
  const EngineTableEntry* e = t.nearest(CellKind::lstm, false, DType::f32, 2, 1024, 256);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->B, 1);
  EXPECT_EQ(e->ranking.front(), "persistent");
  e = t.nearest(CellKind::lstm, false, DType::f32, 32, 768, 100);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->B, 64);
  e = t.nearest(CellKind::lstm, true, DType::f32, 256, 2048, 1024);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->training);
  EXPECT_EQ(t.nearest(CellKind::gru, true, DType::f32, 8, 512, 256), nullptr);
  EXPECT_EQ(t.nearest(CellKind::lstm, false, DType::bf16, 8, 1024, 256), nullptr);
  EXPECT_EQ(t.nearest(CellKind::rnn_tanh, false, DType::f32, 8, 1024, 256), nullptr);
}

TEST(EngineTable, MalformedTablesAreErrorsNamingTheEntry) {
  expect_error([] { EngineTable::parse(nlohmann::json::array(), "t.json"); },
               {"t.json", "entries"});
  nlohmann::json bad_mode = {{"entries", {entry("lstm", "sideways", 1, 8, {"fused"})}}};
  expect_error([&] { EngineTable::parse(bad_mode, "t.json"); }, {"t.json", "sideways"});
  nlohmann::json bad_cell = {{"entries", {entry("transformer", "inference", 1, 8, {"fused"})}}};
  expect_error([&] { EngineTable::parse(bad_cell, "t.json"); }, {"t.json", "transformer"});
  nlohmann::json no_ranking = {{"entries", {entry("lstm", "inference", 1, 8, {})}}};
  expect_error([&] { EngineTable::parse(no_ranking, "t.json"); }, {"t.json", "ranking"});
  nlohmann::json missing = {{"entries", {{{"cell", "lstm"}}}}};
  expect_error([&] { EngineTable::parse(missing, "t.json"); }, {"t.json"});
}

// Every name in a table is checked when it is read: auto_ must never meet an unknown one
// mid-run.
TEST(EngineTable, UnknownEngineAlgorithmOrBarrierNamesAreErrors) {
  nlohmann::json bad_engine = {{"entries", {entry("lstm", "inference", 1, 8, {"warp"})}}};
  expect_error([&] { EngineTable::parse(bad_engine, "t.json"); }, {"t.json", "warp"});
  nlohmann::json e = entry("lstm", "inference", 1, 8, {"cudnn"});
  e["cudnn_algo"] = "persist_fastest";
  expect_error(
      [&] {
        EngineTable::parse({{"entries", {e}}}, "t.json");
      },
      {"t.json", "persist_fastest"});
  e["cudnn_algo"] = "auto";
  expect_error([&] { EngineTable::parse({{"entries", {e}}}, "t.json"); }, {"t.json", "not auto"});
  e["cudnn_algo"] = "persist_dynamic";
  e["persistent_barrier"] = "spin";
  expect_error([&] { EngineTable::parse({{"entries", {e}}}, "t.json"); }, {"t.json", "spin"});
  e["persistent_barrier"] = "cluster";
  const EngineTable t = EngineTable::parse({{"entries", {e}}}, "t.json");
  EXPECT_EQ(t.entries().front().cudnn_algo, "persist_dynamic");
  EXPECT_EQ(t.entries().front().persistent_barrier, "cluster");
}

TEST(EngineTable, TheCompiledInTableParsesAndNamesOnlyKnownEngines) {
  const std::shared_ptr<const EngineTable> active = EngineTable::active();
  const EngineTable& t = *active;
  EXPECT_FALSE(t.source().empty());
  for (const EngineTableEntry& e : t.entries())
    for (const std::string& name : e.ranking) EXPECT_NO_THROW(engine_from_name(name)) << name;
}

}  // namespace
}  // namespace recur
