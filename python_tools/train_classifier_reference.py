#!/usr/bin/python3
"""`recur classify` in PyTorch: the same sequence classifier (make_classifier_fixture.SeqClassifier),
the same labelled corpus format, validation split and batching scheme, Adam and clipping, for
side-by-side speed and accuracy (benchmarks/classify_vs_pytorch.sh).

Same as recur: documents LABEL<TAB>TEXT separated by RS, labels sorted by name, every 10th
document of each label held out, the first --max-len bytes of each text as tokens, batches of
--batch documents sorted by length within windows of 16 batches. Different: the order of
documents (Python's random with --seed, not recur's generator) and the initial weights (PyTorch's
own), so accuracies agree in distribution, not digit for digit.

  /usr/bin/python3 python_tools/train_classifier_reference.py --data FILE --out DIR [options]

Writes DIR/metrics.jsonl with one record per epoch, as recur classify does ("kind": "val",
"epoch", "accuracy", "loss", "train_seconds", "train_docs_per_s", ...).
"""
import argparse
import json
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_classifier_fixture import SeqClassifier  # noqa: E402

RS, TAB = b"\x1e", b"\t"
VALIDATION_EVERY = 10
WINDOW_BATCHES = 16


def read_labelled(path):
    """[(label_name, text_bytes)] of a labelled corpus."""
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(RS)
    if parts and not parts[-1]:
        parts.pop()  # after the last RS
    docs = []
    for i, doc in enumerate(parts):
        label, tab, text = doc.partition(TAB)
        if not tab or not label or not text:
            sys.exit(f"{path}: document {i + 1}: expected LABEL<TAB>TEXT")
        docs.append((label.decode("utf-8"), text))
    return docs


def split(labels_of_docs, n_labels):
    seen = [0] * n_labels
    train, val = [], []
    for i, label in enumerate(labels_of_docs):
        (val if seen[label] % VALIDATION_EVERY == 0 else train).append(i)
        seen[label] += 1
    return train, val


def batches_of(docs, indices, batch, max_len, rng):
    indices = list(indices)
    rng.shuffle(indices)
    window = batch * WINDOW_BATCHES
    out = []
    for w in range(0, len(indices), window):
        part = sorted(indices[w:w + window], key=lambda i: min(len(docs[i][1]), max_len))
        out += [part[k:k + batch] for k in range(0, len(part), batch)]
    rng.shuffle(out)
    return out


def tensors(docs, labels, part, max_len):
    lengths = [min(len(docs[i][1]), max_len) for i in part]
    T = max(lengths)
    tokens = torch.zeros(len(part), T, dtype=torch.int64)
    for r, i in enumerate(part):
        tokens[r, :lengths[r]] = torch.tensor(list(docs[i][1][:lengths[r]]), dtype=torch.int64)
    targets = torch.tensor([labels[i] for i in part], dtype=torch.int64)
    return tokens, torch.tensor(lengths, dtype=torch.int64), targets


def evaluate(model, docs, labels, indices, max_len, batch):
    model.eval()
    correct, nats = 0, 0.0
    with torch.no_grad():
        for k in range(0, len(indices), batch):
            tokens, lengths, targets = tensors(docs, labels, indices[k:k + batch], max_len)
            logits = model(tokens, lengths)
            nats += F.cross_entropy(logits, targets, reduction="sum").item()
            correct += (logits.argmax(1) == targets).sum().item()
    return correct / len(indices), nats / len(indices)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cell", default="lstm", choices=("lstm", "gru", "rnn_tanh"))
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--max-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--steps", type=int, default=0,
                   help="stop after this many steps, then validate (0: run the epochs)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    p.add_argument("--no-pack", dest="pack", action="store_false",
                   help="run the RNN over the padded batch (no pack_padded_sequence): faster in "
                        "PyTorch 1.13 on the CPU, but the final states then read the padding of "
                        "shorter documents, so the numbers are not recur's")
    a = p.parse_args(argv)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)

    docs = read_labelled(a.data)
    names = sorted({label for label, _ in docs})
    labels = [names.index(label) for label, _ in docs]
    train, val = split(labels, len(names))
    model = SeqClassifier(a.cell, 256, a.embed, a.hidden, a.layers, a.bidirectional, len(names))
    model.pack = a.pack
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    os.makedirs(a.out, exist_ok=True)
    start, train_seconds, trained, step = time.monotonic(), 0.0, 0, 0
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{'packed' if a.pack else 'padded'}: {len(train)} train, "
          f"{len(val)} validation documents, labels {', '.join(names)}", file=sys.stderr)
    with open(os.path.join(a.out, "metrics.jsonl"), "w") as metrics:
        for epoch in range(1, a.epochs + 1):
            model.train()
            loss_sum, seen = 0.0, 0
            for part in batches_of(docs, train, a.batch, a.max_len, rng):
                if a.steps and step >= a.steps:
                    break
                step += 1
                t0 = time.monotonic()
                tokens, lengths, targets = tensors(docs, labels, part, a.max_len)
                optimizer.zero_grad()
                loss = F.cross_entropy(model(tokens, lengths), targets)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
                optimizer.step()
                train_seconds += time.monotonic() - t0
                trained += len(part)
                seen += len(part)
                loss_sum += loss.item() * len(part)
            accuracy, val_loss = evaluate(model, docs, labels, val, a.max_len, max(a.batch, 64))
            record = {"kind": "val", "epoch": epoch, "step": step, "accuracy": accuracy,
                      "loss": val_loss, "train_loss": loss_sum / max(seen, 1),
                      "seconds": time.monotonic() - start,
                      "train_seconds": train_seconds, "train_docs_per_s": trained / train_seconds,
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "packed": a.pack}
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
            print(f"epoch {epoch}: validation accuracy {accuracy:.4f}, loss {val_loss:.4f}, "
                  f"{trained / train_seconds:.1f} docs/s", file=sys.stderr)
            if a.steps and step >= a.steps:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
