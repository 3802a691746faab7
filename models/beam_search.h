// Beam search over a model's next-token scores, the bookkeeping only: which hypotheses live on,
// which are finished, and which state each row continues. The model (models/translator.h) runs
// its decoder over the rows and hands each step's logits here.
//
// Per source, with width K and length exponent alpha:
//   - A hypothesis is the tokens after BOS; its score is the sum of each token's log-softmax
//     (f64); it is finished when its last token is EOS or it holds max_tokens tokens. Its
//     normalised score is score / n^alpha, n its tokens (EOS included).
//   - It starts with one live hypothesis, the empty one.
//   - Each step, every live hypothesis h and token v give the candidate (h + v, score_h +
//     logp_h[v]). In order of score (highest first; ties: the earlier live hypothesis, then the
//     lower token), candidates are taken until K of them live on: a finished one (EOS, or
//     max_tokens reached) joins the source's finished list, any other becomes a live hypothesis.
//     At max_tokens every candidate is finished: the first K join the list.
//   - The source is done when K hypotheses are finished (or none lives). Its answer is the
//     finished hypothesis with the highest normalised score (ties: the one finished first).
// Width 1 is greedy decoding: the argmax each step (the lowest token on a tie), until EOS.
// The same rules are written in Python in python_tools/make_translator_fixture.py (beam_search).
#pragma once

#include <cstdint>
#include <vector>

namespace recur {

class BeamSearch {
 public:
  // `sources` sources, each with `width` rows; tokens are ids in [0, vocab) of the logits.
  // ASSUMPTION: sources, width, max_tokens >= 1, alpha >= 0; throws otherwise.
  BeamSearch(int64_t sources, int64_t width, int64_t max_tokens, double length_alpha, int64_t bos,
             int64_t eos);

  // Rows: source b's hypotheses are rows [b*width, (b+1)*width).
  int64_t rows() const { return static_cast<int64_t>(rows_.size()); }
  // [rows] the token each row feeds the decoder next: BOS, then its hypothesis' last token
  // (BOS in rows that hold no live hypothesis; their logits are ignored).
  std::vector<int64_t> next_tokens() const;
  // logits [rows, vocab] (row-major) for the next token of every row. Extends the hypotheses;
  // returns, for each row, the row whose decoder state it continues (itself where nothing
  // moved). Throws on a non-finite logit in a live row, naming it.
  std::vector<int64_t> advance(const double* logits, int64_t vocab);
  // Source `source`'s search is over (K hypotheses finished, or none lives): advance() no longer
  // reads its rows.
  bool source_done(int64_t source) const;
  // Every source is done.
  bool done() const;
  // Each source's answer: the tokens of its best finished hypothesis, EOS dropped.
  std::vector<std::vector<int64_t>> best() const;

 private:
  struct Hypothesis {
    std::vector<int64_t> tokens;
    double score = 0;  // sum of log-probabilities
  };
  struct Finished {
    std::vector<int64_t> tokens;  // EOS dropped
    double normalised = 0;
  };
  void advance_source(int64_t source, const double* logits, int64_t vocab,
                      std::vector<int64_t>& parents);
  double normalised(double score, int64_t tokens) const;

  int64_t sources_, width_, max_tokens_;
  double alpha_;
  int64_t bos_, eos_;
  int64_t step_ = 0;
  std::vector<Hypothesis> rows_;             // [rows]; live where tokens.size() == step_
  std::vector<int64_t> live_;                // [sources] live hypotheses of each (rows b*K..)
  std::vector<std::vector<Finished>> done_;  // [sources]
};

}  // namespace recur
