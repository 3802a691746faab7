#!/usr/bin/python3
"""Corpus-level chrF, as sacrebleu 2.x computes it by default (CHRF(): char_order 6,
word_order 0, beta 2, case-sensitive, whitespace removed, no eps smoothing); no sacrebleu needed.

Characters are Unicode code points (a str's items), not bytes. For each sentence pair, all
whitespace is removed (what Python's str.split() splits on: str.isspace(), so U+00A0, U+3000
etc. too; the WHITESPACE string below lists them), then for every order n = 1..6 the
character n-grams are counted on both sides: hyp_n = the hypothesis' n-gram count (len - n + 1,
or 0), ref_n = the reference's, match_n = the sum over distinct n-grams of min(count in the
hypothesis, count in the reference). These are summed over the corpus. Then (sacrebleu's
_compute_f_score, in this order of operations):

    P = R = 0; k = 0
    for n in 1..6: if hyp_n > 0 and ref_n > 0: P += match_n / hyp_n; R += match_n / ref_n; k += 1
    if k == 0: return 0
    P /= k; R /= k
    if P + R == 0: return 0
    return 100 * ((1 + b^2) * P * R / (b^2 * P + R))        with b^2 = 4

Note: this is the F-score of the precision and recall averaged over the orders, not the mean of
the per-order F-scores (that is sacrebleu's eps_smoothing=True variant, or chrF++.py's).

    corpus_chrf(["Größe ändern"], ["Größe änderte"])  ->  a float in [0, 100]

Command line:
    /usr/bin/python3 python_tools/chrf.py HYPOTHESES.txt REFERENCES.txt   # one sentence a line
    /usr/bin/python3 python_tools/chrf.py --write-fixture [PATH]  # tests/data/chrf_cases.json
The fixture holds cases [{"hypotheses", "references", "stats": [[hyp, ref, match] per order],
"chrf"}] for checking another implementation (recur's C++ one); writing it is deterministic.
"""
import argparse
import json
import os
import sys
from collections import Counter

CHAR_ORDER = 6
BETA = 2
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "tests", "data", "chrf_cases.json")

# Every code point for which str.isspace() holds (Python 3.11, Unicode 14): what sacrebleu's
# "".join(line.split()) removes.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def remove_whitespace(text):
    return "".join(text.split())


def sentence_stats(hypothesis, reference, order=CHAR_ORDER):
    """[[hyp_n, ref_n, match_n] for n = 1..order] of one sentence pair."""
    hyp, ref = remove_whitespace(hypothesis), remove_whitespace(reference)
    stats = []
    for n in range(1, order + 1):
        h = Counter(hyp[i:i + n] for i in range(len(hyp) - n + 1))
        r = Counter(ref[i:i + n] for i in range(len(ref) - n + 1))
        stats.append([sum(h.values()), sum(r.values()), sum((h & r).values())])
    return stats


def corpus_stats(hypotheses, references, order=CHAR_ORDER):
    """The per-order counts summed over the corpus."""
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"chrF: {len(hypotheses)} hypotheses but {len(references)} references")
    total = [[0, 0, 0] for _ in range(order)]
    for hyp, ref in zip(hypotheses, references):
        if not isinstance(hyp, str) or not isinstance(ref, str):
            raise TypeError("chrF: hypotheses and references must be str")
        for row, add in zip(total, sentence_stats(hyp, ref, order)):
            for j in range(3):
                row[j] += add[j]
    return total


def chrf_of_stats(stats, beta=BETA):
    """The score in [0, 100] of per-order [hyp, ref, match] counts (sacrebleu's arithmetic)."""
    factor = beta ** 2
    avg_prec, avg_rec, effective_order = 0.0, 0.0, 0
    for n_hyp, n_ref, n_match in stats:
        if n_hyp > 0 and n_ref > 0:
            avg_prec += n_match / n_hyp
            avg_rec += n_match / n_ref
            effective_order += 1
    if effective_order == 0:
        return 0.0
    avg_prec /= effective_order
    avg_rec /= effective_order
    if avg_prec + avg_rec == 0:
        return 0.0
    score = (1 + factor) * avg_prec * avg_rec
    score /= (factor * avg_prec) + avg_rec
    return 100 * score


def corpus_chrf(hypotheses, references):
    """Corpus chrF (n = 1..6, beta 2) of str hypotheses against one str reference each."""
    return chrf_of_stats(corpus_stats(hypotheses, references))


def fixture_cases():
    """The cases of tests/data/chrf_cases.json: (name, hypotheses, references)."""
    return [
        ("identical", ["Datei nicht gefunden"], ["Datei nicht gefunden"]),
        ("disjoint", ["abc"], ["xyz"]),
        # By hand (python_tools/tests/test_chrf.py): 100 * 13/28.
        ("short", ["abcd"], ["abd"]),
        ("umlauts", ["Größe ändern", "Schließen"], ["Größe änderte", "schliessen"]),
        ("empty_hypotheses", ["", "Öffnen", ""], ["Datei", "Öffnen…", "Speichern"]),
        ("all_empty_hypotheses", ["", ""], ["abc", "ä"]),
        ("whitespace_only", ["Kein  Speicher\tfrei ", "a b c"], ["KeinSpeicher frei", "abc"]),
        ("unicode_whitespace", ["1\u00a0000 Dateien\u3000übrig", "x\u2009y"],
         ["1 000 Dateien übrig", "xy"]),
        ("replacement_and_case", ["Fehler: \ufffd\ufffd beim Lesen", "HALLO"],
         ["Fehler: äö beim Lesen", "Hallo"]),
        ("corpus", ["Die Datei %s existiert nicht.", "Verbindung fehlgeschlagen",
                    "ja", "Ungültige Option -- %c", "Speicher erschöpft"],
         ["Datei %s existiert nicht", "Die Verbindung ist fehlgeschlagen", "Ja",
          "ungültige Option -- „%c“", "Speicher ist erschöpft"]),
    ]


def write_fixture(path=FIXTURE):
    cases = []
    for name, hyps, refs in fixture_cases():
        cases.append({"name": name, "hypotheses": hyps, "references": refs,
                      "stats": corpus_stats(hyps, refs), "chrf": corpus_chrf(hyps, refs)})
    # One case a line; non-ASCII as \u escapes, so no invisible space is at an editor's mercy.
    text = "[\n" + ",\n".join(json.dumps(case) for case in cases) + "\n]\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return cases


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="*", metavar="FILE", help="HYPOTHESES REFERENCES")
    p.add_argument("--write-fixture", nargs="?", const=FIXTURE, metavar="PATH",
                   help=f"write the test cases (default {os.path.relpath(FIXTURE, REPO)})")
    a = p.parse_args(argv)
    if a.write_fixture:
        for case in write_fixture(a.write_fixture):
            print(f"{case['name']}: chrF {case['chrf']!r}")
        print(f"wrote {a.write_fixture}")
        return 0
    if len(a.files) != 2:
        p.error("expected HYPOTHESES REFERENCES (or --write-fixture)")
    lines = []
    for path in a.files:
        with open(path, encoding="utf-8") as f:
            lines.append(f.read().split("\n"))
        if lines[-1] and lines[-1][-1] == "":
            lines[-1].pop()  # after the last newline
    print(f"chrF2 = {corpus_chrf(*lines):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
