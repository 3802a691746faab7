#!/usr/bin/python3
"""Writes PyTorch golden fixtures for `recur classify`'s sequence classifier to
tests/data/seq_classifier_{lstm,gru,rnn_tanh}.safetensors.

The model is SeqClassifier below (nn.Embedding -> 2-layer bidirectional nn.LSTM/GRU/RNN over
packed, unsorted lengths -> nn.Linear on the last layer's final states [forward, reverse]).
Each file holds one forward and one backward pass in float64: the parameters under their
state_dict names, the integer inputs, the logits, the mean cross-entropy loss and the gradient of
that loss for every parameter. See python_tools/README.md for the tensor names.

Run with Debian's interpreter:  /usr/bin/python3 python_tools/make_classifier_fixture.py
The output is deterministic: rerunning rewrites identical bytes.
"""
import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "data")

CELLS = ("lstm", "gru", "rnn_tanh")
CONFIG = {"vocab": 11, "embed": 5, "hidden": 7, "layers": 2, "bidirectional": True, "classes": 3}
B, T = 4, 6
LENGTHS = [6, 3, 1, 5]  # unsorted on purpose


class SeqClassifier(nn.Module):
    def __init__(self, cell, vocab, embed, hidden, layers, bidirectional, classes):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN}[cell]
        self.rnn = rnn(embed, hidden, layers, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), classes)

    pack = True  # False: run over the padding (train_classifier_reference.py --no-pack)

    def forward(self, tokens, lengths):
        x = self.embed(tokens)
        if self.pack:
            x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                  enforce_sorted=False)
        _, h_n = self.rnn(x)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        features = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.rnn.bidirectional else h_n[-1]
        return self.head(features)  # logits [B, classes]


def seed_of(cell):
    return zlib.crc32(f"seq_classifier_{cell}".encode("utf-8"))


def expected_param_names():
    names = ["embed.weight"]
    for k in range(CONFIG["layers"]):
        for d in range(2 if CONFIG["bidirectional"] else 1):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            names += [f"rnn.{w}{sfx}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return names + ["head.weight", "head.bias"]


def run_case(cell):
    """Builds the model under the cell's seed, draws the inputs, runs forward + backward and
    checks that the padding tokens do not matter; returns (tensors, metadata)."""
    seed = seed_of(cell)
    torch.manual_seed(seed)
    model = SeqClassifier(cell, **CONFIG).double()
    V, C = CONFIG["vocab"], CONFIG["classes"]
    tokens = torch.randint(0, V, (B, T), dtype=torch.int64)  # padding positions random too
    lengths = torch.tensor(LENGTHS, dtype=torch.int64)
    targets = torch.randint(0, C, (B,), dtype=torch.int64)
    assert max(LENGTHS) == T and min(LENGTHS) >= 1 and LENGTHS != sorted(LENGTHS, reverse=True)

    logits = model(tokens, lengths)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    assert logits.shape == (B, C), (cell, logits.shape)

    # Self-check: other tokens at the padded positions give the same logits.
    pad = torch.arange(T)[None, :] >= lengths[:, None]
    other = tokens.clone()
    other[pad] = (tokens[pad] + 1 + torch.randint(0, V - 1, (int(pad.sum()),))) % V
    assert (other[pad] != tokens[pad]).all() and (other[~pad] == tokens[~pad]).all()
    with torch.no_grad():
        assert torch.equal(model(other, lengths), logits.detach()), \
            f"{cell}: the padding tokens change the logits"

    state = model.state_dict()
    assert list(state) == expected_param_names(), (cell, list(state))
    params = dict(model.named_parameters())
    tensors = {name: value.detach().numpy().astype(np.float64) for name, value in state.items()}
    for name in state:
        grad = params[name].grad
        assert grad is not None and grad.shape == params[name].shape, (cell, name)
        tensors["grad." + name] = grad.detach().numpy().astype(np.float64)
    tensors["input.tokens"] = tokens.numpy().astype(np.int64)
    tensors["input.lengths"] = lengths.numpy().astype(np.int64)
    tensors["input.targets"] = targets.numpy().astype(np.int64)
    tensors["output.logits"] = logits.detach().numpy().astype(np.float64)
    tensors["output.loss"] = loss.detach().numpy().astype(np.float64).reshape(1)
    config = dict({"cell": cell}, **CONFIG)
    metadata = {
        "config": json.dumps(config, separators=(",", ":")),
        "description": f"SeqClassifier ({cell}, {CONFIG['layers']} layers, bidirectional) in "
                       f"float64: B={B} T={T} lengths {LENGTHS}, mean cross-entropy of the "
                       f"logits, gradients of that loss.",
        "generator": f"python_tools/make_classifier_fixture.py (torch {torch.__version__}, "
                     "float64)",
        "seed": str(seed),
    }
    return tensors, metadata


def main():
    torch.set_num_threads(1)  # keep float reductions in one fixed order
    os.makedirs(OUT_DIR, exist_ok=True)
    for cell in CELLS:
        tensors, metadata = run_case(cell)
        path = os.path.join(OUT_DIR, f"seq_classifier_{cell}.safetensors")
        safetensors_io.write_checked(path, tensors, metadata)
        print(f"wrote {os.path.relpath(path, REPO)}  ({len(tensors)} tensors, "
              f"{os.path.getsize(path)} bytes, loss {tensors['output.loss'][0]:.12f})")


if __name__ == "__main__":
    main()
