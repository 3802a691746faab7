// ParallelCorpus: sentence pairs for translation (`recur translate`), one pair per line:
//   SOURCE<TAB>TARGET\n
// UTF-8 text without control characters on either side (a last line without \n is accepted).
// python_tools/datasets.py writes the `translations` corpus (English -> German messages of
// Debian's programs) in this format, as train.tsv, valid.tsv and test.tsv.
//
// Tokens are bytes. A target is read as BOS, its bytes, EOS (kBos = 0x02 and kEos = 0x03: control
// characters, which no pair holds).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace recur {

constexpr int64_t kBos = 0x02;            // start of a target
constexpr int64_t kEos = 0x03;            // end of a target
constexpr int64_t kIgnoredTarget = -100;  // padding of the target tokens (the loss skips it)

struct TranslationPair {
  std::string source, target;
};

// Reads every pair of `path`. Throws recur::Error naming the path and the line: an empty file, a
// line without exactly one TAB, an empty side, a control character.
std::vector<TranslationPair> read_parallel_corpus(const std::string& path);

// Pairs as a padded batch of byte tokens.
struct TranslationBatch {
  Tensor source;              // [B,S] i64: each source's bytes, then zeros
  Tensor source_lengths;      // [B] i64 in [1,S]; S is the longest
  Tensor target_in;           // [B,T] i64: BOS and the target's bytes, then zeros
  Tensor target_out;          // [B,T] i64: the target's bytes and EOS, then kIgnoredTarget
  Tensor target_lengths;      // [B] i64 in [1,T]: bytes + 1
  int64_t target_tokens = 0;  // sum of target_lengths: what the loss averages over
};
// pairs[i] for i in `chosen`; targets may be empty (a batch to translate has none).
TranslationBatch make_translation_batch(const std::vector<TranslationPair>& pairs,
                                        const std::vector<int64_t>& chosen);

// The sources of `sources` as a batch (the targets empty): for translating.
TranslationBatch make_source_batch(const std::vector<std::string_view>& sources);

}  // namespace recur
