#include "models/beam_search.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace recur {

BeamSearch::BeamSearch(int64_t sources, int64_t width, int64_t max_tokens, double length_alpha,
                       int64_t bos, int64_t eos)
    : sources_(sources),
      width_(width),
      max_tokens_(max_tokens),
      alpha_(length_alpha),
      bos_(bos),
      eos_(eos) {
  RECUR_CHECK(sources >= 1 && width >= 1 && max_tokens >= 1,
              "beam search: expected at least one source, width and token, got {}, {}, {}", sources,
              width, max_tokens);
  RECUR_CHECK(std::isfinite(length_alpha) && length_alpha >= 0,
              "beam search: expected a length exponent >= 0, got {}", length_alpha);
  rows_.resize(static_cast<size_t>(sources * width));
  live_.assign(static_cast<size_t>(sources), 1);  // the empty hypothesis in each source's row 0
  done_.resize(static_cast<size_t>(sources));
}

std::vector<int64_t> BeamSearch::next_tokens() const {
  std::vector<int64_t> tokens(rows_.size(), bos_);
  for (int64_t b = 0; b < sources_; ++b)
    for (int64_t k = 0; k < live_[static_cast<size_t>(b)]; ++k) {
      const Hypothesis& h = rows_[static_cast<size_t>(b * width_ + k)];
      if (!h.tokens.empty()) tokens[static_cast<size_t>(b * width_ + k)] = h.tokens.back();
    }
  return tokens;
}

double BeamSearch::normalised(double score, int64_t tokens) const {
  return score / std::pow(static_cast<double>(tokens), alpha_);
}

bool BeamSearch::source_done(int64_t source) const {
  RECUR_CHECK(source >= 0 && source < sources_, "beam search: no source {} of {}", source,
              sources_);
  return live_[static_cast<size_t>(source)] == 0 ||
         static_cast<int64_t>(done_[static_cast<size_t>(source)].size()) >= width_;
}

bool BeamSearch::done() const {
  for (int64_t b = 0; b < sources_; ++b)
    if (!source_done(b)) return false;
  return true;
}

std::vector<int64_t> BeamSearch::advance(const double* logits, int64_t vocab) {
  RECUR_CHECK(vocab > std::max(bos_, eos_), "beam search: expected a vocabulary above {}, got {}",
              std::max(bos_, eos_), vocab);
  RECUR_CHECK(step_ < max_tokens_, "beam search: already at max_tokens ({})", max_tokens_);
  std::vector<int64_t> parents(rows_.size());
  for (size_t r = 0; r < parents.size(); ++r) parents[r] = static_cast<int64_t>(r);
  for (int64_t b = 0; b < sources_; ++b)
    if (!source_done(b)) advance_source(b, logits, vocab, parents);
  ++step_;
  return parents;
}

void BeamSearch::advance_source(int64_t source, const double* logits, int64_t vocab,
                                std::vector<int64_t>& parents) {
  struct Candidate {
    double score;
    int64_t from;  // live hypothesis index within the source
    int64_t token;
  };
  const int64_t first_row = source * width_, live = live_[static_cast<size_t>(source)];
  std::vector<Candidate> candidates;
  candidates.reserve(static_cast<size_t>(live * vocab));
  for (int64_t k = 0; k < live; ++k) {
    const double* row = logits + (first_row + k) * vocab;
    double top = row[0];
    for (int64_t v = 0; v < vocab; ++v) {
      RECUR_CHECK(std::isfinite(row[v]),
                  "beam search: expected finite logits, got {} at row {}, token {}, step {}",
                  row[v], first_row + k, v, step_);
      top = std::max(top, row[v]);
    }
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - top);
    const double log_norm = top + std::log(sum);  // log-softmax = logit - log_norm
    const double base = rows_[static_cast<size_t>(first_row + k)].score;
    for (int64_t v = 0; v < vocab; ++v) candidates.push_back({base + (row[v] - log_norm), k, v});
  }
  // At most 2K are needed: each live hypothesis has one EOS candidate, so the first 2K hold K
  // that live on.
  const auto needed =
      static_cast<ptrdiff_t>(std::min<size_t>(candidates.size(), static_cast<size_t>(2 * width_)));
  std::partial_sort(candidates.begin(), candidates.begin() + needed, candidates.end(),
                    [](const Candidate& a, const Candidate& b) {
                      if (a.score != b.score) return a.score > b.score;
                      return a.from != b.from ? a.from < b.from : a.token < b.token;
                    });

  const bool last_step = step_ + 1 == max_tokens_;
  std::vector<Finished>& finished = done_[static_cast<size_t>(source)];
  std::vector<Hypothesis> next;
  std::vector<int64_t> next_parents;
  int64_t taken_finished = 0;
  for (ptrdiff_t i = 0; i < needed; ++i) {
    const Candidate& c = candidates[static_cast<size_t>(i)];
    const Hypothesis& from = rows_[static_cast<size_t>(first_row + c.from)];
    const auto n = static_cast<int64_t>(from.tokens.size()) + 1;
    if (c.token == eos_ || last_step) {
      Finished f{from.tokens, normalised(c.score, n)};
      if (c.token != eos_) f.tokens.push_back(c.token);
      finished.push_back(std::move(f));
      if (last_step && ++taken_finished == width_) break;
      continue;
    }
    Hypothesis h{from.tokens, c.score};
    h.tokens.push_back(c.token);
    next.push_back(std::move(h));
    next_parents.push_back(first_row + c.from);
    if (static_cast<int64_t>(next.size()) == width_) break;
  }
  live_[static_cast<size_t>(source)] = static_cast<int64_t>(next.size());
  for (size_t j = 0; j < next.size(); ++j) {
    rows_[static_cast<size_t>(first_row) + j] = std::move(next[j]);
    parents[static_cast<size_t>(first_row) + j] = next_parents[j];
  }
}

std::vector<std::vector<int64_t>> BeamSearch::best() const {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(sources_));
  for (int64_t b = 0; b < sources_; ++b) {
    const std::vector<Finished>& finished = done_[static_cast<size_t>(b)];
    if (finished.empty()) continue;  // not done yet
    const Finished* top = &finished[0];
    for (const Finished& f : finished)
      if (f.normalised > top->normalised) top = &f;
    out[static_cast<size_t>(b)] = top->tokens;
  }
  return out;
}

}  // namespace recur
