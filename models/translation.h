// Using a Translator (models/translator.h) on a parallel corpus: its checkpoints, its
// teacher-forced loss, batched greedy translation, and the two baselines a translation model
// must beat: copying the source, and a translation memory (the target of the training pair whose
// source shares the most character trigrams with the sentence to translate).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/parallel_corpus.h"
#include "models/translator.h"

namespace recur {

inline constexpr char kTranslatorKind[] = "translator";

// The model of a checkpoint written by `recur translate`, placed at `where`. Throws naming the
// file when it is not a translator checkpoint or its tensors do not fit its config.
Translator load_translator(const std::string& path, const Placement& where = {});

// Mean cross-entropy per target token (EOS included) of `pairs` under teacher forcing, in
// batches of `batch` pairs (eval mode).
double translation_loss(Translator& model, const std::vector<TranslationPair>& pairs,
                        int64_t batch = 64);

// Translations of `sources` (non-empty byte strings) by Translator::translate (greedy by
// default), in their order; they run in batches of `batch` sources of similar length (batch x
// beam decoder rows).
std::vector<std::string> translate_all(Translator& model, const std::vector<std::string>& sources,
                                       int64_t batch = 64, const DecodeOptions& options = {});

// A translation memory over `memory`: for each source, the target of the memory pair whose source
// shares the most distinct character trigrams (bytes, lowercased ASCII) with it; ties go to the
// earlier pair; with nothing shared, the source itself.
std::vector<std::string> translation_memory(const std::vector<TranslationPair>& memory,
                                            const std::vector<std::string>& sources);

}  // namespace recur
