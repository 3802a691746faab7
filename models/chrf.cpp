#include "models/chrf.h"

#include <algorithm>
#include <array>
#include <map>

#include "core/error.h"

namespace recur {

namespace {

constexpr int kOrder = 6;
constexpr double kBeta = 2.0;

// Python's str.isspace(): the code points str.split() splits on.
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

// Decodes the sequence at text[i] and advances i past it; a bad byte gives U+FFFD and advances
// one byte.
char32_t next_code_point(const std::string& text, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  const int extra = (lead >> 5) == 0x6 ? 1 : (lead >> 4) == 0xe ? 2 : (lead >> 3) == 0x1e ? 3 : 0;
  char32_t c = lead & (0x3f >> extra);
  bool ok = extra > 0;
  for (int k = 1; ok && k <= extra; ++k) {
    ok = i + k < text.size() && (byte(i + k) & 0xc0) == 0x80;
    if (ok) c = (c << 6) | (byte(i + k) & 0x3f);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid too.
  static constexpr std::array<char32_t, 4> kSmallest = {0, 0x80, 0x800, 0x10000};
  ok = ok && c >= kSmallest[static_cast<size_t>(extra)] && (c < 0xd800 || c > 0xdfff) &&
       c <= 0x10ffff;
  i += ok ? static_cast<size_t>(extra) + 1 : 1;
  return ok ? c : char32_t{0xfffd};
}

struct OrderCounts {
  double hypothesis = 0, reference = 0, matched = 0;
};

std::map<std::u32string, int64_t> ngrams(const std::u32string& text, int n) {
  std::map<std::u32string, int64_t> counts;
  for (size_t i = 0; i + static_cast<size_t>(n) <= text.size(); ++i)
    ++counts[text.substr(i, static_cast<size_t>(n))];
  return counts;
}

std::u32string without_spaces(const std::string& text) {
  std::u32string out = utf8_code_points(text);
  out.erase(std::remove_if(out.begin(), out.end(), is_space), out.end());
  return out;
}

}  // namespace

std::u32string utf8_code_points(const std::string& text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) out.push_back(next_code_point(text, i));
  return out;
}

double corpus_chrf(const std::vector<std::string>& hypotheses,
                   const std::vector<std::string>& references) {
  RECUR_CHECK(hypotheses.size() == references.size(),
              "chrF: expected as many hypotheses as references, got {} and {}", hypotheses.size(),
              references.size());
  std::array<OrderCounts, kOrder> totals{};
  for (size_t s = 0; s < hypotheses.size(); ++s) {
    const std::u32string hyp = without_spaces(hypotheses[s]), ref = without_spaces(references[s]);
    for (int n = 1; n <= kOrder; ++n) {
      OrderCounts& t = totals[static_cast<size_t>(n - 1)];
      const auto h = ngrams(hyp, n), r = ngrams(ref, n);
      for (const auto& [gram, count] : h) {
        t.hypothesis += static_cast<double>(count);
        const auto it = r.find(gram);
        if (it != r.end()) t.matched += static_cast<double>(std::min(count, it->second));
      }
      for (const auto& [gram, count] : r) t.reference += static_cast<double>(count);
    }
  }
  double precision = 0, recall = 0;
  int effective = 0;
  for (const OrderCounts& t : totals) {
    if (t.hypothesis <= 0 || t.reference <= 0) continue;
    ++effective;
    precision += t.matched / t.hypothesis;
    recall += t.matched / t.reference;
  }
  if (effective == 0 || precision + recall <= 0) return 0.0;
  precision /= effective;
  recall /= effective;
  const double b2 = kBeta * kBeta;
  return 100.0 * (1 + b2) * precision * recall / (b2 * precision + recall);
}

}  // namespace recur
