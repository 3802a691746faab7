"""Tests of python_tools/train_classifier_reference.py, the PyTorch side of
benchmarks/classify_vs_pytorch.sh: it must read the labelled format, split and batch as recur does
(datasets/labelled_corpus.h; the same cases as tests/datasets/labelled_corpus_test.cpp), and
learn a separable toy task. Skips without PyTorch (Debian's python3-torch: CI does not install
it; scripts/deps.sh recur_bench_deps does).

Run from the repository root:
    /usr/bin/python3 -B -m unittest python_tools/tests/test_train_classifier_reference.py -v
"""

import importlib.util
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load():
    sys.path.insert(0, TOOLS)  # it imports make_classifier_fixture
    spec = importlib.util.spec_from_file_location(
        "train_classifier_reference", os.path.join(TOOLS, "train_classifier_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


try:
    ref = _load()
except ImportError as e:  # no torch
    ref, MISSING = None, str(e)
else:
    MISSING = ""


@unittest.skipIf(ref is None, f"needs PyTorch: {MISSING}")
class FormatAndSplitTest(unittest.TestCase):
    def write(self, data):
        f = tempfile.NamedTemporaryFile(delete=False, suffix=".txt")
        f.write(data)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_reads_labels_and_texts_with_a_tab_inside_the_text(self):
        path = self.write(b"spam\tBuy now\x1eham\tMeeting at 3\tpm\x1espam\tFree!")
        self.assertEqual(ref.read_labelled(path), [("spam", b"Buy now"),
                                                   ("ham", b"Meeting at 3\tpm"),
                                                   ("spam", b"Free!")])

    def test_a_document_without_tab_is_refused(self):
        path = self.write(b"a\tx\x1eno tab here\x1e")
        with self.assertRaises(SystemExit) as e:
            ref.read_labelled(path)
        self.assertIn("document 2", str(e.exception.code))

    def test_split_matches_recur(self):
        # As LabelledCorpus.SplitHoldsOutEveryNthDocumentOfEachLabel with every = 5 there; here
        # every = 10 over 60 documents: the 1st, 11th, ... of each label.
        labels = [0 if i % 3 == 0 else 1 for i in range(60)]
        train, val = ref.split(labels, 2)
        self.assertEqual(val, [0, 1, 16, 30, 31, 46])
        self.assertEqual(sorted(train + val), list(range(60)))

    def test_batches_cover_every_document_once_and_pad_little(self):
        import random
        docs = [("l", b"x" * (1 + (i * 37) % 90)) for i in range(203)]
        batches = ref.batches_of(docs, range(203), 8, 64, random.Random(7))
        self.assertEqual(sorted(i for b in batches for i in b), list(range(203)))
        padded = sum(len(b) * max(min(len(docs[i][1]), 64) for i in b) for b in batches)
        real = sum(min(len(d[1]), 64) for d in docs)
        self.assertLess(padded, 1.15 * real)

    def test_learns_a_separable_task(self):
        import random
        rng = random.Random(3)
        words = "the cat dog sat ran on under mat log".split()
        docs = []
        for _ in range(300):
            w = [rng.choice(words) for _ in range(rng.randint(4, 10))]
            good = rng.random() < 0.4
            if good:
                w.insert(rng.randint(0, len(w)), "good")
            docs.append(("pos" if good else "neg") + "\t" + " ".join(w))
        path = self.write(("\x1e".join(docs) + "\x1e").encode())
        with tempfile.TemporaryDirectory() as out:
            ref.main(["--data", path, "--out", out, "--hidden", "16", "--embed", "8",
                      "--max-len", "64", "--batch", "16", "--lr", "1e-2", "--epochs", "6"])
            records = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
        self.assertEqual(len(records), 6)
        self.assertGreaterEqual(max(r["accuracy"] for r in records), 0.9)


if __name__ == "__main__":
    unittest.main()
