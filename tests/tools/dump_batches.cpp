// recur_dump_batches: the data order of `recur train`, as JSON lines, for comparing the Python
// port python_tools/tbptt_reference.py with the C++ batcher (test-only).
//
//   recur_dump_batches CORPUS bytes|chars VAL_FRACTION B T COUNT [VAL_TOKENS]
//
// Line 1: {"corpus_bytes", "vocabulary" (Vocabulary::to_json), "train": [begin, end],
//          "val": [begin, end], "shards": [[begin, end], ...]} of TextCorpus::split and the
//          training TbpttBatcher(train, B, T).
// Then COUNT lines, one per training batch: {"inputs": [[...]], "targets": [[...]],
//          "lengths": [...], "reset": [...], "tokens", "rows": state()["rows"] after the batch}.
// With VAL_TOKENS: one line {"val_rows", "val_shards"}, then the validation batches as
// CharLMTrainer::evaluate forms them (its loop, copied: rows = clamp(val_bytes / (4T), 1, B),
// targets of rows past their first pass ignored, stop at the end of every row's first pass or
// once VAL_TOKENS targets are counted; 0 = no limit), each {"inputs", "targets", "lengths",
// "reset", "tokens" (counted targets)}.
// Errors: one line on stderr, exit status 1; bad usage: exit status 2.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "datasets/tbptt_batcher.h"
#include "datasets/text_corpus.h"
#include "datasets/vocabulary.h"

namespace {

nlohmann::json range_json(const recur::TextRange& r) {
  return nlohmann::json::array({r.begin, r.end});
}

nlohmann::json batch_json(const recur::TextBatch& batch, int64_t rows, int64_t bptt,
                          int64_t tokens) {
  const int64_t* inputs = batch.inputs.data<int64_t>();
  const int64_t* targets = batch.targets.data<int64_t>();
  const int64_t* lengths = batch.lengths.data<int64_t>();
  nlohmann::json in = nlohmann::json::array(), tg = nlohmann::json::array();
  nlohmann::json len = nlohmann::json::array(), reset = nlohmann::json::array();
  for (int64_t b = 0; b < rows; ++b) {
    in.push_back(std::vector<int64_t>(inputs + b * bptt, inputs + (b + 1) * bptt));
    tg.push_back(std::vector<int64_t>(targets + b * bptt, targets + (b + 1) * bptt));
    len.push_back(lengths[b]);
    reset.push_back(static_cast<int>(batch.reset[static_cast<size_t>(b)]));
  }
  return {{"inputs", in}, {"targets", tg}, {"lengths", len}, {"reset", reset}, {"tokens", tokens}};
}

int run(int argc, char** argv) {
  const std::string path = argv[1], tokens = argv[2];
  const double val_fraction = std::stod(argv[3]);
  const int64_t batch = std::stoll(argv[4]), bptt = std::stoll(argv[5]);
  const int64_t count = std::stoll(argv[6]);
  const bool with_val = argc == 8;
  const int64_t val_tokens = with_val ? std::stoll(argv[7]) : 0;
  if (tokens != "bytes" && tokens != "chars") {
    std::fprintf(stderr, "recur_dump_batches: TOKENS must be bytes or chars, got '%s'\n",
                 tokens.c_str());
    return 2;
  }
  // As CharLMTrainer builds them: the vocabulary of the whole file, then the corpus.
  std::unique_ptr<recur::Vocabulary> vocab;
  if (tokens == "bytes") {
    vocab = std::make_unique<recur::Vocabulary>(recur::Vocabulary::bytes());
  } else {
    recur::MappedFile file(path);
    vocab = std::make_unique<recur::Vocabulary>(recur::Vocabulary::chars_of(file));
  }
  recur::TextCorpus corpus(path, *vocab);
  const auto [train, val] = corpus.split(val_fraction);
  recur::TbpttBatcher batcher(corpus, train, batch, bptt);

  nlohmann::json shards = nlohmann::json::array();
  for (const recur::TextRange& r : batcher.shards()) shards.push_back(range_json(r));
  nlohmann::json head = {{"corpus_bytes", corpus.bytes()},
                         {"vocabulary", vocab->to_json()},
                         {"train", range_json(train)},
                         {"val", range_json(val)},
                         {"shards", shards}};
  std::printf("%s\n", head.dump().c_str());
  for (int64_t i = 0; i < count; ++i) {
    recur::TextBatch b = batcher.next();
    nlohmann::json line = batch_json(b, batch, bptt, b.tokens);
    line["rows"] = batcher.state()["rows"];
    std::printf("%s\n", line.dump().c_str());
  }
  if (!with_val) return 0;

  // CharLMTrainer::evaluate's loop, without the model.
  const int64_t rows = std::clamp<int64_t>(val.bytes() / (4 * bptt), 1, batch);
  recur::TbpttBatcher vb(corpus, val, rows, bptt);
  nlohmann::json val_shards = nlohmann::json::array();
  for (const recur::TextRange& r : vb.shards()) val_shards.push_back(range_json(r));
  std::printf("%s\n",
              nlohmann::json({{"val_rows", rows}, {"val_shards", val_shards}}).dump().c_str());
  int64_t counted = 0;
  while (vb.epoch() < 1 && (val_tokens == 0 || counted < val_tokens)) {
    const std::vector<int64_t> passes = vb.rows_epochs();
    recur::TextBatch b = vb.next();
    int64_t* targets = b.targets.data<int64_t>();
    for (int64_t r = 0; r < rows; ++r)
      if (passes[r] >= 1)
        for (int64_t t = 0; t < bptt; ++t) targets[r * bptt + t] = -1;
    int64_t n = 0;
    for (int64_t k = 0; k < rows * bptt; ++k) n += targets[k] != -1;
    counted += n;
    std::printf("%s\n", batch_json(b, rows, bptt, n).dump().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr,
                 "usage: recur_dump_batches CORPUS bytes|chars VAL_FRACTION B T COUNT "
                 "[VAL_TOKENS]\n");
    return 2;
  }
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recur_dump_batches: %s\n", e.what());
    return 1;
  }
}
