#!/usr/bin/python3
"""Writes PyTorch golden fixtures for `recur forecast`'s model to
tests/data/forecaster_{lstm,gru,features_lstm}.safetensors.

The model is Forecaster below (nn.LSTM/GRU over F features -> nn.Linear to F), working on the
series' model space: first differences (lstm and features_lstm) or the values themselves (gru),
each feature standardised by the mean and standard deviation of its history. The features_lstm
case forecasts two series observed together (the second leads the first). Each file holds, in
float64:
  - the parameters under their state_dict names;
  - "input.history" and "input.future": [N] and [K] for one feature (a trend, a cycle and noise),
    [F,N] and [F,K] for F;
  - "output.ahead" [K] ([F,K]): the K steps after the history, each forecast row fed back as the
    next input, after reading the last `window` model-space rows of the history from zeros;
  - "output.one_step" [K] ([F,K]): step k forecasts the future's step k from the history and the
    true steps before it, the state carried from one observation to the next;
  - "input.x", "input.y" [2,W,F]: two training windows (z[s..s+W-1] and z[s+1..s+W]),
    "output.loss": their mean squared error, "grad.<name>": its gradient for every parameter.
The metadata "config" is ForecasterConfig::to_json() of models/forecaster.h, scaling included.

Run with Debian's interpreter:  /usr/bin/python3 python_tools/make_forecaster_fixture.py
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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "data")

CASES = {"lstm": {"cell": "lstm", "difference": True},
         "gru": {"cell": "gru", "difference": False},
         "features_lstm": {"cell": "lstm", "difference": True, "features": 2}}
HIDDEN, LAYERS, WINDOW = 5, 2, 8
N_HISTORY, N_FUTURE = 20, 6
WINDOW_STARTS = (0, 7)


class Forecaster(nn.Module):
    def __init__(self, cell, features, hidden, layers):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(features, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, features)

    def forward(self, z, state=None):
        y, state = self.rnn(z, state)
        return self.head(y), state


class Scaling:
    """datasets/time_series.h's SeriesScaling: z = (v or its first difference - mean) / scale."""

    def __init__(self, values, difference):
        self.difference, self.mean, self.scale = difference, 0.0, 1.0
        d = self.to_model(values)
        self.mean = sum(d) / len(d)
        sd = math.sqrt(sum((v - self.mean) ** 2 for v in d) / len(d))
        self.scale = sd if sd > 0 else 1.0

    def model_value(self, previous, value):
        return ((value - previous if self.difference else value) - self.mean) / self.scale

    def to_model(self, values):
        first = 1 if self.difference else 0
        return [self.model_value(values[i - 1] if i else 0.0, values[i])
                for i in range(first, len(values))]

    def next_value(self, last, z):
        return (last if self.difference else 0.0) + z * self.scale + self.mean


def rows(scalings, columns):
    """The model-space rows [m][F] of columns [F][n]."""
    return [list(r) for r in zip(*(s.to_model(c) for s, c in zip(scalings, columns)))]


def advance(model, z, state):
    """z: model-space rows [T][F]; returns the prediction after the last one [F]."""
    pred, state = model(torch.tensor(z, dtype=torch.float64).reshape(1, len(z), -1), state)
    return pred[0, -1].tolist(), state


def warm_up(model, scalings, history):
    need = WINDOW + (1 if scalings[0].difference else 0)
    return advance(model, rows(scalings, [c[-need:] for c in history]), None)


def forecast_ahead(model, scalings, history, horizon):
    z, state = warm_up(model, scalings, history)
    out, last = [[] for _ in history], [c[-1] for c in history]
    for k in range(horizon):
        for f, s in enumerate(scalings):
            last[f] = s.next_value(last[f], z[f])
            out[f].append(last[f])
        if k + 1 < horizon:
            z, state = advance(model, [z], state)
    return out


def forecast_one_step(model, scalings, history, future):
    z, state = warm_up(model, scalings, history)
    out, last = [[] for _ in history], [c[-1] for c in history]
    for k in range(len(future[0])):
        for f, s in enumerate(scalings):
            out[f].append(s.next_value(last[f], z[f]))
        if k + 1 < len(future[0]):
            z = [s.model_value(last[f], future[f][k]) for f, s in enumerate(scalings)]
            last = [c[k] for c in future]
            z, state = advance(model, [z], state)
    return out


def run_case(name, cell, difference, features=1):
    seed = zlib.crc32(f"forecaster_{name}".encode("utf-8"))
    torch.manual_seed(seed)
    model = Forecaster(cell, features, HIDDEN, LAYERS).double()
    t = torch.arange(N_HISTORY + N_FUTURE, dtype=torch.float64)
    series = 10 + 0.3 * t + 2 * torch.sin(t / 2) + 0.2 * torch.randn(t.shape, dtype=torch.float64)
    columns = [series]
    if features == 2:  # a second series that leads the first by a quarter cycle, in other units
        columns.append(50 + 30 * torch.sin(t / 2 + 0.8)
                       + 3 * torch.randn(t.shape, dtype=torch.float64))
    history = [c[:N_HISTORY].tolist() for c in columns]
    future = [c[N_HISTORY:].tolist() for c in columns]
    scalings = [Scaling(c, difference) for c in history]

    with torch.no_grad():
        ahead = forecast_ahead(model, scalings, history, N_FUTURE)
        one_step = forecast_one_step(model, scalings, history, future)
    assert [c[0] for c in ahead] == [c[0] for c in one_step]  # both start from one warm-up

    z = rows(scalings, history)
    x = torch.tensor([z[s:s + WINDOW] for s in WINDOW_STARTS], dtype=torch.float64)
    y = torch.tensor([z[s + 1:s + WINDOW + 1] for s in WINDOW_STARTS], dtype=torch.float64)
    pred, _ = model(x)
    loss = F.mse_loss(pred, y)
    loss.backward()

    state = model.state_dict()
    params = dict(model.named_parameters())
    tensors = {name: value.detach().numpy().astype(np.float64) for name, value in state.items()}
    for name in state:
        tensors["grad." + name] = params[name].grad.detach().numpy().astype(np.float64)
    one = (lambda v: v[0]) if features == 1 else (lambda v: v)  # [N] for one feature, else [F,N]
    tensors["input.history"] = np.array(one(history), dtype=np.float64)
    tensors["input.future"] = np.array(one(future), dtype=np.float64)
    tensors["output.ahead"] = np.array(one(ahead), dtype=np.float64)
    tensors["output.one_step"] = np.array(one(one_step), dtype=np.float64)
    tensors["input.x"] = x.numpy()
    tensors["input.y"] = y.numpy()
    tensors["output.loss"] = loss.detach().numpy().astype(np.float64).reshape(1)
    scaling = [{"difference": difference, "mean": s.mean, "scale": s.scale} for s in scalings]
    config = {"cell": cell, "hidden": HIDDEN, "layers": LAYERS, "dropout": 0.0, "window": WINDOW,
              "scaling": one(scaling)}
    metadata = {
        "config": json.dumps(config, separators=(",", ":")),
        "description": f"Forecaster ({cell}, {'' if features == 1 else f'{features} features, '}"
                       f"{LAYERS} layers, H={HIDDEN}, window {WINDOW}, "
                       f"{'first differences' if difference else 'values'}) in float64: "
                       f"{N_FUTURE} values ahead and one step ahead after {N_HISTORY} values; "
                       f"MSE of two training windows and its gradients.",
        "generator": f"python_tools/make_forecaster_fixture.py (torch {torch.__version__}, "
                     "float64)",
        "seed": str(seed),
    }
    return tensors, metadata


def main():
    torch.set_num_threads(1)  # keep float reductions in one fixed order
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, case in CASES.items():
        tensors, metadata = run_case(name, **case)
        path = os.path.join(OUT_DIR, f"forecaster_{name}.safetensors")
        safetensors_io.write_checked(path, tensors, metadata)
        print(f"wrote {os.path.relpath(path, REPO)}  ({len(tensors)} tensors, "
              f"{os.path.getsize(path)} bytes, ahead[-1] {tensors['output.ahead'].flat[-1]:.12f})")


if __name__ == "__main__":
    main()
