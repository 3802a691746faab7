// TbpttBatcher: shards, the per-row walk over documents, and the saved position.
#include "datasets/tbptt_batcher.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace recur {

namespace {

constexpr int kStateVersion = 1;

// The integer json[key], or a recur::Error naming `where` and what was found.
int64_t integer_field(const nlohmann::json& json, const char* key, const std::string& where) {
  RECUR_CHECK(json.is_object() && json.contains(key) && json[key].is_number_integer(),
              "batcher state: expected an integer \"{}\" in {}, got {}", key, where,
              json.is_object() && json.contains(key) ? json[key].dump() : "none");
  return json[key].get<int64_t>();
}

}  // namespace

TbpttBatcher::TbpttBatcher(const TextCorpus& corpus, TextRange range, int64_t batch, int64_t bptt)
    : corpus_(corpus), range_(range), batch_(batch), bptt_(bptt) {
  RECUR_CHECK(batch >= 1 && bptt >= 1,
              "TbpttBatcher: expected batch B >= 1 and bptt T >= 1, got B={} T={}", batch, bptt);
  RECUR_CHECK(0 <= range.begin && range.begin < range.end && range.end <= corpus.bytes(),
              "TbpttBatcher: expected a non-empty range within [0, {}) of corpus '{}', got "
              "[{}, {})",
              corpus.bytes(), corpus.path(), range.begin, range.end);
  // ASSUMPTION: the range ends at token boundaries, so no token straddles a shard end.
  RECUR_CHECK(corpus.is_token_boundary(range.begin) && corpus.is_token_boundary(range.end),
              "TbpttBatcher: range [{}, {}) of corpus '{}' must begin and end at token "
              "boundaries, not inside a UTF-8 sequence",
              range.begin, range.end, corpus.path());
  const int64_t len = range.bytes();
  std::vector<int64_t> bounds(static_cast<size_t>(batch) + 1);
  for (int64_t r = 0; r <= batch; ++r) {
    const auto cut = static_cast<int64_t>(static_cast<__int128>(r) * len / batch);
    bounds[r] = (r == 0 || r == batch) ? range.begin + cut
                                       : corpus.token_boundary_at_or_after(range.begin + cut);
  }
  rows_.resize(static_cast<size_t>(batch));
  for (int64_t r = 0; r < batch; ++r) {
    Row& row = rows_[r];
    row.begin = row.cursor = bounds[r];
    row.end = bounds[r + 1];
    RECUR_CHECK(row.begin < row.end && has_input(row.begin, row.end),
                "range of {} bytes is too small for B={} streams: stream {} gets bytes [{}, {}), "
                "which hold no input (a token followed by another of the same document)",
                len, batch, r, row.begin, row.end);
    settle(row);
  }
}

bool TbpttBatcher::has_input(int64_t begin, int64_t end) const {
  for (int64_t p = begin; p < end;) {
    const Token token = corpus_.next(p);
    if (!token.separator && p < end) return true;
  }
  return false;
}

void TbpttBatcher::settle(Row& row) const {
  // Terminates: the constructor checked that every shard holds an input.
  int64_t p = row.cursor;
  for (;;) {
    if (p >= row.end) {  // the shard is used up: the next pass starts
      p = row.begin;
      ++row.epochs;
      row.reset = true;
      continue;
    }
    int64_t after = p;
    const Token token = corpus_.next(after);
    if (token.separator) {  // a lone RS: an empty document
      p = after;
      row.reset = true;
      continue;
    }
    if (after >= row.end) {  // the shard's last token, not RS: only a target
      p = row.end;
      continue;
    }
    break;
  }
  row.cursor = p;
}

int64_t TbpttBatcher::fill_row(Row& row, int64_t* inputs, int64_t* targets) const {
  int64_t p = row.cursor;
  Token input = corpus_.next(p);  // p is now at the input's target
  int64_t t = 0;
  for (;;) {
    const int64_t target_at = p;
    const Token target = corpus_.next(p);
    inputs[t] = input.id;
    targets[t] = target.id;
    ++t;
    if (target.separator) {  // the document ends: the next chunk starts the next one
      row.cursor = p;
      row.reset = true;
      break;
    }
    if (p >= row.end) {  // the shard ends without RS; settle() wraps
      row.cursor = row.end;
      row.reset = true;
      break;
    }
    if (t == bptt_) {  // the document goes on in the next batch, with the state carried
      row.cursor = target_at;
      row.reset = false;
      break;
    }
    input = target;
  }
  settle(row);
  return t;
}

TextBatch TbpttBatcher::next() {
  TextBatch out;
  out.inputs = Tensor::zeros({batch_, bptt_}, DType::i64);
  out.targets = Tensor::full({batch_, bptt_}, -1.0, DType::i64);
  out.lengths = Tensor::empty({batch_}, DType::i64);
  out.reset.resize(static_cast<size_t>(batch_));
  int64_t* inputs = out.inputs.data<int64_t>();
  int64_t* targets = out.targets.data<int64_t>();
  int64_t* lengths = out.lengths.data<int64_t>();
  // Rows advance on a copy, committed at the end: a corpus error (invalid UTF-8 deep in the
  // file) leaves the batcher where it was.
  std::vector<Row> rows = rows_;
  for (int64_t b = 0; b < batch_; ++b) {
    out.reset[b] = rows[b].reset ? 1 : 0;
    lengths[b] = fill_row(rows[b], inputs + b * bptt_, targets + b * bptt_);
    out.tokens += lengths[b];
  }
  rows_ = std::move(rows);
  return out;
}

std::vector<TextRange> TbpttBatcher::shards() const {
  std::vector<TextRange> out;
  out.reserve(rows_.size());
  for (const Row& row : rows_) out.push_back({row.begin, row.end});
  return out;
}

int64_t TbpttBatcher::epoch() const {
  int64_t smallest = rows_.front().epochs;
  for (const Row& row : rows_) smallest = std::min(smallest, row.epochs);
  return smallest;
}

std::vector<int64_t> TbpttBatcher::rows_epochs() const {
  std::vector<int64_t> out;
  out.reserve(rows_.size());
  for (const Row& row : rows_) out.push_back(row.epochs);
  return out;
}

nlohmann::json TbpttBatcher::state() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& row : rows_)
    rows.push_back({{"cursor", row.cursor}, {"epochs", row.epochs}, {"reset", row.reset}});
  const Vocabulary& vocabulary = corpus_.vocabulary();
  return {{"version", kStateVersion},
          {"corpus_bytes", corpus_.bytes()},
          {"vocabulary", vocabulary.is_bytes() ? "bytes" : "chars"},
          {"vocabulary_size", vocabulary.size()},
          {"range", {range_.begin, range_.end}},
          {"batch", batch_},
          {"bptt", bptt_},
          {"rows", std::move(rows)}};
}

void TbpttBatcher::restore(const nlohmann::json& state) {
  RECUR_CHECK(state.is_object(), "batcher state: expected an object, got {}", state.type_name());
  const int64_t version = integer_field(state, "version", "the state");
  RECUR_CHECK(version == kStateVersion, "batcher state: expected version {}, got {}", kStateVersion,
              version);
  const int64_t corpus_bytes = integer_field(state, "corpus_bytes", "the state");
  RECUR_CHECK(corpus_bytes == corpus_.bytes(),
              "batcher state: saved for a corpus of {} bytes, but corpus '{}' has {} bytes",
              corpus_bytes, corpus_.path(), corpus_.bytes());
  const Vocabulary& vocabulary = corpus_.vocabulary();
  const std::string kind = vocabulary.is_bytes() ? "bytes" : "chars";
  const int64_t vocabulary_size = integer_field(state, "vocabulary_size", "the state");
  RECUR_CHECK(state.contains("vocabulary") && state["vocabulary"] == kind &&
                  vocabulary_size == vocabulary.size(),
              "batcher state: saved with a {} vocabulary of {} symbols, this corpus uses a {} "
              "vocabulary of {}",
              state.contains("vocabulary") ? state["vocabulary"].dump() : "missing",
              vocabulary_size, kind, vocabulary.size());
  const nlohmann::json expected_range = {range_.begin, range_.end};
  RECUR_CHECK(state.contains("range") && state["range"] == expected_range,
              "batcher state: saved for range {}, this batcher reads range {}",
              state.contains("range") ? state["range"].dump() : "missing", expected_range.dump());
  const int64_t batch = integer_field(state, "batch", "the state");
  const int64_t bptt = integer_field(state, "bptt", "the state");
  RECUR_CHECK(batch == batch_ && bptt == bptt_,
              "batcher state: saved for B={} T={}, this batcher has B={} T={}", batch, bptt, batch_,
              bptt_);
  RECUR_CHECK(state.contains("rows") && state["rows"].is_array() &&
                  state["rows"].size() == static_cast<size_t>(batch_),
              "batcher state: expected an array \"rows\" of {} rows", batch_);

  std::vector<Row> rows = rows_;
  for (int64_t r = 0; r < batch_; ++r) {
    const nlohmann::json& saved = state["rows"][r];
    const std::string where = fmt::format("rows[{}]", r);
    Row& row = rows[r];
    row.cursor = integer_field(saved, "cursor", where);
    row.epochs = integer_field(saved, "epochs", where);
    RECUR_CHECK(saved.contains("reset") && saved["reset"].is_boolean(),
                "batcher state: expected a boolean \"reset\" in {}", where);
    row.reset = saved["reset"].get<bool>();
    RECUR_CHECK(row.epochs >= 0, "batcher state: {} has {} epochs, expected >= 0", where,
                row.epochs);
    RECUR_CHECK(
        row.begin <= row.cursor && row.cursor < row.end && corpus_.is_token_boundary(row.cursor),
        "batcher state: {} has cursor {}, expected a token boundary in its shard "
        "[{}, {})",
        where, row.cursor, row.begin, row.end);
    Row settled = row;
    settle(settled);
    RECUR_CHECK(settled.cursor == row.cursor,
                "batcher state: {} has cursor {}, which is not the start of an input (the next "
                "is at {})",
                where, row.cursor, settled.cursor);
  }
  rows_ = std::move(rows);
}

}  // namespace recur
