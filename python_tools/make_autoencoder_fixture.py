#!/usr/bin/python3
"""Writes PyTorch golden fixtures for `recur anomaly`'s LSTM autoencoder to
tests/data/seq_autoencoder_{lstm,gru,features_lstm}.safetensors.

The model is SeqAutoencoder below (an encoder nn.LSTM/GRU reads a window into its final state; a
decoder of the same shape starts from that state and unrolls the window reading zeros; an
nn.Linear maps its outputs to the features), on the series' model space: first differences (lstm
case) or the values (gru and features_lstm), each feature standardised by its own mean and
standard deviation. The features_lstm case watches two features together. Each file holds, in
float64:
  - the parameters under their state_dict names;
  - "input.series": one feature [N], a season, a trend and noise; two features [2,N] (one
    column per feature), the second a slower season falling the other way;
  - "input.x" [3,W,F]: three windows of the model-space series, "output.reconstruction" [3,W,F],
    "output.loss": its mean squared error against x, "grad.<name>": that loss's gradients;
  - "output.scores" [N]: every step's anomaly score (models/anomaly.h): the smallest, over the
    windows (stride 1) that hold it, of its squared reconstruction error summed over the
    features; 0 for the first step with first differences.
The metadata "config" is SeqAutoencoderConfig::to_json() of models/seq_autoencoder.h.

Run with Debian's interpreter:  /usr/bin/python3 python_tools/make_autoencoder_fixture.py
The output is deterministic: rerunning rewrites identical bytes.
"""
import json
import math
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
from make_forecaster_fixture import Scaling  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "data")

CASES = {"lstm": {"cell": "lstm", "difference": True},
         "gru": {"cell": "gru", "difference": False},
         "features_lstm": {"cell": "lstm", "difference": False, "features": 2}}
HIDDEN, LAYERS, WINDOW, N = 5, 2, 7, 24
WINDOW_STARTS = (0, 5, 16)


class SeqAutoencoder(nn.Module):
    def __init__(self, cell, features, hidden, layers):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.encoder = rnn(features, hidden, layers, batch_first=True)
        self.decoder = rnn(features, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, features)

    def forward(self, x):
        _, state = self.encoder(x)
        y, _ = self.decoder(torch.zeros_like(x), state)
        return self.head(y)


def scores(model, z, n_values):
    """models/anomaly.h's reconstruction_scores over model-space rows z [n, F]."""
    windows = torch.stack([z[s:s + WINDOW] for s in range(len(z) - WINDOW + 1)])
    err = ((model(windows) - windows) ** 2).sum(-1)
    best = torch.full((len(z),), math.inf, dtype=torch.float64)
    for s in range(windows.shape[0]):
        best[s:s + WINDOW] = torch.minimum(best[s:s + WINDOW], err[s])
    out = torch.zeros(n_values, dtype=torch.float64)
    out[n_values - len(z):] = best
    return out


def run_case(name, cell, difference, features=1):
    seed = zlib.crc32(f"seq_autoencoder_{name}".encode("utf-8"))
    torch.manual_seed(seed)
    model = SeqAutoencoder(cell, features, HIDDEN, LAYERS).double()
    t = torch.arange(N, dtype=torch.float64)
    series = 5 + 0.1 * t + torch.sin(t * 2 * math.pi / 6) + 0.1 * torch.randn(N, dtype=torch.float64)
    columns = [series]
    if features == 2:
        columns.append(20 - 0.05 * t + 3 * torch.cos(t * 2 * math.pi / 9)
                       + 0.2 * torch.randn(N, dtype=torch.float64))
    scalings = [Scaling(c.tolist(), difference) for c in columns]
    z = torch.stack([torch.tensor(s.to_model(c.tolist()), dtype=torch.float64)
                     for s, c in zip(scalings, columns)], dim=1)  # [n, F]

    x = torch.stack([z[s:s + WINDOW] for s in WINDOW_STARTS])
    reconstruction = model(x)
    loss = F.mse_loss(reconstruction, x)
    loss.backward()
    with torch.no_grad():
        value_scores = scores(model, z, N)
    if difference:
        assert value_scores[0] == 0 and (value_scores[1:] > 0).all()

    state = model.state_dict()
    params = dict(model.named_parameters())
    tensors = {name: value.detach().numpy().astype(np.float64) for name, value in state.items()}
    for name in state:
        tensors["grad." + name] = params[name].grad.detach().numpy().astype(np.float64)
    tensors["input.series"] = (series if features == 1 else torch.stack(columns)).numpy()
    tensors["input.x"] = x.numpy()
    tensors["output.reconstruction"] = reconstruction.detach().numpy()
    tensors["output.loss"] = loss.detach().numpy().astype(np.float64).reshape(1)
    tensors["output.scores"] = value_scores.numpy()
    scaling = [{"difference": difference, "mean": s.mean, "scale": s.scale} for s in scalings]
    config = {"cell": cell, "features": features, "hidden": HIDDEN, "layers": LAYERS,
              "window": WINDOW, "scaling": scaling[0] if features == 1 else scaling}
    metadata = {
        "config": json.dumps(config, separators=(",", ":")),
        "description": f"SeqAutoencoder ({cell}, {'' if features == 1 else f'{features} features, '}"
                       f"{LAYERS} layers, H={HIDDEN}, window {WINDOW}, "
                       f"{'first differences' if difference else 'values'}) in float64: "
                       f"reconstruction, MSE and gradients of 3 windows; the anomaly score of "
                       f"each of {N} values.",
        "generator": f"python_tools/make_autoencoder_fixture.py (torch {torch.__version__}, "
                     "float64)",
        "seed": str(seed),
    }
    return tensors, metadata


def main():
    torch.set_num_threads(1)  # keep float reductions in one fixed order
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, case in CASES.items():
        tensors, metadata = run_case(name, **case)
        path = os.path.join(OUT_DIR, f"seq_autoencoder_{name}.safetensors")
        safetensors_io.write_checked(path, tensors, metadata)
        print(f"wrote {os.path.relpath(path, REPO)}  ({len(tensors)} tensors, "
              f"{os.path.getsize(path)} bytes, loss {tensors['output.loss'][0]:.12f})")


if __name__ == "__main__":
    main()
