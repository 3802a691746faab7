#!/usr/bin/python3
"""`recur translate` in PyTorch: the same byte-level sequence-to-sequence model with Luong
attention (make_translator_fixture.Translator), the same corpus format, batching scheme, loss,
Adam and clipping, greedy decoding and chrF, for side-by-side speed and quality.

  /usr/bin/python3 python_tools/train_translator_reference.py --corpus DIR --out FILE [options]

The corpus is a folder with train.tsv, valid.tsv and test.tsv (or a corpus name, resolved with
`datasets.py path NAME`): one pair a line, SOURCE<TAB>TARGET, UTF-8, read as
datasets/parallel_corpus.h reads it (exactly one TAB, no empty side, no control character);
the tokens are the bytes. Pairs whose source or target is longer than --max-len bytes are dropped
from every split. A target is fed as BOS + bytes and predicted as bytes + EOS (BOS = 2, EOS = 3).

Each epoch: the training pairs are shuffled (numpy RandomState(seed + epoch), epochs counted from
1), sorted by target length within consecutive windows of 16 batches (a stable sort), cut into
batches of --batch, and the batches shuffled (the same RandomState). A step: the mean
cross-entropy over the batch's real target tokens, backward, global-norm clipping to --clip
(0: none), Adam (PyTorch's defaults but --lr). After each epoch: the validation loss, the mean
cross-entropy per target token over valid.tsv. At the end: greedy decoding of the test sources
(batches of --batch in file order, at most --max-len + 1 tokens each, EOS included), the bytes
before EOS decoded as UTF-8 with errors="replace", and corpus chrF (chrf.py) against the
references.

Same as recur: the model, data format, loss, optimizer, clipping, decoding and metric.
Different: the order of pairs and batches (numpy's generator, not recur's mt19937_64) and the
initial weights (PyTorch's default init under torch.manual_seed(--seed)), so losses and chrF agree
in distribution, not digit for digit.

--out FILE gets {"peer": "pytorch", "torch", "threads", every option (--epochs as
"epochs_planned"), "corpus", "pairs", "dropped", "epochs": [{"epoch", "steps", "train_loss",
"valid_loss", "seconds", "target_tokens_per_s", "valid_seconds"}], "test": {"pairs", "chrf",
"seconds_decode", "examples": the first 10 [source, reference, hypothesis]}}; losses are nats per
target token; "seconds" and "target_tokens_per_s" cover the training steps only.

Threads: on a machine whose cores are busy with other work, PyTorch's OpenMP threads spin and
a step with --threads 2 on 2 cores runs about 10x slower than with 1; use --threads 1 there, or
OMP_WAIT_POLICY=PASSIVE in the environment (recorded in the report).

The decoder runs unpacked (Translator.pack_decoder = False): the same loss and gradients as the
packed one, and its share of a step 3-4x faster on the CPU in PyTorch 1.13; the encoder stays
packed, as its final state must be taken at each source's own end.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chrf  # noqa: E402
from make_translator_fixture import BOS, EOS, PAD_TARGET, Translator  # noqa: E402

SPLITS = ("train", "valid", "test")
WINDOW_BATCHES = 16
VOCAB = 256
EXAMPLES = 10


class UsageError(Exception):
    pass


def read_pairs(path):
    """[(source_bytes, target_bytes)] of a SOURCE<TAB>TARGET file; exits naming the path and
    the line on a malformed one (datasets/parallel_corpus.cpp's checks)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        sys.exit(f"{path}: expected SOURCE<TAB>TARGET lines, the file is empty")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # after the last newline
    pairs = []
    for number, line in enumerate(lines, 1):
        tabs = line.count(b"\t")
        if tabs != 1:
            sys.exit(f"{path}: line {number}: expected SOURCE<TAB>TARGET with exactly one TAB, "
                     f"got {'none' if tabs == 0 else 'more'}")
        source, target = line.split(b"\t")
        for side, name in ((source, "source"), (target, "target")):
            if not side:
                sys.exit(f"{path}: line {number}: expected SOURCE<TAB>TARGET, the {name} is empty")
            bad = next((i for i, c in enumerate(side) if c < 0x20 or c == 0x7F), None)
            if bad is not None:
                sys.exit(f"{path}: line {number}: the {name} holds control character "
                         f"0x{side[bad]:02x} at byte {bad}")
        pairs.append((source, target))
    return pairs


def load_corpus(folder, max_len):
    """{split: pairs} with the pairs longer than max_len bytes on either side dropped, and
    {split: how many were dropped}."""
    corpus, dropped = {}, {}
    for split in SPLITS:
        pairs = read_pairs(os.path.join(folder, f"{split}.tsv"))
        kept = [p for p in pairs if len(p[0]) <= max_len and len(p[1]) <= max_len]
        corpus[split], dropped[split] = kept, len(pairs) - len(kept)
    return corpus, dropped


def resolve_corpus(corpus):
    """A folder as is; a name through `datasets.py path NAME` (a file it names: its folder)."""
    if os.path.isdir(corpus):
        return corpus
    if os.path.sep in corpus or os.path.exists(corpus):
        raise UsageError(f"--corpus {corpus}: not a folder holding train.tsv, valid.tsv, test.tsv")
    script = os.path.join(HERE, "datasets.py")
    proc = subprocess.run(["/usr/bin/python3", script, "path", corpus], stdout=subprocess.PIPE)
    if proc.returncode != 0:
        raise UsageError(f"--corpus {corpus}: not a folder, and {script} path {corpus} exited "
                         f"with status {proc.returncode}")
    path = proc.stdout.decode().rstrip("\r\n")
    return path if os.path.isdir(path) else os.path.dirname(path)


def batches_of(pairs, batch, seed, epoch):
    """One epoch's batches (lists of indices into pairs): shuffled, sorted by target length
    within windows of 16 batches, cut, and the batches shuffled."""
    rng = np.random.RandomState(seed + epoch)
    order = rng.permutation(len(pairs)).tolist()
    window = batch * WINDOW_BATCHES
    out = []
    for w in range(0, len(order), window):
        part = sorted(order[w:w + window], key=lambda i: len(pairs[i][1]))  # stable
        out += [part[k:k + batch] for k in range(0, len(part), batch)]
    return [out[k] for k in rng.permutation(len(out)).tolist()]


def pad_rows(rows, first, last, pad):
    """tokens [B,L] i64 and lengths [B] i64 of byte strings, each behind `first` and before
    `last` (None: nothing), padded with `pad` (datasets/parallel_corpus.cpp fill_tokens)."""
    extra = (first is not None) + (last is not None)
    lengths = [len(r) + extra for r in rows]
    tokens = np.full((len(rows), max(lengths)), pad, dtype=np.int64)
    for b, r in enumerate(rows):
        n = 0
        if first is not None:
            tokens[b, 0] = first
            n = 1
        tokens[b, n:n + len(r)] = np.frombuffer(r, dtype=np.uint8)
        if last is not None:
            tokens[b, n + len(r)] = last
    return torch.from_numpy(tokens), torch.tensor(lengths, dtype=torch.int64)


def batch_tensors(pairs, part):
    """(source, source_lengths, target_in, target_lengths, target_out) of pairs[i], i in part."""
    source, source_lengths = pad_rows([pairs[i][0] for i in part], None, None, 0)
    target_in, target_lengths = pad_rows([pairs[i][1] for i in part], BOS, None, 0)
    target_out, _ = pad_rows([pairs[i][1] for i in part], None, EOS, PAD_TARGET)
    return source, source_lengths, target_in, target_lengths, target_out


def batch_loss(model, tensors, reduction="mean"):
    source, source_lengths, target_in, target_lengths, target_out = tensors
    logits, _ = model(source, source_lengths, target_in, target_lengths)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target_out.reshape(-1),
                           ignore_index=PAD_TARGET, reduction=reduction)


def train_step(model, optimizer, tensors, clip):
    """One Adam step on a batch; returns its loss (mean over the real target tokens)."""
    optimizer.zero_grad()
    loss = batch_loss(model, tensors)
    loss.backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()


@torch.no_grad()
def mean_loss(model, pairs, batch):
    """Mean cross-entropy per target token (target bytes + EOS) over pairs."""
    model.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][1]))
    nats, tokens = 0.0, 0
    for k in range(0, len(order), batch):
        tensors = batch_tensors(pairs, order[k:k + batch])
        nats += batch_loss(model, tensors, reduction="sum").item()
        tokens += int(tensors[3].sum())
    return nats / tokens


@torch.no_grad()
def translate(model, sources, max_tokens, batch):
    """Greedy translations (bytes before EOS, at most max_tokens tokens with the EOS) of byte
    strings, in batches of `batch` in the given order."""
    model.eval()
    out = []
    for k in range(0, len(sources), batch):
        source, source_lengths = pad_rows(sources[k:k + batch], None, None, 0)
        for row in model.greedy(source, source_lengths, max_tokens).tolist():
            n = row.index(EOS) if EOS in row else len(row)
            out.append(bytes(row[:n]))
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", required=True,
                   help="folder with train.tsv, valid.tsv, test.tsv, or a datasets.py name")
    p.add_argument("--out", required=True, help="the JSON report")
    p.add_argument("--cell", default="lstm", choices=("lstm", "gru", "rnn_tanh"))
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true",
                   help="a bidirectional encoder, hidden/2 units per direction")
    p.add_argument("--dropout", type=float, default=0.0,
                   help="on the embeddings, between layers and before the head (training)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=1.0, help="global gradient norm (0: none)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (0: default)")
    p.add_argument("--max-len", type=int, default=64,
                   help="drop pairs with a longer source or target (bytes); translations stop "
                        "after max-len + 1 tokens")
    p.add_argument("--decode-limit", type=int, default=0,
                   help="translate only the first K test pairs (0: all)")
    p.add_argument("--steps", type=int, default=0,
                   help="stop after this many training steps in all, then evaluate (0: none)")
    a = p.parse_args(argv)
    for name in ("embed", "hidden", "layers", "batch", "max_len"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.epochs < 1 or a.lr <= 0 or a.clip < 0 or a.threads < 0 or a.decode_limit < 0:
        p.error("expected --epochs >= 1, --lr > 0, --clip >= 0, --threads >= 0, "
                "--decode-limit >= 0")
    if a.bidirectional and a.hidden % 2:
        p.error(f"--bidirectional splits --hidden between two directions: expected it even, "
                f"got {a.hidden}")
    if not 0 <= a.dropout < 1:
        p.error(f"--dropout: expected a value in [0, 1), got {a.dropout}")
    return a


def main(argv=None):
    a = parse_args(argv)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    try:
        folder = resolve_corpus(a.corpus)
    except UsageError as e:
        print(e, file=sys.stderr)
        return 2
    corpus, dropped = load_corpus(folder, a.max_len)
    train, valid, test = (corpus[s] for s in SPLITS)
    if not train or not valid or not test:
        sys.exit(f"{folder}: a split is empty after dropping pairs longer than {a.max_len} bytes "
                 f"({', '.join(f'{s} {len(corpus[s])}' for s in SPLITS)})")
    torch.manual_seed(a.seed)
    model = Translator(a.cell, VOCAB, a.embed, a.hidden, a.layers, a.bidirectional, a.dropout)
    model.pack_decoder = False  # the same loss and gradients, 3-4x faster (see Translator)
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads: "
          f"{len(train)} train, {len(valid)} valid, {len(test)} test pairs "
          f"(dropped longer than {a.max_len} bytes: "
          f"{', '.join(f'{s} {dropped[s]}' for s in SPLITS)})", file=sys.stderr)

    report = {"peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    for key, value in vars(a).items():  # the options; --epochs as "epochs_planned"
        if key != "threads":
            report["epochs_planned" if key == "epochs" else key] = value
    report["corpus"] = os.path.abspath(folder)
    report["pairs"] = {s: len(corpus[s]) for s in SPLITS}
    report["dropped"] = dropped
    report["epochs"] = []
    step = 0
    for epoch in range(1, a.epochs + 1):
        model.train()
        seconds, nats, tokens = 0.0, 0.0, 0
        for part in batches_of(train, a.batch, a.seed, epoch):
            if a.steps and step >= a.steps:
                break
            t0 = time.perf_counter()
            tensors = batch_tensors(train, part)
            loss = train_step(model, optimizer, tensors, a.clip)
            seconds += time.perf_counter() - t0
            n = int(tensors[3].sum())
            nats += loss * n
            tokens += n
            step += 1
        t0 = time.perf_counter()
        valid_loss = mean_loss(model, valid, a.batch)
        record = {"epoch": epoch, "steps": step, "train_loss": nats / max(tokens, 1),
                  "valid_loss": valid_loss, "seconds": seconds,
                  "target_tokens_per_s": tokens / seconds if seconds > 0 else 0.0,
                  "valid_seconds": time.perf_counter() - t0}
        report["epochs"].append(record)
        print(f"epoch {epoch}: train loss {record['train_loss']:.4f}, valid loss "
              f"{valid_loss:.4f} nats/token, {record['target_tokens_per_s']:.0f} target "
              f"tokens/s, {seconds:.1f} s", file=sys.stderr)
        if a.steps and step >= a.steps:
            break

    pairs = test[:a.decode_limit] if a.decode_limit else test
    t0 = time.perf_counter()
    hypotheses = [h.decode("utf-8", errors="replace")
                  for h in translate(model, [p[0] for p in pairs], a.max_len + 1, a.batch)]
    seconds_decode = time.perf_counter() - t0
    sources = [p[0].decode("utf-8", errors="replace") for p in pairs]
    references = [p[1].decode("utf-8", errors="replace") for p in pairs]
    score = chrf.corpus_chrf(hypotheses, references)
    report["test"] = {"pairs": len(pairs), "chrf": score, "seconds_decode": seconds_decode,
                      "examples": [list(x) for x in zip(sources, references, hypotheses)]
                      [:EXAMPLES]}
    print(f"test: chrF {score:.2f} over {len(pairs)} pairs, decoded in {seconds_decode:.1f} s",
          file=sys.stderr)
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(report, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
