#!/usr/bin/python3
"""`recur classify` in PyTorch: the same sequence classifier (make_classifier_fixture.SeqClassifier),
the same labelled corpus format, validation split and batching scheme, Adam and clipping, for
side-by-side speed and accuracy (benchmarks/classify_vs_pytorch.sh).

Same as recur: documents LABEL<TAB>TEXT separated by RS, labels sorted by name, every 10th
document of each label held out, the first --max-len bytes of each text as tokens, batches of
--batch documents sorted by length within windows of 16 batches. Different: the order of
documents (Python's random with --seed, not recur's generator) and the initial weights (PyTorch's
own), so accuracies agree in distribution, not digit for digit.

--data FILE.csv (the .csv suffix decides) reads numeric feature sequences instead, recur's
labelled sequences (datasets/labelled_sequences.h), e.g. from fashion_sequences.py:

  id,label,x,y,z              header: `id` names the sequence, `label` its class, every other
  walk-001,walking,0.1,-1,0   column is a feature in header order; one line per time step, the
  walk-001,walking,0.2,-1,0   rows of a sequence consecutive and of one label

The same CSV dialect as recur (fields split at commas, spaces and one pair of surrounding double
quotes dropped, blank lines skipped, finite decimal numbers; a malformed line stops the script,
naming it). Values are kept as float32, as recur keeps them. The model has no embedding (--embed
is unused): the RNN reads (value - mean) / std per feature, mean and population std (std 0 ->
1) over every row of the training sequences, as float32 [B,T,F] padded with zeros. Labels,
split and batches as for documents, a sequence's steps for a document's bytes.

  /usr/bin/python3 python_tools/train_classifier_reference.py --data FILE --out DIR [options]

Writes DIR/metrics.jsonl with one record per epoch, as recur classify does ("kind": "val",
"epoch", "accuracy", "loss", "train_seconds", "train_docs_per_s", ...).
"""
import argparse
import array
import json
import math
import os
import random
import re
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
ID_COLUMN, LABEL_COLUMN = "id", "label"
# What recur's parse_finite takes (std::from_chars after an optional '+'): ASCII digits only,
# while float() would also take '1_000', 'nan', 'inf' or non-ASCII digits.
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NUMBER_CHARS = "0123456789.eE+-"


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


def is_feature_csv(path):
    """Whether --data names labelled sequences (a .csv file) rather than byte documents."""
    return os.path.splitext(path)[1] == ".csv"


def csv_fields(line):
    """The fields of one CSV line as recur splits them: at every comma, spaces and tabs around a
    field and one pair of surrounding double quotes dropped."""
    fields = line.split(",")
    if '"' not in line and " " not in line and "\t" not in line:
        return fields
    out = []
    for field in fields:
        field = field.strip(" \t")
        if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
            field = field[1:-1]
        out.append(field)
    return out


def parse_finite(text):
    """text as a float when recur would take it as a finite number, else None."""
    if not NUMBER_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def sequence_columns(path, header):
    """(id column, label column, [(feature name, column)]) of the header line's fields."""
    where = f"{path}:1"
    seen = set()
    for k, name in enumerate(header):
        if not name:
            sys.exit(f"{where}: column {k + 1} of the header has no name")
        if name in seen:
            sys.exit(f"{where}: column '{name}' appears twice")
        seen.add(name)
    names = ",".join(header)
    if ID_COLUMN not in seen:
        sys.exit(f"{where}: expected an id column '{ID_COLUMN}' naming each row's sequence, "
                 f"got '{names}'")
    if LABEL_COLUMN not in seen:
        sys.exit(f"{where}: expected a label column '{LABEL_COLUMN}' holding each sequence's "
                 f"class, got '{names}'")
    features = [(name, k) for k, name in enumerate(header) if name not in (ID_COLUMN, LABEL_COLUMN)]
    if not features:
        sys.exit(f"{where}: expected at least one feature column beside '{ID_COLUMN}' and "
                 f"'{LABEL_COLUMN}', got '{names}'")
    return header.index(ID_COLUMN), header.index(LABEL_COLUMN), features


def feature_row(where, texts, names):
    """The values of one line's feature fields `texts` (of the columns `names`); one that is not
    a finite number stops the script, naming the line (where) and the column."""
    try:  # fast path: float() of NUMBER_CHARS takes what NUMBER_RE takes
        row = list(map(float, texts))
        if math.isfinite(sum(row)) and not ",".join(texts).strip(NUMBER_CHARS + ","):
            return row
    except ValueError:
        pass
    row = []  # slow path: a bad value, or a sum beyond the floats
    for name, text in zip(names, texts):
        value = parse_finite(text)
        if value is None:
            sys.exit(f"{where}: column '{name}' holds '{text}', expected a finite number")
        row.append(value)
    return row


def _checked_utf8(path, lines):
    """The (number, line) pairs of lines; text that is not UTF-8 stops the script."""
    try:
        yield from lines
    except UnicodeDecodeError as e:
        sys.exit(f"{path}: not UTF-8 text ({e})")


def read_sequences(path):
    """(feature names, [(label_name, values)]) of a labelled-sequences CSV file, one entry per
    sequence in file order; values is a float32 tensor [steps, features] (views of one
    tensor holding every row)."""
    values = array.array("f")
    header, sequences, finished = None, [], set()  # sequences: [id, label, first row, steps]
    rows = 0
    with open(path, encoding="utf-8", newline="\n") as f:
        for line_no, line in _checked_utf8(path, enumerate(f, 1)):
            line = line[:-1] if line.endswith("\n") else line
            line = line[:-1] if line.endswith("\r") else line
            if not line.strip(" \t"):
                continue  # blank line
            fields = csv_fields(line)
            if header is None:
                header = fields
                id_col, label_col, features = sequence_columns(path, header)
                names = [name for name, _ in features]
                cols = [k for _, k in features]
                col_first, col_end = cols[0], cols[-1] + 1
                if cols != list(range(col_first, col_end)):  # not one run of columns
                    col_first = col_end = None
                continue
            where = f"{path}:{line_no}"
            if len(fields) != len(header):
                sys.exit(f"{where}: expected {len(header)} comma-separated fields like the "
                         f"header, got {len(fields)}")
            seq_id, label = fields[id_col], fields[label_col]
            if not seq_id:
                sys.exit(f"{where}: empty id (column '{ID_COLUMN}')")
            if not label:
                sys.exit(f"{where}: empty label (column '{LABEL_COLUMN}')")
            if not sequences or sequences[-1][0] != seq_id:
                if sequences:
                    finished.add(sequences[-1][0])
                if seq_id in finished:
                    sys.exit(f"{where}: sequence '{seq_id}' continues after other sequences; "
                             "expected the rows of a sequence to be consecutive")
                sequences.append([seq_id, label, rows, 0])
            if label != sequences[-1][1]:
                sys.exit(f"{where}: sequence '{seq_id}' changes its label from "
                         f"'{sequences[-1][1]}' to '{label}'; expected one label per sequence")
            texts = (fields[col_first:col_end] if col_first is not None
                     else [fields[k] for k in cols])
            values.extend(feature_row(where, texts, names))
            sequences[-1][3] += 1
            rows += 1
    if header is None:
        sys.exit(f"{path}: empty file; expected a header line (id,label,features...) and rows")
    if not sequences:
        sys.exit(f"{path}: expected rows after the header, got none")
    table = torch.frombuffer(values, dtype=torch.float32).view(rows, len(features))
    bad = (~torch.isfinite(table)).any(1).nonzero()
    if len(bad):
        row = int(bad[0])
        seq_id, _, first, _ = next(s for s in sequences if s[2] <= row < s[2] + s[3])
        sys.exit(f"{path}: sequence '{seq_id}', step {row - first + 1}: a value beyond float32's "
                 "range (about 3.4e38)")
    return names, [(label, table[first:first + steps]) for _, label, first, steps in sequences]


def label_indices(docs):
    """(label names sorted, each document's label index) of [(label_name, ...)]."""
    names = sorted({label for label, _ in docs})
    index = {name: k for k, name in enumerate(names)}
    return names, [index[label] for label, _ in docs]


def fit_standardisation(seqs, indices):
    """(mean, std) float64 [F]: each feature's mean and population standard deviation over every
    row of the sequences `indices` (the training ones); a std of 0 becomes 1."""
    if not indices:
        sys.exit("no training sequences to standardise the features on (each label's first "
                 "sequence goes to validation)")
    rows = torch.cat([seqs[i][1] for i in indices]).double()
    mean = rows.mean(0)
    std = ((rows - mean) ** 2).mean(0).sqrt()
    std[std == 0] = 1.0
    return mean, std


def standardised(seqs, mean, std):
    """seqs with every value v replaced by (v - mean) / std (computed in float64, kept as
    float32)."""
    return [(label, ((values.double() - mean) / std).float()) for label, values in seqs]


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


def feature_tensors(seqs, labels, part, max_len):
    """(inputs float32 [B,T,F], lengths, targets) of the sequences `part`: the first
    min(steps, max_len) rows of each (standardised by then), then zeros."""
    lengths = [min(len(seqs[i][1]), max_len) for i in part]
    T, F = max(lengths), seqs[part[0]][1].shape[1]
    inputs = torch.zeros(len(part), T, F, dtype=torch.float32)
    for r, i in enumerate(part):
        inputs[r, :lengths[r]] = seqs[i][1][:lengths[r]]
    targets = torch.tensor([labels[i] for i in part], dtype=torch.int64)
    return inputs, torch.tensor(lengths, dtype=torch.int64), targets


def evaluate(model, docs, labels, indices, max_len, batch, make=tensors):
    """(accuracy, mean loss) over the documents `indices`; make: tensors or feature_tensors."""
    model.eval()
    correct, nats = 0, 0.0
    with torch.no_grad():
        for k in range(0, len(indices), batch):
            tokens, lengths, targets = make(docs, labels, indices[k:k + batch], max_len)
            logits = model(tokens, lengths)
            nats += F.cross_entropy(logits, targets, reduction="sum").item()
            correct += (logits.argmax(1) == targets).sum().item()
    return correct / len(indices), nats / len(indices)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True,
                   help="a labelled corpus of byte documents, or labelled sequences (FILE.csv)")
    p.add_argument("--out", required=True)
    p.add_argument("--cell", default="lstm", choices=("lstm", "gru", "rnn_tanh"))
    p.add_argument("--embed", type=int, default=32, help="(documents only)")
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

    if is_feature_csv(a.data):
        features, docs = read_sequences(a.data)
        names, labels = label_indices(docs)
        train, val = split(labels, len(names))
        mean, std = fit_standardisation(docs, train)
        docs = standardised(docs, mean, std)
        make, items = feature_tensors, "sequences"
        model = SeqClassifier(a.cell, None, None, a.hidden, a.layers, a.bidirectional,
                              len(names), features=len(features))
        print(f"{len(features)} features (standardised): {', '.join(features)}", file=sys.stderr)
    else:
        docs = read_labelled(a.data)
        names, labels = label_indices(docs)
        train, val = split(labels, len(names))
        make, items = tensors, "documents"
        model = SeqClassifier(a.cell, 256, a.embed, a.hidden, a.layers, a.bidirectional,
                              len(names))
    model.pack = a.pack
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    os.makedirs(a.out, exist_ok=True)
    start, train_seconds, trained, step = time.monotonic(), 0.0, 0, 0
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{'packed' if a.pack else 'padded'}: {len(train)} train, "
          f"{len(val)} validation {items}, labels {', '.join(names)}", file=sys.stderr)
    with open(os.path.join(a.out, "metrics.jsonl"), "w") as metrics:
        for epoch in range(1, a.epochs + 1):
            model.train()
            loss_sum, seen = 0.0, 0
            for part in batches_of(docs, train, a.batch, a.max_len, rng):
                if a.steps and step >= a.steps:
                    break
                step += 1
                t0 = time.monotonic()
                tokens, lengths, targets = make(docs, labels, part, a.max_len)
                optimizer.zero_grad()
                loss = F.cross_entropy(model(tokens, lengths), targets)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
                optimizer.step()
                train_seconds += time.monotonic() - t0
                trained += len(part)
                seen += len(part)
                loss_sum += loss.item() * len(part)
            accuracy, val_loss = evaluate(model, docs, labels, val, a.max_len, max(a.batch, 64),
                                          make)
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
