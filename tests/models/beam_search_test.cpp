// BeamSearch (models/beam_search.h) driven by a synthetic scorer: width 1 is greedy, a width
// that prunes nothing finds the best of every possible output, sources do not interact, and bad
// input is refused. Each row's "decoder state" is its prefix, carried through the parents the
// search returns, as Translator carries its RNN state; a wrong parent scores the wrong prefix.
#include "models/beam_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "support/expect_error.h"

namespace recur {
namespace {

using testing::expect_error;

constexpr int64_t kBos = 2, kEos = 3;

// A fixed pseudo-random logit in [-3, 3] for (source, prefix fed so far, next token).
double synthetic_logit(int64_t source, const std::vector<int64_t>& prefix, int64_t token) {
  uint64_t x = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(source + 1);
  for (int64_t t : prefix) x = (x ^ static_cast<uint64_t>(t + 7)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ static_cast<uint64_t>(token + 11)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return 6.0 * static_cast<double>(x >> 11) / 9007199254740992.0 - 3.0;
}

using Scorer = std::function<double(int64_t, const std::vector<int64_t>&, int64_t)>;

// Runs the search to the end; row r's logits come from the prefix its state holds. The rows of
// sources already done get NaN logits, which advance() would refuse if it read them (Translator
// drops those rows from its batch); `done_rows` counts them.
std::vector<std::vector<int64_t>> run_search(BeamSearch& search, int64_t width, int64_t vocab,
                                             const Scorer& score, int64_t* done_rows = nullptr) {
  std::vector<std::vector<int64_t>> state(static_cast<size_t>(search.rows()));
  std::vector<double> logits(state.size() * static_cast<size_t>(vocab));
  while (!search.done()) {
    const std::vector<int64_t> tokens = search.next_tokens();
    for (size_t r = 0; r < state.size(); ++r) {
      if (search.source_done(static_cast<int64_t>(r) / width)) {
        std::fill_n(logits.begin() + static_cast<ptrdiff_t>(r) * vocab, vocab, std::nan(""));
        if (done_rows != nullptr) ++*done_rows;
        continue;
      }
      state[r].push_back(tokens[r]);
      for (int64_t v = 0; v < vocab; ++v)
        logits[r * static_cast<size_t>(vocab) + static_cast<size_t>(v)] =
            score(static_cast<int64_t>(r) / width, state[r], v);
    }
    const std::vector<int64_t> parents = search.advance(logits.data(), vocab);
    std::vector<std::vector<int64_t>> next(state.size());
    for (size_t r = 0; r < state.size(); ++r) next[r] = state[static_cast<size_t>(parents[r])];
    state = std::move(next);
  }
  return search.best();
}

double log_softmax(int64_t source, const std::vector<int64_t>& prefix, int64_t token,
                   int64_t vocab) {
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(synthetic_logit(source, prefix, v));
  return synthetic_logit(source, prefix, token) - std::log(sum);
}

// Every output of at most max_tokens tokens (ending with EOS, or cut off at max_tokens), ranked
// by log-probability / tokens^alpha: the best one's tokens, EOS dropped.
std::vector<int64_t> exhaustive_best(int64_t source, int64_t vocab, int64_t max_tokens,
                                     double alpha) {
  double best_score = -std::numeric_limits<double>::infinity();
  std::vector<int64_t> best, output;
  std::function<void(std::vector<int64_t>&, double)> visit = [&](std::vector<int64_t>& fed,
                                                                 double score) {
    for (int64_t v = 0; v < vocab; ++v) {
      const double s = score + log_softmax(source, fed, v, vocab);
      const auto n = static_cast<int64_t>(fed.size());  // tokens, this one included
      if (v == kEos || n == max_tokens) {
        const double normalised = s / std::pow(static_cast<double>(n), alpha);
        if (normalised > best_score) {
          best_score = normalised;
          best.assign(fed.begin() + 1, fed.end());
          if (v != kEos) best.push_back(v);
        }
        continue;
      }
      fed.push_back(v);
      visit(fed, s);
      fed.pop_back();
    }
  };
  std::vector<int64_t> fed = {kBos};
  visit(fed, 0.0);
  return best;
}

TEST(BeamSearch, WidthOneIsGreedy) {
  const int64_t vocab = 9, max_tokens = 12;
  BeamSearch search(4, 1, max_tokens, 1.0, kBos, kEos);
  const auto found = run_search(search, 1, vocab, synthetic_logit);
  for (int64_t b = 0; b < 4; ++b) {
    std::vector<int64_t> fed = {kBos}, greedy;
    for (int64_t step = 0; step < max_tokens; ++step) {
      int64_t top = 0;
      for (int64_t v = 1; v < vocab; ++v)
        if (synthetic_logit(b, fed, v) > synthetic_logit(b, fed, top)) top = v;
      if (top == kEos) break;
      greedy.push_back(top);
      fed.push_back(top);
    }
    EXPECT_EQ(found[static_cast<size_t>(b)], greedy) << "source " << b;
  }
}

// With room for every hypothesis nothing is pruned: the search finds the best possible output.
TEST(BeamSearch, AWidthThatPrunesNothingFindsTheBestOutput) {
  const int64_t vocab = 4, max_tokens = 4;  // 40 outputs end with EOS, 81 are cut off
  for (double alpha : {0.0, 0.5, 1.0, 2.0}) {
    BeamSearch search(3, 128, max_tokens, alpha, kBos, kEos);
    const auto found = run_search(search, 128, vocab, synthetic_logit);
    for (int64_t b = 0; b < 3; ++b)
      EXPECT_EQ(found[static_cast<size_t>(b)], exhaustive_best(b, vocab, max_tokens, alpha))
          << "source " << b << ", alpha " << alpha;
  }
}

// Each source's answer is the same searched alone or beside others.
TEST(BeamSearch, SourcesAreIndependent) {
  const int64_t vocab = 6, max_tokens = 10, width = 3;
  BeamSearch together(5, width, max_tokens, 1.0, kBos, kEos);
  int64_t done_rows = 0;
  const auto all = run_search(together, width, vocab, synthetic_logit, &done_rows);
  EXPECT_GT(done_rows, 0) << "some sources must finish before others";
  for (int64_t b = 0; b < 5; ++b) {
    BeamSearch alone(1, width, max_tokens, 1.0, kBos, kEos);
    const auto one = run_search(alone, width, vocab, [b](int64_t, const auto& prefix, int64_t v) {
      return synthetic_logit(b, prefix, v);
    });
    EXPECT_EQ(one[0], all[static_cast<size_t>(b)]) << "source " << b;
    EXPECT_LE(static_cast<int64_t>(one[0].size()), max_tokens);
  }
}

TEST(BeamSearch, StopsAtMaxTokens) {
  // EOS never wins: every hypothesis is cut off at max_tokens.
  const Scorer no_eos = [](int64_t, const std::vector<int64_t>& prefix, int64_t v) {
    return v == kEos ? -50.0 : synthetic_logit(0, prefix, v);
  };
  BeamSearch search(2, 4, 5, 1.0, kBos, kEos);
  const auto found = run_search(search, 4, 8, no_eos);
  for (const auto& tokens : found) EXPECT_EQ(tokens.size(), 5u);
  expect_error(
      [&] {
        std::vector<double> l(8 * 8);
        search.advance(l.data(), 8);
      },
      "already at max_tokens");
}

TEST(BeamSearch, RefusesBadInput) {
  expect_error([] { BeamSearch(1, 0, 5, 1.0, kBos, kEos); }, "expected at least one source");
  expect_error([] { BeamSearch(1, 2, 5, -1.0, kBos, kEos); }, "length exponent >= 0");
  BeamSearch search(1, 2, 5, 1.0, kBos, kEos);
  std::vector<double> logits(2 * 6, 0.0);
  logits[4] = std::nan("");
  expect_error([&] { search.advance(logits.data(), 6); },
               "expected finite logits, got nan at row 0");
  expect_error([&] { search.advance(logits.data(), 3); }, "expected a vocabulary above 3");
  expect_error([&] { (void)search.source_done(1); }, "no source 1 of 1");
}

}  // namespace
}  // namespace recur
