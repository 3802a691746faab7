"""Tests of python_tools/chrf.py (corpus chrF as sacrebleu 2.x computes it by default) and of its
fixture tests/data/chrf_cases.json, which recur's C++ chrF is checked against.

Run from the repository root:
    /usr/bin/python3 -B -m unittest python_tools/tests/test_chrf.py -v
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import chrf  # noqa: E402

try:
    from sacrebleu.metrics import CHRF  # not in Debian; only used when present
except ImportError:
    CHRF = None


class ChrfTest(unittest.TestCase):
    def test_identical_is_100(self):
        self.assertEqual(chrf.corpus_chrf(["Datei nicht gefunden"], ["Datei nicht gefunden"]), 100)
        self.assertEqual(chrf.corpus_chrf(["a", "xyz"], ["a", "xyz"]), 100)

    def test_disjoint_is_0(self):
        self.assertEqual(chrf.corpus_chrf(["abc"], ["xyz"]), 0)

    def test_nothing_to_count_is_0(self):
        self.assertEqual(chrf.corpus_chrf([], []), 0)
        self.assertEqual(chrf.corpus_chrf([""], ["abc"]), 0)
        self.assertEqual(chrf.corpus_chrf(["abc"], [" "]), 0)

    def test_short_case_by_hand(self):
        # hyp "abcd", ref "abd":
        #   n=1: hyp a b c d (4), ref a b d (3), matched a b d: 3
        #   n=2: hyp ab bc cd (3), ref ab bd (2), matched ab: 1
        #   n=3: hyp abc bcd (2), ref abd (1), matched 0
        #   n=4: hyp abcd (1), ref none (0): order left out;  n=5, 6: none on either side
        # P = (3/4 + 1/3 + 0) / 3 = 13/36, R = (3/3 + 1/2 + 0) / 3 = 1/2
        # F2 = 5 P R / (4 P + R) = (65/72) / (70/36) = 13/28
        self.assertEqual(chrf.corpus_stats(["abcd"], ["abd"]),
                         [[4, 3, 3], [3, 2, 1], [2, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
        self.assertAlmostEqual(chrf.corpus_chrf(["abcd"], ["abd"]), 100 * 13 / 28, places=12)

    def test_f_of_averages_not_average_of_f(self):
        # hyp "ab", ref "abc": n=1 (2,3,2): P 1, R 2/3; n=2 (1,2,1): P 1, R 1/2.
        # sacrebleu's default: P = 1, R = 7/12, F2 = 5 (7/12) / (4 + 7/12) = 7/11.
        # The mean of the per-order F2 (5/7 and 5/9) would be 40/63 instead.
        self.assertAlmostEqual(chrf.corpus_chrf(["ab"], ["abc"]), 100 * 7 / 11, places=12)
        self.assertNotAlmostEqual(chrf.corpus_chrf(["ab"], ["abc"]), 100 * 40 / 63, places=6)

    def test_corpus_sums_counts_before_scoring(self):
        # "aa" vs "aa": n=1 (2,2,2), n=2 (1,1,1); "b" vs "c": n=1 (1,1,0). Sums: n=1 (3,3,2),
        # n=2 (1,1,1): P = R = (2/3 + 1) / 2 = 5/6, so F = 5/6 (not the mean of 100 and 0).
        self.assertAlmostEqual(chrf.corpus_chrf(["aa", "b"], ["aa", "c"]), 100 * 5 / 6, places=12)

    def test_clipped_matches(self):
        # "aaa" vs "a": n=1 hyp 3, ref 1, matched min(3,1) = 1; n=2: hyp 2, ref 0 (left out).
        # P = 1/3, R = 1: F = 5 (1/3) / (4/3 + 1) = 5/7.
        self.assertAlmostEqual(chrf.corpus_chrf(["aaa"], ["a"]), 100 * 5 / 7, places=12)

    def test_whitespace_is_removed_including_unicode_spaces(self):
        self.assertEqual(chrf.corpus_chrf(["a b\tc\n d"], ["abcd"]), 100)
        self.assertEqual(chrf.corpus_chrf(["1\u00a0000\u3000x"], ["1000x"]), 100)
        for c in chrf.WHITESPACE:
            self.assertTrue(c.isspace())
        self.assertEqual(chrf.remove_whitespace(chrf.WHITESPACE + "x"), "x")

    def test_code_points_not_bytes(self):
        # "ä" and "ö" share the UTF-8 lead byte 0xC3, but are different characters.
        self.assertEqual(chrf.corpus_chrf(["ä"], ["ö"]), 0)
        # One character, so one unigram each: identical.
        self.assertEqual(chrf.corpus_stats(["ß"], ["ß"])[0], [1, 1, 1])

    def test_case_sensitive(self):
        self.assertEqual(chrf.corpus_chrf(["ABC"], ["abc"]), 0)

    def test_mismatched_lengths_are_refused(self):
        with self.assertRaises(ValueError):
            chrf.corpus_chrf(["a"], ["a", "b"])

    def test_fixture_is_up_to_date(self):
        with open(chrf.FIXTURE, encoding="utf-8") as f:
            cases = json.load(f)
        expected = chrf.fixture_cases()
        self.assertEqual([c["name"] for c in cases], [name for name, _, _ in expected])
        for case, (name, hyps, refs) in zip(cases, expected):
            self.assertEqual((case["hypotheses"], case["references"]), (hyps, refs), name)
            self.assertEqual(case["stats"], chrf.corpus_stats(hyps, refs), name)
            self.assertEqual(case["chrf"], chrf.corpus_chrf(hyps, refs), name)
        by_name = {c["name"]: c["chrf"] for c in cases}
        self.assertEqual(by_name["identical"], 100)
        self.assertEqual(by_name["disjoint"], 0)
        self.assertEqual(by_name["all_empty_hypotheses"], 0)
        self.assertEqual(by_name["whitespace_only"], 100)
        self.assertAlmostEqual(by_name["short"], 100 * 13 / 28, places=12)

    @unittest.skipIf(CHRF is None, "sacrebleu is not installed")
    def test_matches_sacrebleu(self):
        for name, hyps, refs in chrf.fixture_cases():
            expected = CHRF().corpus_score(hyps, [refs]).score
            self.assertAlmostEqual(chrf.corpus_chrf(hyps, refs), expected, places=10, msg=name)


if __name__ == "__main__":
    unittest.main()
