// Helpers for the text dataset tests: writing corpus files, generating random corpora of
// documents (with multi-byte UTF-8 and lone separators), and checking recur::Error messages.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "support/expect_error.h"

namespace recur::testing {

inline const std::string kRS = "\x1e";

inline void write_text_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Random documents of symbols drawn from `pool`, each followed by RS; lengths (in symbols) are
// uniform in [0, max_symbols], so some documents are a lone RS. Without `final_separator` the
// last document has no RS after it.
inline std::string random_corpus(uint32_t seed, int documents, int max_symbols,
                                 const std::vector<std::string>& pool,
                                 bool final_separator = true) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> length(0, max_symbols);
  std::uniform_int_distribution<size_t> symbol(0, pool.size() - 1);
  std::string text;
  for (int d = 0; d < documents; ++d) {
    const int n = length(rng);
    for (int i = 0; i < n; ++i) text += pool[symbol(rng)];
    if (d + 1 < documents || final_separator) text += kRS;
  }
  return text;
}

inline const std::vector<std::string>& ascii_pool() {
  static const std::vector<std::string> pool = {"a", "b", "c", " ", "\n", "x", "y", "."};
  return pool;
}

// é (2 bytes), 中 (3 bytes), 😀 (4 bytes) beside ASCII.
inline const std::vector<std::string>& multibyte_pool() {
  static const std::vector<std::string> pool = {
      "a", "b", " ", "\n", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80"};
  return pool;
}

}  // namespace recur::testing
