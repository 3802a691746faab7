// chrF (Popović, 2015): the character n-gram F-score that machine translation is measured with,
// corpus-level, as sacrebleu 2's default CHRF computes it (char order 6, no word n-grams,
// beta 2, whitespace dropped): for each order n = 1..6 the hypotheses' n-grams, the references'
// and their clipped matches are summed over all sentences; P and R are the means of P_n and R_n
// over the orders where both sums are non-zero, and the score is 100 (1 + b^2) P R / (b^2 P + R)
// (0 when no order counts, or P + R = 0). Characters are Unicode code
// points of the UTF-8 text (an invalid byte counts as U+FFFD); whitespace is what Python's
// str.split() splits on. python_tools/chrf.py is the same function; tests/data/chrf_cases.json
// holds its scores, which tests/models/chrf_test.cpp compares with this one.
#pragma once

#include <string>
#include <vector>

namespace recur {

// hypotheses[i] is scored against references[i]; both lists have one size.
double corpus_chrf(const std::vector<std::string>& hypotheses,
                   const std::vector<std::string>& references);

// The code points of UTF-8 `text` (invalid or truncated sequences give U+FFFD per byte).
std::u32string utf8_code_points(const std::string& text);

}  // namespace recur
