"""Tests of python_tools/train_translator_reference.py, the PyTorch peer of `recur translate`: it
must read the SOURCE<TAB>TARGET format as datasets/parallel_corpus.cpp does, build the batches
(BOS/EOS, padding) and the epoch's batch order as documented, train the unpacked decoder to the
same loss and gradients as the packed one, and run end to end on a tiny corpus. Skips without
PyTorch (Debian's python3-torch).

Run from the repository root:
    /usr/bin/python3 -B -m unittest python_tools/tests/test_train_translator_reference.py -v
"""

import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load():
    sys.path.insert(0, TOOLS)  # it imports make_translator_fixture and chrf
    spec = importlib.util.spec_from_file_location(
        "train_translator_reference", os.path.join(TOOLS, "train_translator_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


try:
    ref = _load()
    import torch
except ImportError as e:  # no torch
    ref, MISSING = None, str(e)
else:
    MISSING = ""

WORDS = {"file": "Datei", "not": "nicht", "found": "gefunden", "open": "öffnen", "size": "Größe",
         "error": "Fehler", "new": "neu", "line": "Zeile"}


def write_corpus(folder, counts=(48, 8, 8)):
    """A tiny English -> German word corpus as train.tsv, valid.tsv, test.tsv; one train pair
    is longer than 64 bytes (dropped)."""
    import random
    rng = random.Random(11)
    keys = sorted(WORDS)
    for split, n in zip(ref.SPLITS, counts):
        lines = []
        for _ in range(n):
            w = [rng.choice(keys) for _ in range(rng.randint(1, 4))]
            lines.append(" ".join(w) + "\t" + " ".join(WORDS[x] for x in w))
        if split == "train":
            lines.append("x" * 65 + "\ty")
        with open(os.path.join(folder, f"{split}.tsv"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


@unittest.skipIf(ref is None, f"needs PyTorch: {MISSING}")
class FormatTest(unittest.TestCase):
    def write(self, data):
        f = tempfile.NamedTemporaryFile(delete=False, suffix=".tsv")
        f.write(data)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_reads_pairs_as_bytes(self):
        path = self.write("a b\tä\nGröße\tsize".encode())  # no newline at the end
        self.assertEqual(ref.read_pairs(path),
                         [(b"a b", "ä".encode()), ("Größe".encode(), b"size")])

    def test_malformed_lines_are_refused_with_their_number(self):
        for data, words in ((b"a\tb\nno tab\n", "line 2: expected SOURCE<TAB>TARGET with exactly "
                                                "one TAB, got none"),
                            (b"a\tb\tc\n", "line 1: expected SOURCE<TAB>TARGET with exactly one "
                                           "TAB, got more"),
                            (b"a\tb\n\tb\n", "line 2: expected SOURCE<TAB>TARGET, the source is "
                                             "empty"),
                            (b"a\tb\r\n", "line 1: the target holds control character 0x0d at "
                                          "byte 1"),
                            (b"", "the file is empty")):
            with self.assertRaises(SystemExit) as e:
                ref.read_pairs(self.write(data))
            self.assertIn(words, str(e.exception.code))

    def test_batch_layout(self):
        pairs = [(b"abc", b"xy"), (b"d", b"z")]
        source, source_lengths, target_in, target_lengths, target_out = \
            ref.batch_tensors(pairs, [1, 0])
        self.assertEqual(source.tolist(), [[100, 0, 0], [97, 98, 99]])
        self.assertEqual(source_lengths.tolist(), [1, 3])
        self.assertEqual(target_in.tolist(), [[2, 122, 0], [2, 120, 121]])
        self.assertEqual(target_lengths.tolist(), [2, 3])
        self.assertEqual(target_out.tolist(), [[122, 3, -100], [120, 121, 3]])

    def test_batches_cover_every_pair_once_sorted_within_windows(self):
        pairs = [(b"s", b"t" * (1 + (i * 37) % 60)) for i in range(300)]
        batches = ref.batches_of(pairs, 8, 1, 1)
        self.assertEqual(sorted(i for b in batches for i in b), list(range(300)))
        self.assertEqual(sorted(len(b) for b in batches)[1:], [8] * (len(batches) - 1))
        padded = sum(len(b) * max(len(pairs[i][1]) for i in b) for b in batches)
        self.assertLess(padded, 1.2 * sum(len(p[1]) for p in pairs))
        for b in batches:  # each batch is a run of one window's sorted order
            lengths = [len(pairs[i][1]) for i in b]
            self.assertEqual(lengths, sorted(lengths))
        # Deterministic per (seed, epoch); another epoch, another order.
        self.assertEqual(batches, ref.batches_of(pairs, 8, 1, 1))
        self.assertNotEqual(batches, ref.batches_of(pairs, 8, 1, 2))

    def test_unpacked_decoder_gives_the_packed_loss_and_gradients(self):
        torch.manual_seed(3)
        pairs = [(b"hello", b"hallo"), (b"a", b"ein langer Satz"), (b"xyz", b"q")]
        tensors = ref.batch_tensors(pairs, [0, 1, 2])
        results = []
        for pack in (True, False):
            torch.manual_seed(5)
            model = ref.Translator("lstm", 256, 4, 6, 2).double()
            model.pack_decoder = pack
            loss = ref.batch_loss(model, tensors)
            loss.backward()
            results.append((loss.item(), [p.grad.clone() for p in model.parameters()]))
        self.assertAlmostEqual(results[0][0], results[1][0], places=12)
        for packed, unpacked in zip(results[0][1], results[1][1]):
            self.assertLess((packed - unpacked).abs().max().item(), 1e-12)


@unittest.skipIf(ref is None, f"needs PyTorch: {MISSING}")
class TrainingTest(unittest.TestCase):
    def test_one_step_lowers_the_batch_loss(self):
        with tempfile.TemporaryDirectory() as folder:
            write_corpus(folder)
            corpus, dropped = ref.load_corpus(folder, 64)
        self.assertEqual(dropped, {"train": 1, "valid": 0, "test": 0})
        train = corpus["train"]
        torch.manual_seed(1)
        model = ref.Translator("gru", 256, 8, 16, 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        tensors = ref.batch_tensors(train, ref.batches_of(train, 16, 1, 1)[0])
        first = ref.train_step(model, optimizer, tensors, 1.0)
        with torch.no_grad():
            after = ref.batch_loss(model, tensors).item()
        self.assertLess(after, first)

    def test_translate_stops_at_eos_and_at_the_limit(self):
        torch.manual_seed(2)
        model = ref.Translator("lstm", 256, 4, 5, 1)
        with torch.no_grad():
            model.head.bias[ord("k")] = 100.0  # always "k"
        self.assertEqual(ref.translate(model, [b"ab", b"c"], 5, 1), [b"kkkkk", b"kkkkk"])
        with torch.no_grad():
            model.head.bias[ref.EOS] = 200.0  # always EOS at once
        self.assertEqual(ref.translate(model, [b"ab", b"c", b"def"], 5, 2), [b"", b"", b""])

    def test_end_to_end_on_a_tiny_corpus(self):
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())  # main sets 1
        with tempfile.TemporaryDirectory() as folder:
            write_corpus(folder)
            out = os.path.join(folder, "out", "report.json")
            code = ref.main(["--corpus", folder, "--out", out, "--embed", "8", "--hidden", "16",
                             "--batch", "16", "--epochs", "2", "--lr", "1e-2", "--threads", "1",
                             "--max-len", "64", "--decode-limit", "5"])
            self.assertEqual(code, 0)
            with open(out, encoding="utf-8") as f:
                report = json.load(f)
        self.assertEqual(report["peer"], "pytorch")
        self.assertEqual(report["pairs"], {"train": 48, "valid": 8, "test": 8})
        self.assertEqual([e["epoch"] for e in report["epochs"]], [1, 2])
        self.assertEqual(report["epochs"][-1]["steps"], 6)  # 3 batches an epoch
        for e in report["epochs"]:
            for key in ("train_loss", "valid_loss", "seconds", "target_tokens_per_s"):
                self.assertGreater(e[key], 0, key)
        self.assertLess(report["epochs"][1]["train_loss"], report["epochs"][0]["train_loss"])
        test = report["test"]
        self.assertEqual(test["pairs"], 5)
        self.assertEqual(len(test["examples"]), 5)
        self.assertTrue(0 <= test["chrf"] <= 100)
        self.assertEqual(report["epochs_planned"], 2)
        for key in ("cell", "embed", "hidden", "layers", "batch", "lr", "clip", "seed",
                    "max_len", "decode_limit", "threads", "torch"):
            self.assertIn(key, report)

    def test_bidirectional_encoder_with_dropout(self):
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())
        with tempfile.TemporaryDirectory() as folder:
            write_corpus(folder)
            out = os.path.join(folder, "report.json")
            code = ref.main(["--corpus", folder, "--out", out, "--embed", "8", "--hidden", "16",
                             "--bidirectional", "--dropout", "0.2", "--batch", "16",
                             "--epochs", "1", "--threads", "1", "--decode-limit", "3"])
            self.assertEqual(code, 0)
            with open(out, encoding="utf-8") as f:
                report = json.load(f)
        self.assertTrue(report["bidirectional"])
        self.assertEqual(report["dropout"], 0.2)
        self.assertEqual(report["test"]["pairs"], 3)
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
            ref.parse_args(["--corpus", "x", "--out", "y", "--hidden", "15", "--bidirectional"])
        self.assertIn("expected it even, got 15", err.getvalue())
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
            ref.parse_args(["--corpus", "x", "--out", "y", "--dropout", "1"])
        self.assertIn("--dropout: expected a value in [0, 1), got 1.0", err.getvalue())


if __name__ == "__main__":
    unittest.main()
