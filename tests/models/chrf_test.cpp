// chrF (models/chrf.h) against python_tools/chrf.py's scores (tests/data/chrf_cases.json), the
// bounds, and the UTF-8 decoding it counts characters with.
#include "models/chrf.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "support/expect_error.h"

namespace recur {
namespace {

TEST(Chrf, MatchesThePythonImplementation) {
  std::ifstream file(std::string(RECUR_TEST_DATA_DIR) + "/chrf_cases.json");
  ASSERT_TRUE(file.is_open());
  const nlohmann::json cases = nlohmann::json::parse(file);
  ASSERT_GE(cases.size(), 5u);
  for (const nlohmann::json& c : cases) {
    const auto hyps = c.at("hypotheses").get<std::vector<std::string>>();
    const auto refs = c.at("references").get<std::vector<std::string>>();
    EXPECT_NEAR(corpus_chrf(hyps, refs), c.at("chrf").get<double>(), 1e-9) << c.dump();
  }
}

TEST(Chrf, IsHundredForIdenticalTextAndZeroForNothingShared) {
  EXPECT_DOUBLE_EQ(corpus_chrf({"Datei öffnen", "Beenden"}, {"Datei öffnen", "Beenden"}), 100.0);
  EXPECT_DOUBLE_EQ(corpus_chrf({"Datei  öffnen"}, {"Dateiöffnen"}), 100.0) << "spaces dropped";
  EXPECT_DOUBLE_EQ(corpus_chrf({"abc"}, {"xyz"}), 0.0);
  EXPECT_DOUBLE_EQ(corpus_chrf({""}, {"xyz"}), 0.0);
  const double partial = corpus_chrf({"Datei offnen"}, {"Datei öffnen"});
  EXPECT_GT(partial, 30.0);
  EXPECT_LT(partial, 90.0);
  testing::expect_error([] { corpus_chrf({"a"}, {}); }, "as many hypotheses as references");
}

TEST(Chrf, CountsCodePointsAndReplacesBadBytes) {
  EXPECT_EQ(utf8_code_points("aö€😀"), (std::u32string{U'a', U'ö', U'€', U'😀'}));
  EXPECT_EQ(utf8_code_points("a\xff"
                             "b"),
            (std::u32string{U'a', 0xfffd, U'b'}));
  EXPECT_EQ(utf8_code_points("\xc3"), (std::u32string{0xfffd})) << "truncated";
  EXPECT_EQ(utf8_code_points("\xc0\xaf"), (std::u32string{0xfffd, 0xfffd})) << "overlong";
  EXPECT_EQ(utf8_code_points("\xed\xa0\x80"), (std::u32string{0xfffd, 0xfffd, 0xfffd}))
      << "a surrogate";
}

}  // namespace
}  // namespace recur
