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

    def test_batches_cover_every_item_once_and_pad_little(self):
        import random
        steps = [1 + (i * 37) % 90 for i in range(203)]
        for kind, items in (("documents", [("l", b"x" * n) for n in steps]),
                            ("sequences", [("l", ref.torch.zeros(n, 3)) for n in steps])):
            with self.subTest(kind):
                batches = ref.batches_of(items, range(203), 8, 64, random.Random(7))
                self.assertEqual(sorted(i for b in batches for i in b), list(range(203)))
                padded = sum(len(b) * max(min(steps[i], 64) for i in b) for b in batches)
                real = sum(min(n, 64) for n in steps)
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


@unittest.skipIf(ref is None, f"needs PyTorch: {MISSING}")
class LabelledSequencesTest(unittest.TestCase):
    """--data FILE.csv: numeric feature sequences (recur's datasets/labelled_sequences.h)."""

    def write(self, text):
        f = tempfile.NamedTemporaryFile(delete=False, suffix=".csv")
        f.write(text.encode("utf-8"))
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def refused(self, text):
        """The message of the SystemExit that read_sequences raises on text, and the path."""
        path = self.write(text)
        with self.assertRaises(SystemExit) as e:
            ref.read_sequences(path)
        return str(e.exception.code), path

    def test_the_features_model_has_no_embedding(self):
        ref.torch.manual_seed(0)
        model = ref.SeqClassifier("gru", None, None, 5, 2, True, 3, features=4)
        self.assertEqual([n for n in model.state_dict() if not n.startswith(("rnn.", "head."))],
                         [])
        self.assertEqual(tuple(model.rnn.weight_ih_l0.shape), (15, 4))
        inputs = ref.torch.randn(2, 3, 4)
        logits = model(inputs, ref.torch.tensor([3, 1]))
        self.assertEqual(tuple(logits.shape), (2, 3))
        other = inputs.clone()
        other[1, 1:] = 5.0  # padding
        with ref.torch.no_grad():
            self.assertTrue(ref.torch.equal(model(other, ref.torch.tensor([3, 1])), logits))

    def test_the_csv_suffix_decides(self):
        self.assertTrue(ref.is_feature_csv("data/fashion.csv"))
        self.assertFalse(ref.is_feature_csv("data/spam.txt"))
        self.assertFalse(ref.is_feature_csv("data/csv"))

    def test_reads_sequences_in_file_order_with_features_in_header_order(self):
        path = self.write("x,id,label,y\n"
                          "1.5,s1,walk,2\n"
                          "-2e1,s1,walk,+3\n"
                          "\n"
                          '0.25, "s2" ,sit,.5\r\n'
                          "4,s3,walk,5\n")
        features, seqs = ref.read_sequences(path)
        self.assertEqual(features, ["x", "y"])
        self.assertEqual([label for label, _ in seqs], ["walk", "sit", "walk"])
        self.assertEqual([v.tolist() for _, v in seqs],
                         [[[1.5, 2.0], [-20.0, 3.0]], [[0.25, 0.5]], [[4.0, 5.0]]])
        self.assertEqual(seqs[0][1].dtype, ref.torch.float32)
        names, labels = ref.label_indices(seqs)
        self.assertEqual((names, labels), (["sit", "walk"], [1, 0, 1]))

    def test_split_and_standardisation_use_the_training_sequences(self):
        # 12 sequences of 'b' and 3 of 'a', interleaved; labels sorted: a = 0, b = 1.
        lines, order = ["id,label,f,g,const"], []
        for k in range(15):
            label = "a" if k % 5 == 2 else "b"
            order.append(label)
            for t in range(1 + k % 3):
                lines.append(f"q{k},{label},{k * 10 + t},{(k + t) % 4},7")
        features, seqs = ref.read_sequences(self.write("\n".join(lines) + "\n"))
        self.assertEqual(features, ["f", "g", "const"])
        names, labels = ref.label_indices(seqs)
        self.assertEqual(names, ["a", "b"])
        train, val = ref.split(labels, len(names))
        # the 1st and 11th 'b' (sequences 0 and 13), the 1st 'a' (sequence 2)
        self.assertEqual(val, [0, 2, 13])
        self.assertEqual(sorted(train + val), list(range(15)))

        mean, std = ref.fit_standardisation(seqs, train)
        rows = [[k * 10 + t, (k + t) % 4, 7] for k in train for t in range(1 + k % 3)]
        n = len(rows)
        for f in range(3):
            m = sum(r[f] for r in rows) / n
            sd = (sum((r[f] - m) ** 2 for r in rows) / n) ** 0.5  # population std
            self.assertAlmostEqual(mean[f].item(), m, places=12)
            self.assertAlmostEqual(std[f].item(), sd if sd > 0 else 1.0, places=12)
        self.assertEqual(std[2].item(), 1.0)  # constant: std 0 -> 1

        scaled = ref.standardised(seqs, mean, std)
        self.assertEqual(scaled[4][1].dtype, ref.torch.float32)
        expected = [(40 - mean[0].item()) / std[0].item(), (0 - mean[1].item()) / std[1].item(),
                    0.0]
        for got, want in zip(scaled[4][1][0].tolist(), expected):
            self.assertAlmostEqual(got, want, places=6)

    def test_a_batch_is_standardised_then_zero_padded_to_its_longest_row(self):
        seqs = [("a", ref.torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])),
                ("b", ref.torch.tensor([[7.0, 8.0]])),
                ("a", ref.torch.tensor([[9.0, 10.0], [11.0, 12.0]]))]
        mean, std = ref.fit_standardisation(seqs, [0, 1, 2])
        self.assertEqual(mean.tolist(), [6.0, 7.0])
        self.assertAlmostEqual(std[0].item(), (sum((v - 6) ** 2 for v in (1, 3, 5, 7, 9, 11))
                                               / 6) ** 0.5, places=12)
        scaled = ref.standardised(seqs, mean, std)
        inputs, lengths, targets = ref.feature_tensors(scaled, [0, 1, 0], [1, 0, 2], 2)
        self.assertEqual(tuple(inputs.shape), (3, 2, 2))
        self.assertEqual(inputs.dtype, ref.torch.float32)
        self.assertEqual(lengths.tolist(), [1, 2, 2])  # min(steps, max_len)
        self.assertEqual(targets.tolist(), [1, 0, 0])  # labels of sequences 1, 0, 2
        self.assertTrue(ref.torch.equal(inputs[0, 1], ref.torch.zeros(2)))  # padding
        self.assertTrue(ref.torch.equal(inputs[1], scaled[0][1][:2]))  # the first 2 steps
        self.assertAlmostEqual(inputs[0, 0, 0].item(), (7 - 6) / std[0].item(), places=6)

    def test_malformed_lines_are_refused_naming_the_line(self):
        cases = [
            ("id,label,x\ns1,a,1\ns1,a,abc\n", ":3: column 'x' holds 'abc', expected a finite"),
            ("id,label,x\ns1,a,nan\n", ":2: column 'x' holds 'nan'"),
            ("id,label,x\ns1,a,1e999\n", ":2: column 'x' holds '1e999'"),
            ("id,label,x\ns1,a,1_000\n", ":2: column 'x' holds '1_000'"),
            ("id,label,x\ns1,a,\n", ":2: column 'x' holds ''"),
            ("id,label,x\ns1,a,1\ns2,a,2\ns1,a,3\n",
             ":4: sequence 's1' continues after other sequences"),
            ("id,label,x\ns1,a,1\ns1,b,2\n",
             ":3: sequence 's1' changes its label from 'a' to 'b'"),
            ("name,label,x\ns1,a,1\n", ":1: expected an id column 'id'"),
            ("id,class,x\ns1,a,1\n", ":1: expected a label column 'label'"),
            ("id,label\ns1,a\n", ":1: expected at least one feature column"),
            ("id,label,x,x\ns1,a,1,2\n", ":1: column 'x' appears twice"),
            ("id,label,x\ns1,a,1,2\n", ":2: expected 3 comma-separated fields"),
            ("id,label,x\n,a,1\n", ":2: empty id"),
            ("id,label,x\ns1,,1\n", ":2: empty label"),
        ]
        for text, message in cases:
            with self.subTest(message=message):
                got, path = self.refused(text)
                self.assertIn(path + message, got)
        got, path = self.refused("")
        self.assertIn(path + ": empty file", got)
        got, path = self.refused("id,label,x\n\n")
        self.assertIn(path + ": expected rows after the header", got)

    def test_trains_on_sequences_and_writes_the_same_records(self):
        import random
        rng = random.Random(5)
        lines = ["id,label,a,b,c"]
        for k in range(120):
            rising = rng.random() < 0.5
            for t in range(rng.randint(3, 8)):
                trend = t if rising else -t
                lines.append(f"s{k},{'up' if rising else 'down'},{100 + 10 * trend + rng.random()},"
                             f"{rng.gauss(0, 1):.4f},{rng.randint(0, 9)}")
        path = self.write("\n".join(lines) + "\n")
        with tempfile.TemporaryDirectory() as out:
            ref.main(["--data", path, "--out", out, "--hidden", "8", "--max-len", "6",
                      "--batch", "16", "--lr", "2e-2", "--epochs", "4", "--seed", "2"])
            with open(os.path.join(out, "metrics.jsonl")) as f:
                records = [json.loads(line) for line in f]
        self.assertEqual([r["epoch"] for r in records], [1, 2, 3, 4])
        self.assertEqual(set(records[0]), {"kind", "epoch", "step", "accuracy", "loss",
                                           "train_loss", "seconds", "train_seconds",
                                           "train_docs_per_s", "threads", "torch", "packed"})
        self.assertEqual(records[-1]["step"], 4 * 7)  # 108 training sequences, batches of 16
        self.assertGreaterEqual(max(r["accuracy"] for r in records), 0.9)


if __name__ == "__main__":
    unittest.main()
