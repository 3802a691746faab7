#!/usr/bin/python3
"""A Python port of recur's text data pipeline, batch for batch: the corpus split, the TBPTT
batcher and the validation procedure of `recur train`.

    datasets/vocabulary.cpp     Vocabulary.bytes() / Vocabulary.chars_of(data)
    datasets/text_corpus.cpp    TextCorpus(path, tokens), .split(val_fraction)
    datasets/tbptt_batcher.cpp  TbpttBatcher(corpus, range, batch, bptt).next()
    models/char_lm_trainer.cpp  validation_batches(...) (the batches CharLMTrainer::evaluate reads)

The port gives the same batches (inputs, targets, lengths, reset flags), the same shards, cursors
and epochs as the C++ code; tests/tools/dump_batches.cpp prints the C++ side and
python_tools/tests/test_tbptt_reference.py compares the two.

Internally a corpus is a sequence of tokens (one per byte, or one per UTF-8 sequence under a
character vocabulary) held as numpy arrays; cursors are token indices and are converted to byte
offsets (the C++ cursors) where they are shown. Only numpy and the standard library are used.
"""

import math
import mmap
import os

import numpy as np

RS = 0x1E  # the ASCII record separator that ends each document
IGNORE = -1  # the target at padded steps
SNIFF_BYTES = 1 << 20  # the prefix TextCorpus checks for binary content


class CorpusError(ValueError):
    """What recur::Error reports for corpora, batchers and vocabularies."""


# --------------------------------------------------------------------------------- UTF-8


def utf8_decode_slow(data, i, n):
    """datasets/vocabulary.cpp utf8_decode_slow: (length, code point) of the UTF-8 sequence at
    data[i], of which the bytes below n are readable; (0, 0) when it is not valid UTF-8."""
    lead = data[i]
    if lead < 0x80:
        return 1, lead
    if lead < 0xC2:
        return 0, 0
    if lead < 0xE0:
        length, cp = 2, lead & 0x1F
    elif lead < 0xF0:
        length, cp = 3, lead & 0x0F
    elif lead < 0xF5:
        length, cp = 4, lead & 0x07
    else:
        return 0, 0
    if n - i < length:
        return 0, 0
    for k in range(1, length):
        b = data[i + k]
        if (b & 0xC0) != 0x80:
            return 0, 0
        cp = (cp << 6) | (b & 0x3F)
    if length == 3 and (cp < 0x800 or 0xD800 <= cp <= 0xDFFF):
        return 0, 0
    if length == 4 and (cp < 0x10000 or cp > 0x10FFFF):
        return 0, 0
    return length, cp


def _utf8_error_offset(data):
    """The byte offset of the first invalid UTF-8 in data (Python's strict decoder rejects
    exactly what utf8_decode_slow rejects), or -1 when all of it is valid."""
    try:
        str(data, "utf-8")
        return -1
    except UnicodeDecodeError as e:
        return e.start


# --------------------------------------------------------------------------------- vocabulary


class Vocabulary:
    """bytes(): 256 symbols, id = byte value. chars(code_points): the code points sorted
    ascending, id = rank. separator is the id of RS, or -1 when a character vocabulary lacks it."""

    def __init__(self, code_points=None):
        self.is_bytes = code_points is None
        if self.is_bytes:
            self.code_points = None
            self.size = 256
            self.separator = RS
        else:
            cps = np.asarray(code_points, dtype=np.int64)
            if cps.size == 0:
                raise CorpusError("character vocabulary: expected at least one code point, got none")
            if np.any(np.diff(cps) <= 0):
                raise CorpusError("character vocabulary: expected strictly ascending code points")
            self.code_points = cps
            self.size = int(cps.size)
            hit = np.flatnonzero(cps == RS)
            self.separator = int(hit[0]) if hit.size else -1

    @staticmethod
    def bytes():
        return Vocabulary()

    @staticmethod
    def chars_of(data):
        """All code points of the UTF-8 text `data` (bytes-like), sorted: Vocabulary::chars_of."""
        return Vocabulary(np.unique(_code_points(data, "the text")[1]))

    def id_of(self, symbol):
        if self.is_bytes:
            return symbol if 0 <= symbol < 256 else -1
        k = int(np.searchsorted(self.code_points, symbol))
        return k if k < self.size and self.code_points[k] == symbol else -1

    def to_json(self):
        if self.is_bytes:
            return {"kind": "bytes"}
        return {"kind": "chars", "code_points": [int(c) for c in self.code_points]}

    def __eq__(self, other):
        if not isinstance(other, Vocabulary) or self.is_bytes != other.is_bytes:
            return False
        return self.is_bytes or np.array_equal(self.code_points, other.code_points)


def _code_points(data, what):
    """(token start offsets, code points) of valid UTF-8 `data`, vectorised; raises CorpusError
    naming the byte offset of the first invalid sequence."""
    n = len(data)
    if n == 0:
        raise CorpusError(f"cannot build a character vocabulary of {what}: expected text, got 0 bytes")
    bad = _utf8_error_offset(data)
    if bad >= 0:
        raise CorpusError(f"{what} is not valid UTF-8 at byte {bad} (0x{data[bad]:02x})")
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = np.flatnonzero((raw & 0xC0) != 0x80)
    padded = np.concatenate([raw, np.zeros(3, np.uint8)]).astype(np.int64)
    b0 = padded[starts]
    b1 = padded[starts + 1] & 0x3F
    b2 = padded[starts + 2] & 0x3F
    b3 = padded[starts + 3] & 0x3F
    cp = np.where(
        b0 < 0x80, b0,
        np.where(b0 < 0xE0, ((b0 & 0x1F) << 6) | b1,
                 np.where(b0 < 0xF0, ((b0 & 0x0F) << 12) | (b1 << 6) | b2,
                          ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3)))
    return starts.astype(np.int64), cp


# --------------------------------------------------------------------------------- corpus


def _llround(x):
    """std::llround for finite x >= 0: halfway cases away from zero."""
    whole = math.floor(x)
    return int(whole) + (1 if x - whole >= 0.5 else 0)


class TextCorpus:
    """datasets/text_corpus.h: a corpus file (memory-mapped) or bytes, read as tokens.

    tokens: "bytes" (256 symbols), "chars" (the code points of the whole file, as
    Vocabulary::chars_of builds them) or a Vocabulary. Ranges are (begin, end) byte offsets.
    """

    def __init__(self, source, tokens="bytes"):
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.path = "<bytes>"
            self.data = bytes(source)
        else:
            self.path = os.fspath(source)
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self.data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self.nbytes = len(self.data)
        if self.nbytes == 0:
            raise CorpusError(f"corpus '{self.path}' is empty")
        if isinstance(tokens, Vocabulary):
            vocabulary = tokens
        elif tokens == "bytes":
            vocabulary = Vocabulary.bytes()
        elif tokens == "chars":
            vocabulary = None
        else:
            raise CorpusError(f"tokens must be 'bytes' or 'chars', got '{tokens}'")
        self._check_not_binary(vocabulary is None or not vocabulary.is_bytes)
        raw = np.frombuffer(self.data, dtype=np.uint8)
        if vocabulary is not None and vocabulary.is_bytes:
            self.vocabulary = vocabulary
            self.starts = None  # token k starts at byte k
            self.ids = raw
            self.ntokens = self.nbytes
        else:
            starts, cp = _code_points(self.data, f"corpus '{self.path}'")
            if vocabulary is None:
                vocabulary = Vocabulary(np.unique(cp))
            ids = np.searchsorted(vocabulary.code_points, cp)
            clipped = np.minimum(ids, vocabulary.size - 1)
            unknown = np.flatnonzero(vocabulary.code_points[clipped] != cp)
            if unknown.size:
                k = unknown[0]
                raise CorpusError(f"corpus '{self.path}': symbol U+{int(cp[k]):04X} at byte "
                                  f"{int(starts[k])} is not in the vocabulary of "
                                  f"{vocabulary.size} characters")
            self.vocabulary = vocabulary
            self.starts = starts
            self.ids = ids.astype(np.int64)
            self.ntokens = int(starts.size)
        # Token indices of the separators (RS is one byte, never inside a UTF-8 sequence).
        if self.starts is None:
            self.seps = np.flatnonzero(raw == RS)
        else:
            self.seps = np.flatnonzero(raw[self.starts] == RS)

    def _check_not_binary(self, strict):
        window = min(self.nbytes, SNIFF_BYTES)
        nul = self.data.find(b"\x00", 0, window)
        if nul >= 0:
            raise CorpusError(f"corpus '{self.path}' looks binary: a NUL byte at offset {nul}")
        # Fast path: everything up to the first invalid sequence decodes as the C++ loop decodes
        # it (a sequence cut by the window's end is decoded from the bytes beyond it).
        bad = _utf8_error_offset(bytes(self.data[:min(self.nbytes, window + 3)]))
        if bad < 0 or bad >= window:
            return
        invalid, first = self._invalid_in_window(window, start=bad)
        if invalid * 100 > window:
            raise CorpusError(f"corpus '{self.path}' looks binary: {invalid} of its first {window} "
                              f"bytes are not valid UTF-8 (the first at offset {first})")
        if strict and invalid:
            raise CorpusError(f"corpus '{self.path}' is not valid UTF-8 at byte {first} "
                              f"(0x{self.data[first]:02x}); a character vocabulary needs UTF-8 text")

    def _invalid_in_window(self, window, start=0):
        # The exact C++ loop (check_not_binary), from a token start `start` (0 or a fast-path hint).
        data, n = self.data, self.nbytes
        invalid, first, i = 0, -1, start
        while i < window:
            length, _ = utf8_decode_slow(data, i, n)
            if length > 0:
                i += length
                continue
            if first < 0:
                first = i
            invalid += 1
            i += 1
        return invalid, first

    # ---- byte offsets and token indices

    def offset_of(self, index):
        """The byte offset where token `index` starts (nbytes for index == ntokens)."""
        if index >= self.ntokens:
            return self.nbytes
        return int(index) if self.starts is None else int(self.starts[index])

    def index_of(self, offset):
        """The index of the first token starting at or after byte `offset`."""
        if self.starts is None:
            return int(offset)
        return int(np.searchsorted(self.starts, offset, side="left"))

    def is_token_boundary(self, offset):
        if not 0 <= offset <= self.nbytes:
            raise CorpusError(f"corpus '{self.path}': offset {offset} is outside [0, {self.nbytes}]")
        return offset == self.nbytes or self.vocabulary.is_bytes or (self.data[offset] & 0xC0) != 0x80

    def token_boundary_at_or_after(self, offset):
        offset = min(max(offset, 0), self.nbytes)
        return self.offset_of(self.index_of(offset))

    def document_start_at_or_after(self, offset, limit):
        offset = max(offset, 0)
        limit = min(limit, self.nbytes)
        if offset >= limit:
            return -1
        if offset == 0 or self.data[offset - 1] == RS:
            return offset
        q = self.data.find(b"\x1e", offset, limit - 1)
        return -1 if q < 0 else q + 1

    def split(self, val_fraction):
        """TextCorpus::split: ((0, start), (start, nbytes))."""
        if not (math.isfinite(val_fraction) and 0 < val_fraction < 1):
            raise CorpusError(f"corpus split: expected a validation fraction in (0, 1), got {val_fraction}")
        n = self.nbytes
        raw_start = n - _llround(val_fraction * float(n))
        start = -1
        if 0 < raw_start < n:
            start = self.document_start_at_or_after(raw_start, n)
            if start < 0:
                start = self.token_boundary_at_or_after(raw_start)
        if not 0 < start < n:
            raise CorpusError(f"corpus '{self.path}' of {n} bytes is too small to split off "
                              f"{val_fraction} for validation: both the training and the "
                              "validation part must be non-empty")
        return (0, start), (start, n)

    def next_separator(self, index):
        """The index of the first separator token at or after `index`, or ntokens."""
        k = int(np.searchsorted(self.seps, index, side="left"))
        return int(self.seps[k]) if k < self.seps.size else self.ntokens

    def separators_in(self, begin, end):
        """The number of separator tokens with index in [begin, end)."""
        return int(np.searchsorted(self.seps, end) - np.searchsorted(self.seps, begin))

    def is_separator(self, index):
        k = int(np.searchsorted(self.seps, index, side="left"))
        return k < self.seps.size and self.seps[k] == index


# --------------------------------------------------------------------------------- batcher


class TextBatch:
    """inputs [B,T] int64 (0 at padded steps), targets [B,T] int64 (-1 at padded steps),
    lengths [B] int64 in [1,T], reset [B] uint8, tokens = lengths.sum()."""

    __slots__ = ("inputs", "targets", "lengths", "reset", "tokens")

    def __init__(self, inputs, targets, lengths, reset):
        self.inputs, self.targets, self.lengths, self.reset = inputs, targets, lengths, reset
        self.tokens = int(lengths.sum())


class _Row:
    __slots__ = ("begin", "end", "cursor", "epochs", "reset")

    def __init__(self, begin, end):
        self.begin = self.cursor = begin  # token indices
        self.end = end
        self.epochs = 0
        self.reset = True


class TbpttBatcher:
    """datasets/tbptt_batcher.h, batch for batch (see that header for the rules)."""

    def __init__(self, corpus, text_range, batch, bptt):
        begin, end = text_range
        if batch < 1 or bptt < 1:
            raise CorpusError(f"TbpttBatcher: expected batch B >= 1 and bptt T >= 1, got B={batch} T={bptt}")
        if not 0 <= begin < end <= corpus.nbytes:
            raise CorpusError(f"TbpttBatcher: expected a non-empty range within [0, {corpus.nbytes}) "
                              f"of corpus '{corpus.path}', got [{begin}, {end})")
        if not (corpus.is_token_boundary(begin) and corpus.is_token_boundary(end)):
            raise CorpusError(f"TbpttBatcher: range [{begin}, {end}) of corpus '{corpus.path}' must "
                              "begin and end at token boundaries, not inside a UTF-8 sequence")
        self.corpus = corpus
        self.range = (begin, end)
        self.batch = batch
        self.bptt = bptt
        length = end - begin
        bounds = []
        for r in range(batch + 1):
            cut = r * length // batch
            bounds.append(corpus.index_of(begin + cut))  # inner bounds snap forward to a token
        self.rows = []
        for r in range(batch):
            row = _Row(bounds[r], bounds[r + 1])
            if not (row.begin < row.end and self._has_input(row.begin, row.end)):
                raise CorpusError(
                    f"range of {length} bytes is too small for B={batch} streams: stream {r} gets "
                    f"bytes [{corpus.offset_of(row.begin)}, {corpus.offset_of(row.end)}), which "
                    "hold no input (a token followed by another of the same document)")
            self._settle(row)
            self.rows.append(row)

    def _has_input(self, begin, end):
        # A non-separator token k with k + 1 < end.
        return end - 1 - begin > self.corpus.separators_in(begin, end - 1)

    def _settle(self, row):
        corpus = self.corpus
        p = row.cursor
        while True:
            if p >= row.end:  # the shard is used up: the next pass starts
                p = row.begin
                row.epochs += 1
                row.reset = True
                continue
            if corpus.is_separator(p):  # a lone RS: an empty document
                p += 1
                row.reset = True
                continue
            if p + 1 >= row.end:  # the shard's last token, not RS: only a target
                p = row.end
                continue
            break
        row.cursor = p

    def _fill_row(self, row, inputs, targets):
        i, e, T = row.cursor, row.end, self.bptt
        sep = self.corpus.next_separator(i + 1)
        last = min(sep, e - 1, i + T)  # the index of the chunk's last target
        if last == sep:  # the document ends: the next chunk starts the next one
            row.cursor, row.reset = sep + 1, True
        elif last == e - 1:  # the shard ends without RS; settle() wraps
            row.cursor, row.reset = e, True
        else:  # the document goes on in the next batch, with the state carried
            row.cursor, row.reset = last, False
        n = last - i
        ids = self.corpus.ids
        inputs[:n] = ids[i:last]
        targets[:n] = ids[i + 1:last + 1]
        self._settle(row)
        return n

    def next(self):
        B, T = self.batch, self.bptt
        inputs = np.zeros((B, T), np.int64)
        targets = np.full((B, T), IGNORE, np.int64)
        lengths = np.empty(B, np.int64)
        reset = np.empty(B, np.uint8)
        for b, row in enumerate(self.rows):
            reset[b] = 1 if row.reset else 0
            lengths[b] = self._fill_row(row, inputs[b], targets[b])
        return TextBatch(inputs, targets, lengths, reset)

    def shards(self):
        """The byte range of each row's shard."""
        return [(self.corpus.offset_of(r.begin), self.corpus.offset_of(r.end)) for r in self.rows]

    def epoch(self):
        return min(r.epochs for r in self.rows)

    def rows_epochs(self):
        return [r.epochs for r in self.rows]

    def state_rows(self):
        """The "rows" of TbpttBatcher::state(): byte cursors, completed passes, pending reset."""
        return [{"cursor": self.corpus.offset_of(r.cursor), "epochs": r.epochs, "reset": r.reset}
                for r in self.rows]


# --------------------------------------------------------------------------------- validation


def validation_rows(val_range, batch, bptt):
    """CharLMTrainer::evaluate's stream count: clamp(val_bytes / (4*bptt), 1, batch)."""
    return min(max((val_range[1] - val_range[0]) // (4 * bptt), 1), batch)


def validation_batches(corpus, val_range, batch, bptt, val_tokens):
    """The batches CharLMTrainer::evaluate feeds the model, in order, with the targets of rows
    whose first pass is complete set to -1. Yields TextBatch objects whose `tokens` counts the
    targets that are not ignored. The loop stops when every row has completed its first pass or
    when val_tokens (0: no limit) targets have been counted, as the C++ loop does. The recurrent
    state starts at zero and is reset for the rows whose reset flag is 1 before each batch."""
    rows = validation_rows(val_range, batch, bptt)
    val = TbpttBatcher(corpus, val_range, rows, bptt)
    counted = 0
    while val.epoch() < 1 and (val_tokens == 0 or counted < val_tokens):
        passes = val.rows_epochs()
        b = val.next()
        for r in range(rows):
            if passes[r] >= 1:
                b.targets[r, :] = IGNORE
        b.tokens = int((b.targets != IGNORE).sum())
        counted += b.tokens
        yield b
