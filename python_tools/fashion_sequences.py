#!/usr/bin/python3
"""Fashion-MNIST as labelled numeric sequences for `recur classify`: each 28x28 image read row by
row, one time step a row.

    fashion_sequences.py --out FILE.csv [--split train|test] [--limit N]
        [--dir /usr/share/datasets/fashion-mnist]

Reads Debian's Fashion-MNIST (`apt-get install dataset-fashion-mnist`): --split train (default)
reads train-{images-idx3,labels-idx1}-ubyte.gz, 60,000 images; --split test the t10k files,
10,000. --limit N keeps the first N images of the file (default: all; a larger N keeps all).

Writes the labelled-sequences CSV that `recur classify` and train_classifier_reference.py read:

    id,label,p0,p1,...,p27
    train-00000,ankle-boot,0,0,...,0          28 lines per image: its rows 0..27 in order, the
    ...                                      28 pixels of a row as integers 0..255

`id` is SPLIT-INDEX, the image's 0-based index in its file in 5 digits (train-00042, test-00007);
`label` is its class name, one of LABELS below in the order of their numbers 0..9 (the
Fashion-MNIST README's classes: T-shirt/top, Trouser, ..., Ankle boot). Lines end in "\\n". The
file is written to a temporary file beside it and renamed into place, after both input files
have been checked: the IDX magic numbers (2051 images, 2049 labels), 28x28 images, equal counts,
sizes that match the counts exactly and labels in 0..9.

Exit status: 0 ok, 1 a missing or bad input file, or the output cannot be written, 2 a usage
error (a negative --limit, an unknown --split).
"""

import argparse
import gzip
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

PROG = "fashion_sequences.py"
DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
LABELS = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
          "ankle-boot")
FILES = {  # split -> (images, labels)
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
SIDE = 28  # rows = time steps, columns = features
INSTALL_HINT = "install Debian's Fashion-MNIST with `apt-get install dataset-fashion-mnist`"


class FashionError(Exception):
    """A missing or malformed input file; the message names it."""


def log(message):
    print(f"{PROG}: {message}", file=sys.stderr)


def read_gzip(path):
    """The decompressed bytes of path; a missing file says how to install the data set."""
    if not os.path.exists(path):
        raise FashionError(f"{path}: no such file; {INSTALL_HINT} (or pass --dir)")
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise FashionError(f"{path}: cannot read it as gzip: {e}") from e


def parse_idx(path, data, magic, dims):
    """(shape, payload) of an IDX file of unsigned bytes with `dims` dimensions, checking its
    magic number and that the payload holds exactly the product of the shape."""
    header = 4 + 4 * dims
    if len(data) < header:
        raise FashionError(f"{path}: {len(data)} bytes, shorter than an IDX header ({header})")
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise FashionError(f"{path}: IDX magic number {found}, expected {magic}")
    shape = struct.unpack(f">{dims}I", data[4:header])
    size = 1
    for d in shape:
        size *= d
    if len(data) - header != size:
        raise FashionError(f"{path}: {len(data) - header} bytes after the header, expected "
                           f"{size} for shape {list(shape)}")
    return shape, data[header:]


def read_split(directory, split):
    """(pixels, labels): the images' bytes (count * 28 * 28, row by row) and their label
    numbers, after checking both files against each other."""
    images_path, labels_path = (os.path.join(directory, name) for name in FILES[split])
    shape, pixels = parse_idx(images_path, read_gzip(images_path), IMAGES_MAGIC, 3)
    if shape[1:] != (SIDE, SIDE):
        raise FashionError(f"{images_path}: images of {shape[1]}x{shape[2]}, expected "
                           f"{SIDE}x{SIDE}")
    (count,), labels = parse_idx(labels_path, read_gzip(labels_path), LABELS_MAGIC, 1)
    if count != shape[0]:
        raise FashionError(f"{labels_path}: {count} labels for {shape[0]} images in "
                           f"{images_path}")
    for i, label in enumerate(labels):
        if label >= len(LABELS):
            raise FashionError(f"{labels_path}: label {label} of image {i} is not in "
                               f"0..{len(LABELS) - 1}")
    return pixels, labels


def header_line():
    return ",".join(["id", "label"] + [f"p{c}" for c in range(SIDE)]) + "\n"


def sequence_lines(split, pixels, labels, count):
    """The CSV lines ("\\n" included) of the first `count` images: the header, then 28 lines
    each."""
    text = [str(v) for v in range(256)]
    yield header_line()
    step = SIDE * SIDE
    for i in range(count):
        prefix = f"{split}-{i:05d},{LABELS[labels[i]]},"
        image = pixels[i * step:(i + 1) * step]
        for r in range(SIDE):
            yield prefix + ",".join(text[v] for v in image[r * SIDE:(r + 1) * SIDE]) + "\n"


def atomic_write_lines(path, lines):
    """Writes the lines to a temporary file beside path, then renames it into place."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            f.writelines(lines)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def non_negative(value):
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return n


def main(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--split", choices=tuple(FILES), default="train",
                   help="train (60,000 images) or test (the t10k files, 10,000)")
    p.add_argument("--limit", type=non_negative, default=None, metavar="N",
                   help="only the first N images (default: all)")
    p.add_argument("--out", required=True, metavar="FILE.csv")
    p.add_argument("--dir", default=DEFAULT_DIR,
                   help=f"the folder of the .gz files (default {DEFAULT_DIR})")
    a = p.parse_args(argv)

    try:
        pixels, labels = read_split(a.dir, a.split)
    except FashionError as e:
        log(f"error: {e}")
        return 1
    count = len(labels) if a.limit is None else min(a.limit, len(labels))
    try:
        atomic_write_lines(a.out, sequence_lines(a.split, pixels, labels, count))
    except OSError as e:
        log(f"error: {a.out}: {e.strerror or e}")
        return 1
    log(f"wrote {a.out}: {count} sequences of {a.split} ({SIDE} steps x {SIDE} features), "
        f"{len(LABELS)} labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
