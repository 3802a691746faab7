#!/usr/bin/python3
"""Writes PyTorch golden fixtures for `recur forecast`'s model to
tests/data/forecaster_{lstm,gru}.safetensors.

The model is Forecaster below (nn.LSTM/GRU over one feature -> nn.Linear), working on the series'
model space: first differences (lstm case) or the values themselves (gru case), standardised by
the mean and standard deviation of the history. Each file holds, in float64:
  - the parameters under their state_dict names;
  - "input.history" [N] and "input.future" [K] (a trend, a cycle and noise);
  - "output.ahead" [K]: the K values after the history, each forecast fed back as the next
    input, after reading the last `window` model-space values of the history from zeros;
  - "output.one_step" [K]: element k forecasts future[k] from the history and the true
    future[0..k-1], the state carried from one observation to the next;
  - "input.x", "input.y" [2,W,1]: two training windows (z[s..s+W-1] and z[s+1..s+W]),
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

CASES = {"lstm": {"difference": True}, "gru": {"difference": False}}
HIDDEN, LAYERS, WINDOW = 5, 2, 8
N_HISTORY, N_FUTURE = 20, 6
WINDOW_STARTS = (0, 7)


class Forecaster(nn.Module):
    def __init__(self, cell, hidden, layers):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(1, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

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


def advance(model, z, state):
    pred, state = model(torch.tensor(z, dtype=torch.float64).reshape(1, len(z), 1), state)
    return float(pred[0, -1, 0]), state


def warm_up(model, scaling, history):
    need = WINDOW + (1 if scaling.difference else 0)
    return advance(model, scaling.to_model(history[-need:]), None)


def forecast_ahead(model, scaling, history, horizon):
    z, state = warm_up(model, scaling, history)
    out, last = [], history[-1]
    for k in range(horizon):
        last = scaling.next_value(last, z)
        out.append(last)
        if k + 1 < horizon:
            z, state = advance(model, [z], state)
    return out


def forecast_one_step(model, scaling, history, future):
    z, state = warm_up(model, scaling, history)
    out, last = [], history[-1]
    for k, value in enumerate(future):
        out.append(scaling.next_value(last, z))
        if k + 1 < len(future):
            z, state = advance(model, [scaling.model_value(last, value)], state)
            last = value
    return out


def run_case(cell, difference):
    seed = zlib.crc32(f"forecaster_{cell}".encode("utf-8"))
    torch.manual_seed(seed)
    model = Forecaster(cell, HIDDEN, LAYERS).double()
    t = torch.arange(N_HISTORY + N_FUTURE, dtype=torch.float64)
    series = 10 + 0.3 * t + 2 * torch.sin(t / 2) + 0.2 * torch.randn(t.shape, dtype=torch.float64)
    history = series[:N_HISTORY].tolist()
    future = series[N_HISTORY:].tolist()
    scaling = Scaling(history, difference)

    with torch.no_grad():
        ahead = forecast_ahead(model, scaling, history, N_FUTURE)
        one_step = forecast_one_step(model, scaling, history, future)
    assert ahead[0] == one_step[0]  # both start from the same warm-up

    z = scaling.to_model(history)
    x = torch.tensor([z[s:s + WINDOW] for s in WINDOW_STARTS], dtype=torch.float64)[..., None]
    y = torch.tensor([z[s + 1:s + WINDOW + 1] for s in WINDOW_STARTS],
                     dtype=torch.float64)[..., None]
    pred, _ = model(x)
    loss = F.mse_loss(pred, y)
    loss.backward()

    state = model.state_dict()
    params = dict(model.named_parameters())
    tensors = {name: value.detach().numpy().astype(np.float64) for name, value in state.items()}
    for name in state:
        tensors["grad." + name] = params[name].grad.detach().numpy().astype(np.float64)
    tensors["input.history"] = np.array(history, dtype=np.float64)
    tensors["input.future"] = np.array(future, dtype=np.float64)
    tensors["output.ahead"] = np.array(ahead, dtype=np.float64)
    tensors["output.one_step"] = np.array(one_step, dtype=np.float64)
    tensors["input.x"] = x.numpy()
    tensors["input.y"] = y.numpy()
    tensors["output.loss"] = loss.detach().numpy().astype(np.float64).reshape(1)
    config = {"cell": cell, "hidden": HIDDEN, "layers": LAYERS, "dropout": 0.0, "window": WINDOW,
              "scaling": {"difference": difference, "mean": scaling.mean,
                          "scale": scaling.scale}}
    metadata = {
        "config": json.dumps(config, separators=(",", ":")),
        "description": f"Forecaster ({cell}, {LAYERS} layers, H={HIDDEN}, window {WINDOW}, "
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
    for cell, case in CASES.items():
        tensors, metadata = run_case(cell, **case)
        path = os.path.join(OUT_DIR, f"forecaster_{cell}.safetensors")
        safetensors_io.write_checked(path, tensors, metadata)
        print(f"wrote {os.path.relpath(path, REPO)}  ({len(tensors)} tensors, "
              f"{os.path.getsize(path)} bytes, ahead[-1] {tensors['output.ahead'][-1]:.12f})")


if __name__ == "__main__":
    main()
