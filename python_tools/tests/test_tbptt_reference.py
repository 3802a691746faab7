"""Tests of python_tools/tbptt_reference.py, the Python port of recur's corpus split, TBPTT batcher
and validation batches.

The hand-worked cases run everywhere. The batch-for-batch comparison with the C++ batcher needs
tests/tools/dump_batches.cpp built: set RECUR_DUMP_BATCHES to the program (ctest's
TbpttReference does), otherwise those tests skip.

Run from the repository root:
    RECUR_DUMP_BATCHES=build/ci/tests/tools/recur_dump_batches \\
        /usr/bin/python3 -B -m unittest python_tools/tests/test_tbptt_reference.py -v
"""

import importlib.util
import json
import os
import random
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load(name, filename):
    # Loaded by path under a private name (the repo root has C++ folders named like modules).
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = _load("recur_tbptt_reference", "tbptt_reference.py")

RS = "\x1e"
ASCII_POOL = ["a", "b", "c", " ", "\n", "x", "y", "."]
MULTIBYTE_POOL = ["a", "b", " ", "\n", "\u00e9", "\u4e2d", "\U0001f600"]  # 1, 2, 3, 4 bytes
DUMP = os.environ.get("RECUR_DUMP_BATCHES", "")
AUSTEN = os.path.expanduser("~/.cache/recur/corpora/austen.txt")


def random_corpus(seed, documents, max_symbols, pool, final_separator=True):
    """Documents of 0..max_symbols symbols from pool, each followed by RS (some are a lone RS);
    without final_separator the last document has no RS after it. UTF-8 bytes."""
    rng = random.Random(seed)
    parts = []
    for d in range(documents):
        parts.append("".join(rng.choice(pool) for _ in range(rng.randint(0, max_symbols))))
        if d + 1 < documents or final_separator:
            parts.append(RS)
    return "".join(parts).encode("utf-8")


def corpus_of(text, tokens="bytes"):
    return ref.TextCorpus(text.encode("utf-8") if isinstance(text, str) else text, tokens)


class SplitTest(unittest.TestCase):
    def test_snaps_to_a_document_start(self):
        text = "".join(chr(ord("a") + d) * 9 + RS for d in range(10))  # documents every 10 bytes
        corpus = corpus_of(text)
        self.assertEqual(corpus.split(0.25), ((0, 80), (80, 100)))  # raw start 75 -> 80
        self.assertEqual(corpus.split(0.3), ((0, 70), (70, 100)))
        # The last RS (byte 99) starts no document: a token boundary instead.
        self.assertEqual(corpus.split(0.05), ((0, 95), (95, 100)))

    def test_snaps_to_a_token_boundary(self):
        corpus = corpus_of("\u4e2d" * 20, "chars")  # 60 bytes
        self.assertEqual(corpus.split(0.1), ((0, 54), (54, 60)))
        self.assertEqual(corpus.split(0.12), ((0, 54), (54, 60)))  # raw start 53 -> 54
        self.assertEqual(corpus_of("\u4e2d" * 20, "bytes").split(0.12), ((0, 53), (53, 60)))

    def test_rounds_half_away_from_zero(self):
        # 0.05 * 10 = 0.5: std::llround gives 1 (Python's round would give 0).
        self.assertEqual(corpus_of("abcdefghij").split(0.05), ((0, 9), (9, 10)))
        self.assertEqual(corpus_of("abcdefghij" * 3).split(0.05), ((0, 28), (28, 30)))  # 1.5 -> 2

    def test_errors(self):
        with self.assertRaisesRegex(ref.CorpusError, "of 1 bytes is too small to split off 0.5"):
            corpus_of("a").split(0.5)
        for bad in (0.0, 1.0, -0.1, 1.5, float("nan")):
            with self.assertRaisesRegex(ref.CorpusError, r"validation fraction in \(0, 1\)"):
                corpus_of("abcdef").split(bad)
        with self.assertRaisesRegex(ref.CorpusError, "too small"):
            corpus_of("abcdef").split(0.01)
        with self.assertRaisesRegex(ref.CorpusError, "too small"):
            corpus_of("a\U0001f600", "chars").split(0.5)
        with self.assertRaisesRegex(ref.CorpusError, "looks binary"):
            corpus_of(b"ab\x00c")
        with self.assertRaisesRegex(ref.CorpusError, "not valid UTF-8 at byte 2"):
            corpus_of(b"ab\xc3(" + b"x" * 400, "chars")
        corpus_of(b"ab\xc3(" + b"x" * 400, "bytes")  # under 1% invalid: fine as bytes


class VocabularyTest(unittest.TestCase):
    def test_char_vocabulary_is_the_sorted_code_points_of_the_file(self):
        corpus = corpus_of("b\u4e2da" + RS + "\U0001f600\u00e9a", "chars")
        self.assertEqual(corpus.vocabulary.to_json(),
                         {"kind": "chars", "code_points": [0x1E, 0x61, 0x62, 0xE9, 0x4E2D, 0x1F600]})
        self.assertEqual(corpus.vocabulary.separator, 0)
        self.assertEqual(corpus.ids.tolist(), [2, 4, 1, 0, 5, 3, 1])
        self.assertEqual(corpus_of("ab", "chars").vocabulary.separator, -1)


class BatcherTest(unittest.TestCase):
    def test_hand_worked_example(self):
        # tokens: a b RS c RS RS d e f  (f ends the shard without RS: only a target)
        batcher = ref.TbpttBatcher(corpus_of("ab" + RS + "c" + RS + RS + "def"), (0, 9), 1, 2)
        a, b, c, d, e, f, rs = (ord(ch) for ch in "abcdef\x1e")
        expected = [([a, b], [b, rs], 2, 1, 0),
                    ([c, 0], [rs, -1], 1, 1, 0),
                    ([d, e], [e, f], 2, 1, 1),  # the pass completes with this batch
                    ([a, b], [b, rs], 2, 1, 1)]  # the wrap resets
        for inputs, targets, length, reset, epoch in expected:
            batch = batcher.next()
            self.assertEqual(batch.inputs.tolist(), [inputs])
            self.assertEqual(batch.targets.tolist(), [targets])
            self.assertEqual(batch.lengths.tolist(), [length])
            self.assertEqual(batch.reset.tolist(), [reset])
            self.assertEqual(batch.tokens, length)
            self.assertEqual(batcher.epoch(), epoch)
        # A document longer than T continues without reset.
        two = ref.TbpttBatcher(corpus_of("abcde" + RS), (0, 6), 1, 2)
        self.assertEqual(two.next().inputs.tolist(), [[a, b]])
        second = two.next()
        self.assertEqual((second.inputs.tolist(), second.targets.tolist(), second.reset.tolist()),
                         ([[c, d]], [[d, e]], [0]))
        third = two.next()
        self.assertEqual((third.inputs.tolist(), third.targets.tolist(), third.reset.tolist()),
                         ([[e, 0]], [[rs, -1]], [0]))
        self.assertEqual(two.epoch(), 1)

    def test_every_input_once_per_pass(self):
        # Over one pass each row's inputs are its shard's tokens minus the RS tokens and minus
        # the shard's last token when that is not RS, in order.
        for tokens in ("bytes", "chars"):
            text = random_corpus(7, 30, 15, MULTIBYTE_POOL, final_separator=False)
            corpus = ref.TextCorpus(text, tokens)
            batcher = ref.TbpttBatcher(corpus, (0, len(text)), 4, 5)
            seen = [[] for _ in range(4)]
            while batcher.epoch() < 1:
                before = batcher.rows_epochs()
                batch = batcher.next()
                for r in range(4):
                    if before[r] == 0:
                        seen[r] += batch.inputs[r, :batch.lengths[r]].tolist()
            for r, (begin, end) in enumerate(batcher.shards()):
                shard = corpus.ids[corpus.index_of(begin):corpus.index_of(end)].tolist()
                want = [t for k, t in enumerate(shard[:-1]) if t != corpus.vocabulary.separator]
                self.assertEqual(seen[r], want, f"{tokens} row {r}")

    def test_errors(self):
        corpus = corpus_of("0123456789")
        with self.assertRaisesRegex(ref.CorpusError, "range of 10 bytes is too small for B=64"):
            ref.TbpttBatcher(corpus, (0, 10), 64, 8)
        with self.assertRaisesRegex(ref.CorpusError, r"B=6 streams: stream 0 gets bytes \[0, 1\)"):
            ref.TbpttBatcher(corpus, (0, 10), 6, 8)
        self.assertEqual(ref.TbpttBatcher(corpus, (0, 10), 5, 8).next().tokens, 5)
        with self.assertRaisesRegex(ref.CorpusError, r"stream 1 gets bytes \[2, 4\)"):
            ref.TbpttBatcher(corpus_of("a" + RS * 4 + "bc"), (0, 7), 3, 4)
        with self.assertRaisesRegex(ref.CorpusError, "token boundaries"):
            ref.TbpttBatcher(corpus_of("a\u4e2db", "chars"), (2, 5), 1, 4)
        with self.assertRaisesRegex(ref.CorpusError, "got B=0 T=8"):
            ref.TbpttBatcher(corpus, (0, 10), 0, 8)

    def test_validation_batches(self):
        text = random_corpus(3, 40, 30, ASCII_POOL)
        corpus = ref.TextCorpus(text, "bytes")
        _, val = corpus.split(0.3)
        rows = ref.validation_rows(val, 16, 8)
        self.assertEqual(rows, min(max((val[1] - val[0]) // 32, 1), 16))
        batches = list(ref.validation_batches(corpus, val, 16, 8, 0))
        # The whole first pass of every row is counted, nothing after it.
        batcher = ref.TbpttBatcher(corpus, val, rows, 8)
        want = 0
        for r, (begin, end) in enumerate(batcher.shards()):
            shard = list(text[begin:end])
            want += sum(1 for t in shard[:-1] if t != ref.RS)
        self.assertEqual(sum(b.tokens for b in batches), want)
        limited = list(ref.validation_batches(corpus, val, 16, 8, 50))
        self.assertGreaterEqual(sum(b.tokens for b in limited), 50)
        self.assertLess(sum(b.tokens for b in limited[:-1]), 50)


# ------------------------------------------------------------------ against the C++ batcher


def run_dump(path, tokens, val_fraction, B, T, count, val_tokens=None):
    """The C++ program's lines as JSON objects, or None when it reported an error."""
    args = [DUMP, path, tokens, repr(val_fraction), str(B), str(T), str(count)]
    if val_tokens is not None:
        args.append(str(val_tokens))
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if proc.returncode == 1:
        return None
    if proc.returncode != 0:
        raise AssertionError(f"{args}: exit status {proc.returncode}: {proc.stderr}")
    return [json.loads(line) for line in proc.stdout.splitlines()]


def batch_json(batch, tokens):
    return {"inputs": batch.inputs.tolist(), "targets": batch.targets.tolist(),
            "lengths": batch.lengths.tolist(), "reset": [int(x) for x in batch.reset],
            "tokens": tokens}


@unittest.skipUnless(DUMP, "RECUR_DUMP_BATCHES is not set (the C++ side, tests/tools/dump_batches.cpp)")
class AgainstCppTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="tbptt_reference_")
        self.files = 0

    def tearDown(self):
        self.dir.cleanup()

    def file(self, data):
        path = os.path.join(self.dir.name, f"corpus{self.files}.txt")
        self.files += 1
        with open(path, "wb") as f:
            f.write(data)
        return path

    def compare(self, path, tokens, val_fraction, B, T, passes=2, count=None, val_tokens=(0, 37)):
        """Python and C++ agree on the split, the shards, `count` training batches (default: until
        every row has made `passes` passes, plus 3) with each row's cursor, passes and pending
        reset after each, and the validation batches for each val_tokens budget."""
        where = f"{os.path.basename(path)} {tokens} val {val_fraction} B={B} T={T}"
        try:
            corpus = ref.TextCorpus(path, tokens)
            train, val = corpus.split(val_fraction)
            batcher = ref.TbpttBatcher(corpus, train, B, T)
        except ref.CorpusError as e:
            self.assertIsNone(run_dump(path, tokens, val_fraction, B, T, 1),
                              f"{where}: Python raised '{e}', C++ did not")
            return 0
        ours = []
        while (count is None and (batcher.epoch() < passes or len(ours) < 3)) or \
                (count is not None and len(ours) < count):
            b = batcher.next()
            line = batch_json(b, b.tokens)
            line["rows"] = batcher.state_rows()
            ours.append(line)
            self.assertLess(len(ours), 20000, f"{where}: no end in sight")
        if count is None:
            for _ in range(3):  # a few batches past the passes
                b = batcher.next()
                line = batch_json(b, b.tokens)
                line["rows"] = batcher.state_rows()
                ours.append(line)
        theirs = run_dump(path, tokens, val_fraction, B, T, len(ours))
        self.assertIsNotNone(theirs, f"{where}: C++ failed where Python did not")
        head = theirs[0]
        self.assertEqual(head["corpus_bytes"], corpus.nbytes, where)
        self.assertEqual(head["vocabulary"], corpus.vocabulary.to_json(), where)
        self.assertEqual((tuple(head["train"]), tuple(head["val"])), (train, val), where)
        self.assertEqual([tuple(s) for s in head["shards"]], batcher.shards(), where)
        self.assertEqual(len(theirs) - 1, len(ours), where)
        for k, (a, b) in enumerate(zip(ours, theirs[1:])):
            if a != b:
                for key in a:
                    self.assertEqual(a[key], b[key], f"{where}: batch {k} differs in {key}")
        self.assertGreaterEqual(min(r["epochs"] for r in ours[-1]["rows"]),
                                passes if count is None else 0)
        for budget in val_tokens:
            self.compare_validation(path, tokens, val_fraction, B, T, corpus, val, budget, where)
        return len(ours)

    def compare_validation(self, path, tokens, val_fraction, B, T, corpus, val, budget, where):
        where = f"{where} validation (val_tokens {budget})"
        try:
            ours = [batch_json(b, b.tokens)
                    for b in ref.validation_batches(corpus, val, B, T, budget)]
        except ref.CorpusError as e:
            self.assertIsNone(run_dump(path, tokens, val_fraction, B, T, 0, budget),
                              f"{where}: Python raised '{e}', C++ did not")
            return
        theirs = run_dump(path, tokens, val_fraction, B, T, 0, budget)
        self.assertIsNotNone(theirs, f"{where}: C++ failed where Python did not")
        rows = ref.validation_rows(val, B, T)
        self.assertEqual(theirs[1]["val_rows"], rows, where)
        self.assertEqual([tuple(s) for s in theirs[1]["val_shards"]],
                         ref.TbpttBatcher(corpus, val, rows, T).shards(), where)
        self.assertEqual(len(theirs) - 2, len(ours), where)
        for k, (a, b) in enumerate(zip(ours, theirs[2:])):
            if a != b:
                for key in a:
                    self.assertEqual(a[key], b[key], f"{where}: batch {k} differs in {key}")

    def test_byte_corpora_of_short_and_long_documents(self):
        for seed in (1, 2):
            for max_len in (3, 40):
                path = self.file(random_corpus(seed, 60, max_len, ASCII_POOL))
                for B in (1, 3, 8):
                    for T in (1, 5, 16):
                        with self.subTest(seed=seed, max_len=max_len, B=B, T=T):
                            self.compare(path, "bytes", 0.2, B, T)

    def test_multibyte_text_as_chars_and_as_bytes(self):
        for seed in (1, 2, 3):
            for max_len in (2, 30):
                path = self.file(random_corpus(seed, 50, max_len, MULTIBYTE_POOL))
                for tokens in ("chars", "bytes"):
                    for B in (1, 4, 9):
                        for T in (1, 3, 12):
                            with self.subTest(seed=seed, max_len=max_len, tokens=tokens, B=B, T=T):
                                self.compare(path, tokens, 0.15, B, T)

    def test_shards_start_mid_document_and_mid_character(self):
        pool = ["\u4e2d", "\U0001f600", "\u00e9", "z"]
        path = self.file(random_corpus(5, 6, 60, pool))
        for tokens in ("chars", "bytes"):
            for val_fraction in (0.1, 0.33):
                with self.subTest(tokens=tokens, val_fraction=val_fraction):
                    self.compare(path, tokens, val_fraction, 7, 4, passes=3)

    def test_without_separators(self):
        text = random_corpus(3, 1, 300, MULTIBYTE_POOL, final_separator=False) + b"end"
        self.assertNotIn(b"\x1e", text)
        path = self.file(text)
        for tokens in ("chars", "bytes"):
            for B in (1, 4):
                for T in (1, 8, 64):
                    with self.subTest(tokens=tokens, B=B, T=T):
                        self.compare(path, tokens, 0.25, B, T)

    def test_without_final_separator_and_separator_runs(self):
        path = self.file(random_corpus(9, 30, 12, MULTIBYTE_POOL, final_separator=False))
        runs = self.file(("\x1e\x1eab\x1e\x1e\x1ec\x1ed\x1e\x1eefg\x1e\x1eh" * 3).encode())
        for B in (1, 2, 3):
            for T in (1, 2, 5):
                with self.subTest(B=B, T=T):
                    self.compare(path, "chars", 0.3, B, T)
                    self.compare(runs, "bytes", 0.3, B, T, passes=3)

    def test_too_small_ranges_fail_on_both_sides(self):
        path = self.file(b"0123456789ab\x1e")
        self.assertEqual(self.compare(path, "bytes", 0.2, 64, 8), 0)
        self.assertEqual(self.compare(path, "bytes", 0.01, 1, 8), 0)

    @unittest.skipUnless(os.path.exists(AUSTEN), "austen is not in the corpus cache")
    def test_austen_at_training_settings(self):
        # The check run's settings (B=16, T=64): the split, 40 training batches, and the
        # validation batches of an evaluation with a budget.
        for tokens in ("bytes", "chars"):
            with self.subTest(tokens=tokens):
                self.compare(AUSTEN, tokens, 0.05, 16, 64, count=40, val_tokens=(20000,))


if __name__ == "__main__":
    unittest.main()
