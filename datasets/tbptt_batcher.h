// TbpttBatcher: [B,T] batches of token ids from a range of a TextCorpus for truncated
// backpropagation through time, each batch row continuing where it stopped in the last batch.
//
// The range is cut into B contiguous shards: row r owns bytes
// [begin + r*len/B, begin + (r+1)*len/B), each inner boundary snapped forward to a token boundary.
// Each row walks its shard with a byte cursor. A document is the text up to and including its RS,
// or up to the end of the shard. At its cursor a row emits the inputs x_0, x_1, ... and as
// targets the token after each input, never crossing the end of the document:
//   - the last input of a document is the token just before its RS, so RS is a target, never an
//     input; a lone RS (an empty document) yields nothing and is skipped;
//   - at a shard end without RS, the last token of the shard is only a target;
//   - a row's chunk stops early (length L < T) where its document ends; the rest of that row is
//     padding (inputs 0, targets -1), and the next batch starts the row's next document with
//     reset = 1 (the carried recurrent state of that row must be zeroed first);
//   - the first chunk of a shard has reset = 1; when a row has used up its shard it wraps to the
//     start of it (the row's next epoch), again with reset = 1.
// Over one pass, a row's valid inputs are exactly its shard's tokens minus the RS tokens and
// minus the shard's final token when that is not RS, each once, in order.
//
// The batcher keeps a reference to the corpus, which must outlive it. state()/restore() save and
// resume the position exactly.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/tensor.h"
#include "datasets/text_corpus.h"

namespace recur {

struct TextBatch {
  Tensor inputs;   // [B,T] i64: token ids; 0 at padded steps
  Tensor targets;  // [B,T] i64: the token after each input in the file; -1 (ignore) at padded steps
  Tensor lengths;  // [B] i64 in [1,T]: valid steps of each row (a prefix of the row)
  std::vector<uint8_t> reset;  // [B]: 1 when the row starts a new document (or shard, or epoch)
                               // here, so its carried recurrent state must be zeroed first
  int64_t tokens = 0;          // real (non-padded) targets in the batch: the sum of lengths
};

class TbpttBatcher {
 public:
  // Throws recur::Error when batch or bptt < 1, the range is not within the corpus or its ends
  // are not token boundaries, or a shard would hold no input ("range of N bytes is too small for
  // B=64 streams").
  TbpttBatcher(const TextCorpus& corpus, TextRange range, int64_t batch, int64_t bptt);

  TextBatch next();

  int64_t batch() const { return batch_; }
  int64_t bptt() const { return bptt_; }
  TextRange range() const { return range_; }
  // The byte range of each row's shard, in row order; they tile range() exactly.
  std::vector<TextRange> shards() const;
  // The smallest number of completed passes over its shard of any row.
  int64_t epoch() const;
  // Completed passes of each row; a pass completes with the batch that holds its last input.
  std::vector<int64_t> rows_epochs() const;

  // The position (each row's cursor, completed passes and pending reset) with what identifies
  // this batcher (corpus size and vocabulary, range, B, T), as JSON.
  nlohmann::json state() const;
  // Resumes from state(); throws recur::Error naming the mismatch when the state belongs to a
  // different corpus size, vocabulary, range, B or T, or is malformed. On error nothing changes.
  void restore(const nlohmann::json& state);

 private:
  struct Row {
    int64_t begin = 0;   // shard start
    int64_t end = 0;     // shard end
    int64_t cursor = 0;  // the next input; always a valid input start between batches
    int64_t epochs = 0;  // completed passes
    bool reset = true;   // the next chunk starts a document, shard or pass
  };
  // Moves a row's cursor to the next token that can be an input, skipping lone RS tokens and
  // wrapping (with a completed pass) when the shard has no input left.
  void settle(Row& row) const;
  // Whether a shard holds at least one input: a non-RS token followed by another token in it.
  bool has_input(int64_t begin, int64_t end) const;
  // Writes one row's chunk into inputs/targets [T] and returns its length, advancing the row.
  int64_t fill_row(Row& row, int64_t* inputs, int64_t* targets) const;

  const TextCorpus& corpus_;
  TextRange range_;
  int64_t batch_;
  int64_t bptt_;
  std::vector<Row> rows_;
};

}  // namespace recur
