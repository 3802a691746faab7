"""Tests of python_tools/fashion_sequences.py: Fashion-MNIST IDX files -> the labelled-sequences
CSV of `recur classify`. Synthetic .gz files in a temporary folder (3 images of known pixels);
one check on Debian's real files (dataset-fashion-mnist) when they are installed.

Run from the repository root:
    /usr/bin/python3 -B -m unittest python_tools/tests/test_fashion_sequences.py -v
"""

import contextlib
import gzip
import importlib.util
import io
import os
import struct
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load():
    spec = importlib.util.spec_from_file_location(
        "recur_fashion_sequences", os.path.join(TOOLS, "fashion_sequences.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fs = _load()

LABELS = [9, 0, 3]  # ankle-boot, t-shirt, dress


def pixel(image, row, col):
    return (image * 100 + row * 28 + col) % 256


def images_idx(count, magic=2051, rows=28, cols=28, extra=b""):
    data = bytes(pixel(i, r, c) for i in range(count) for r in range(rows) for c in range(cols))
    return struct.pack(">IIII", magic, count, rows, cols) + data + extra


def labels_idx(labels, magic=2049):
    return struct.pack(">II", magic, len(labels)) + bytes(labels)


def expected_csv(split, labels):
    names = ["ankle-boot" if x == 9 else "t-shirt" if x == 0 else "dress" for x in labels]
    lines = ["id,label," + ",".join(f"p{c}" for c in range(28))]
    for i, name in enumerate(names):
        for r in range(28):
            lines.append(f"{split}-{i:05d},{name}," +
                         ",".join(str(pixel(i, r, c)) for c in range(28)))
    return "\n".join(lines) + "\n"


class FashionSequencesTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.out = os.path.join(self.dir, "out.csv")

    def write_gz(self, name, data):
        with gzip.open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)

    def write_split(self, prefix="train", images=None, labels=None):
        self.write_gz(f"{prefix}-images-idx3-ubyte.gz",
                      images_idx(len(LABELS)) if images is None else images)
        self.write_gz(f"{prefix}-labels-idx1-ubyte.gz",
                      labels_idx(LABELS) if labels is None else labels)

    def run_main(self, *args):
        """(exit status, stderr) of main with --dir and --out filled in."""
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = fs.main(["--dir", self.dir, "--out", self.out, *args])
        return status, err.getvalue()

    def read_out(self):
        with open(self.out, newline="") as f:
            return f.read()

    def test_labels_are_the_readme_classes_in_order(self):
        self.assertEqual(fs.LABELS, ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal",
                                     "shirt", "sneaker", "bag", "ankle-boot"))

    def test_writes_every_image_row_by_row(self):
        self.write_split()
        status, err = self.run_main()
        self.assertEqual(status, 0, err)
        text = self.read_out()
        self.assertEqual(text, expected_csv("train", LABELS))
        lines = text.splitlines()
        self.assertEqual(len(lines), 1 + 3 * 28)
        self.assertEqual(lines[0].split(",")[:4], ["id", "label", "p0", "p1"])
        self.assertEqual(lines[0].split(",")[-1], "p27")
        self.assertEqual(lines[1].split(",")[:5], ["train-00000", "ankle-boot", "0", "1", "2"])
        # image 1, row 2, column 0: (100 + 56) % 256
        self.assertEqual(lines[1 + 28 + 2].split(",")[:3], ["train-00001", "t-shirt", "156"])
        self.assertIn("3 sequences", err)

    def test_test_split_reads_the_t10k_files(self):
        self.write_split(prefix="t10k")
        status, err = self.run_main("--split", "test")
        self.assertEqual(status, 0, err)
        self.assertEqual(self.read_out(), expected_csv("test", LABELS))

    def test_limit_keeps_the_first_images(self):
        self.write_split()
        self.assertEqual(self.run_main("--limit", "2")[0], 0)
        self.assertEqual(self.read_out(), expected_csv("train", LABELS[:2]))
        self.assertEqual(self.run_main("--limit", "0")[0], 0)
        self.assertEqual(self.read_out(), expected_csv("train", []))
        self.assertEqual(self.run_main("--limit", "10")[0], 0)  # more than there are: all
        self.assertEqual(self.read_out(), expected_csv("train", LABELS))

    def test_a_negative_limit_is_a_usage_error(self):
        self.write_split()
        with self.assertRaises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()):
            self.run_main("--limit", "-1")
        self.assertEqual(e.exception.code, 2)

    def test_a_missing_file_says_how_to_install_the_data_set(self):
        status, err = self.run_main()
        self.assertEqual(status, 1)
        self.assertIn("train-images-idx3-ubyte.gz: no such file", err)
        self.assertIn("apt-get install dataset-fashion-mnist", err)
        self.assertFalse(os.path.exists(self.out))
        self.write_gz("train-images-idx3-ubyte.gz", images_idx(3))
        status, err = self.run_main()
        self.assertEqual(status, 1)
        self.assertIn("train-labels-idx1-ubyte.gz: no such file", err)

    def test_a_bad_magic_number_is_refused(self):
        self.write_split(images=images_idx(3, magic=2049))
        status, err = self.run_main()
        self.assertEqual(status, 1)
        self.assertIn("train-images-idx3-ubyte.gz: IDX magic number 2049, expected 2051", err)
        self.assertFalse(os.path.exists(self.out))
        self.write_split(labels=labels_idx(LABELS, magic=2051))
        status, err = self.run_main()
        self.assertEqual(status, 1)
        self.assertIn("train-labels-idx1-ubyte.gz: IDX magic number 2051, expected 2049", err)

    def test_sizes_and_counts_are_checked(self):
        cases = [
            (images_idx(3, extra=b"\0"), labels_idx(LABELS),
             "2353 bytes after the header, expected 2352 for shape [3, 28, 28]"),
            (images_idx(3)[:-1], labels_idx(LABELS), "2351 bytes after the header"),
            (images_idx(3, rows=27, cols=27), labels_idx(LABELS), "images of 27x27"),
            (images_idx(3), labels_idx(LABELS[:2]), "2 labels for 3 images"),
            (images_idx(3), labels_idx([1, 10, 2]), "label 10 of image 1 is not in 0..9"),
            (b"\0\0\x08", labels_idx(LABELS), "shorter than an IDX header"),
        ]
        for images, labels, message in cases:
            with self.subTest(message=message):
                self.write_split(images=images, labels=labels)
                status, err = self.run_main()
                self.assertEqual(status, 1)
                self.assertIn(message, err)

    def test_a_file_that_is_not_gzip_is_refused(self):
        self.write_split()
        with open(os.path.join(self.dir, "train-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(labels_idx(LABELS))  # not compressed
        status, err = self.run_main()
        self.assertEqual(status, 1)
        self.assertIn("train-labels-idx1-ubyte.gz: cannot read it as gzip", err)


@unittest.skipUnless(os.path.exists(os.path.join(fs.DEFAULT_DIR, "t10k-labels-idx1-ubyte.gz")),
                     "needs Debian's dataset-fashion-mnist")
class RealFilesTest(unittest.TestCase):
    def test_the_first_test_image_is_an_ankle_boot(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "test.csv")
            with contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(fs.main(["--split", "test", "--limit", "2", "--out", out]), 0)
            with open(out) as f:
                rows = [line.rstrip("\n").split(",") for line in f]
        self.assertEqual(len(rows), 1 + 2 * 28)
        self.assertEqual({tuple(r[:2]) for r in rows[1:29]}, {("test-00000", "ankle-boot")})
        self.assertEqual({tuple(r[:2]) for r in rows[29:]}, {("test-00001", "pullover")})
        values = [int(v) for r in rows[1:] for v in r[2:]]
        self.assertTrue(all(0 <= v <= 255 for v in values) and max(values) > 200)


if __name__ == "__main__":
    unittest.main()
