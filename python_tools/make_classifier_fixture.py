#!/usr/bin/python3
"""Writes PyTorch golden fixtures for `recur classify`'s sequence classifier to
tests/data/seq_classifier_{lstm,gru,rnn_tanh,features_lstm}.safetensors.

The model is SeqClassifier below (nn.Embedding -> 2-layer bidirectional nn.LSTM/GRU/RNN over
packed, unsorted lengths -> nn.Linear on the last layer's final states [forward, reverse]).
With features=F > 0 it has no embedding: the RNN reads float inputs [B,T,F] directly (numeric
feature sequences, `recur classify` on labelled-sequences CSV), and the parameters are only
rnn.* and head.*.

Each file holds one forward and one backward pass in float64: the parameters under their
state_dict names, the inputs, the logits, the mean cross-entropy loss and the gradient of that
loss for every parameter. The byte cases (lstm, gru, rnn_tanh) store int64 token ids as
"input.tokens"; the features case (features_lstm: LSTM, 4 features, config
{"cell","features","hidden","layers","bidirectional","classes"}) stores float64 standard-normal
values as "input.features" [B,T,4], the padded positions random too. See python_tools/README.md
for the tensor names.

Run with Debian's interpreter:  /usr/bin/python3 python_tools/make_classifier_fixture.py
The output is deterministic: rerunning rewrites identical bytes on the same BLAS kernels (the
committed files come from OpenBLAS with OPENBLAS_CORETYPE=Haswell, as this project's development
machines set it; other kernels, e.g. AVX-512 or the reference BLAS, differ in the last bits of the
logits and gradients).
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

CONFIG = {"vocab": 11, "embed": 5, "hidden": 7, "layers": 2, "bidirectional": True, "classes": 3}
FEATURES_CONFIG = {"features": 4, "hidden": 7, "layers": 2, "bidirectional": True, "classes": 3}
# case -> (cell, config); the file is tests/data/seq_classifier_<case>.safetensors.
CASES = {
    "lstm": ("lstm", CONFIG),
    "gru": ("gru", CONFIG),
    "rnn_tanh": ("rnn_tanh", CONFIG),
    "features_lstm": ("lstm", FEATURES_CONFIG),
}
B, T = 4, 6
LENGTHS = [6, 3, 1, 5]  # unsorted on purpose


class SeqClassifier(nn.Module):
    """Token ids [B,T] -> embedding -> RNN -> linear head, or, with features=F > 0, float
    inputs [B,T,F] -> RNN -> linear head (no embedding; vocab and embed are then ignored)."""

    def __init__(self, cell, vocab, embed, hidden, layers, bidirectional, classes, features=0):
        super().__init__()
        self.features = features
        if not features:
            self.embed = nn.Embedding(vocab, embed)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN}[cell]
        self.rnn = rnn(features or embed, hidden, layers, batch_first=True,
                       bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), classes)

    pack = True  # False: run over the padding (train_classifier_reference.py --no-pack)

    def forward(self, inputs, lengths):
        """inputs: token ids [B,T] (int64), or features [B,T,F] when features > 0; lengths [B]:
        the valid steps of each row (the rest is padding, ignored when packed)."""
        x = inputs if self.features else self.embed(inputs)
        if self.pack:
            x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                  enforce_sorted=False)
        _, h_n = self.rnn(x)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        features = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.rnn.bidirectional else h_n[-1]
        return self.head(features)  # logits [B, classes]


def seed_of(case):
    return zlib.crc32(f"seq_classifier_{case}".encode("utf-8"))


def expected_param_names(config):
    names = [] if config.get("features") else ["embed.weight"]
    for k in range(config["layers"]):
        for d in range(2 if config["bidirectional"] else 1):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            names += [f"rnn.{w}{sfx}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return names + ["head.weight", "head.bias"]


def model_of(cell, config):
    return SeqClassifier(cell, config.get("vocab"), config.get("embed"), config["hidden"],
                         config["layers"], config["bidirectional"], config["classes"],
                         features=config.get("features", 0))


def draw_inputs(config):
    """The inputs [B,T] (token ids) or [B,T,F] (float64 features), padding positions random too."""
    if config.get("features"):
        return torch.randn(B, T, config["features"], dtype=torch.float64)
    return torch.randint(0, config["vocab"], (B, T), dtype=torch.int64)


def other_padding(config, inputs, pad):
    """inputs with other random values at the padded positions pad [B,T]."""
    other = inputs.clone()
    if config.get("features"):
        other[pad] = torch.randn(int(pad.sum()), config["features"], dtype=torch.float64)
    else:
        V = config["vocab"]
        other[pad] = (inputs[pad] + 1 + torch.randint(0, V - 1, (int(pad.sum()),))) % V
    assert (other[pad] != inputs[pad]).all() and (other[~pad] == inputs[~pad]).all()
    return other


def run_case(case):
    """Builds the model under the case's seed, draws the inputs, runs forward + backward and
    checks that the padded positions do not matter; returns (tensors, metadata)."""
    cell, config = CASES[case]
    seed = seed_of(case)
    torch.manual_seed(seed)
    model = model_of(cell, config).double()
    C = config["classes"]
    inputs = draw_inputs(config)
    lengths = torch.tensor(LENGTHS, dtype=torch.int64)
    targets = torch.randint(0, C, (B,), dtype=torch.int64)
    assert max(LENGTHS) == T and min(LENGTHS) >= 1 and LENGTHS != sorted(LENGTHS, reverse=True)

    logits = model(inputs, lengths)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    assert logits.shape == (B, C), (case, logits.shape)

    # Self-check: other values at the padded positions give the same logits.
    pad = torch.arange(T)[None, :] >= lengths[:, None]
    other = other_padding(config, inputs, pad)
    with torch.no_grad():
        assert torch.equal(model(other, lengths), logits.detach()), \
            f"{case}: the padded positions change the logits"

    state = model.state_dict()
    assert list(state) == expected_param_names(config), (case, list(state))
    params = dict(model.named_parameters())
    tensors = {name: value.detach().numpy().astype(np.float64) for name, value in state.items()}
    for name in state:
        grad = params[name].grad
        assert grad is not None and grad.shape == params[name].shape, (case, name)
        tensors["grad." + name] = grad.detach().numpy().astype(np.float64)
    if config.get("features"):
        tensors["input.features"] = inputs.numpy().astype(np.float64)
    else:
        tensors["input.tokens"] = inputs.numpy().astype(np.int64)
    tensors["input.lengths"] = lengths.numpy().astype(np.int64)
    tensors["input.targets"] = targets.numpy().astype(np.int64)
    tensors["output.logits"] = logits.detach().numpy().astype(np.float64)
    tensors["output.loss"] = loss.detach().numpy().astype(np.float64).reshape(1)
    what = f"{cell}, {config['features']} features" if config.get("features") else cell
    metadata = {
        "config": json.dumps(dict({"cell": cell}, **config), separators=(",", ":")),
        "description": f"SeqClassifier ({what}, {config['layers']} layers, bidirectional) in "
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
    for case in CASES:
        tensors, metadata = run_case(case)
        path = os.path.join(OUT_DIR, f"seq_classifier_{case}.safetensors")
        safetensors_io.write_checked(path, tensors, metadata)
        print(f"wrote {os.path.relpath(path, REPO)}  ({len(tensors)} tensors, "
              f"{os.path.getsize(path)} bytes, loss {tensors['output.loss'][0]:.12f})")


if __name__ == "__main__":
    main()
