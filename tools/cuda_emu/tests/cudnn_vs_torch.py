#!/usr/bin/python3
"""The fake cuDNN (tools/cuda_emu/shim/emu_cudnn*.cpp) against PyTorch's CPU RNNs.

Builds tests/cudnn_check.cpp against the emulator's objects (make -C tools/cuda_emu first) and
runs its misuse checks (each must be refused with the expected status). Then, for every case,
writes random weights (PyTorch's parameters), inputs and output gradients, runs the program
(forward training, backward data, backward weights through the cuDNN API, weights placed with
cudnnGetRNNWeightParams) and compares y, hy, cy, dx, dhx, dcx and every weight gradient with
torch.nn.LSTM / GRU / RNN (packed sequences for the lengths) and autograd.

    python3 tools/cuda_emu/tests/cudnn_vs_torch.py        # needs torch (CPU)
"""
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(EMU))
OBJ = os.path.join(ROOT, "build", "cuda_emu", "obj")
EXE = os.path.join(ROOT, "build", "cuda_emu", "cudnn_check")

RELU, TANH, LSTM, GRU = 0, 1, 2, 3
F32, F64, BF16 = 0, 1, 9


def build():
    objs = [os.path.join(OBJ, f"emu_{n}.o") for n in ("memory", "fibers", "tensor", "launch", "runtime", "cublas",
                                                      "cudnn", "cudnn_math", "cudnn_rnn")]
    for o in objs:
        if not os.path.exists(o):
            sys.exit(f"{o} missing: run make -C tools/cuda_emu first")
    subprocess.check_call(["g++", "-std=c++17", "-O1", "-g", "-I", os.path.join(EMU, "shim", "include"),
                           os.path.join(HERE, "cudnn_check.cpp"), *objs, "-o", EXE, "-lopenblas",
                           "-lpthread", "-rdynamic"])


def torch_module(cell, L, D, I, H, P, bias):
    kw = dict(input_size=I, hidden_size=H, num_layers=L, bidirectional=D == 2, bias=bool(bias))
    if cell == LSTM:
        return torch.nn.LSTM(proj_size=P if P < H else 0, **kw)
    if cell == GRU:
        return torch.nn.GRU(**kw)
    return torch.nn.RNN(nonlinearity="relu" if cell == RELU else "tanh", **kw)


def run_case(cell, L, D, I, H, P, T, B, bias, dtype, layout, lens, algo=0, seed=0):
    g = torch.Generator().manual_seed(seed)
    mod = torch_module(cell, L, D, I, H, P, bias).double()
    with torch.no_grad():
        for p in mod.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) - 0.5)
    Y = P * D
    x = torch.rand(T, B, I, generator=g, dtype=torch.float64) - 0.5
    hx = torch.rand(L * D, B, P, generator=g, dtype=torch.float64) - 0.5
    cx = torch.rand(L * D, B, H, generator=g, dtype=torch.float64) - 0.5
    dy = torch.rand(T, B, Y, generator=g, dtype=torch.float64) - 0.5
    dhy = torch.rand(L * D, B, P, generator=g, dtype=torch.float64) - 0.5
    dcy = torch.rand(L * D, B, H, generator=g, dtype=torch.float64) - 0.5
    for b in range(B):  # padding is not read: poison it
        x[lens[b]:, b] = float("nan")
        dy[lens[b]:, b] = float("nan")
    if dtype == BF16:  # the inputs as the program will round them
        with torch.no_grad():
            for t in [x, hx, cx, dy, dhy, dcy, *mod.parameters()]:
                t.copy_(t.to(torch.bfloat16).double())

    with tempfile.TemporaryDirectory() as d:
        names = []
        for name, p in mod.named_parameters():
            layer = int(name.split("_l")[1].split("_")[0])
            pl = layer * D + (1 if name.endswith("_reverse") else 0)
            kind = {"weight_ih": "W", "weight_hh": "R", "bias_ih": "bW", "bias_hh": "bR",
                    "weight_hr": "proj"}[name.split("_l")[0]]
            rows, cols = (p.shape[0], p.shape[1]) if p.dim() == 2 else (p.shape[0], 1)
            names.append(f"{name} {pl} {kind} {rows} {cols}")
            p.detach().numpy().astype(np.float64).tofile(os.path.join(d, name + ".bin"))
        with open(os.path.join(d, "cfg.txt"), "w") as f:
            f.write(" ".join(map(str, [cell, L, D, I, H, P, T, B, bias, dtype, layout, algo])) + "\n")
            f.write(" ".join(map(str, lens)) + "\n")
            f.write("\n".join(names) + "\n")
        for name, t in [("x", x), ("hx", hx), ("cx", cx), ("dy", dy), ("dhy", dhy), ("dcy", dcy)]:
            t.numpy().tofile(os.path.join(d, name + ".bin"))
        r = subprocess.run([EXE, d], capture_output=True, text=True, env={**os.environ, "EMU_PROTECT": "1"})
        if r.returncode != 0:
            return f"program failed: {r.stderr.strip()[-800:]}"
        out = lambda n, shape: torch.from_numpy(np.fromfile(os.path.join(d, f"out_{n}.bin"))).reshape(shape)
        got = {"y": out("y", (T, B, Y)), "hy": out("hy", (L * D, B, P)), "dx": out("dx", (T, B, I)),
               "dhx": out("dhx", (L * D, B, P))}
        if cell == LSTM:
            got["cy"] = out("cy", (L * D, B, H))
            got["dcx"] = out("dcx", (L * D, B, H))
        for name, p in mod.named_parameters():
            got["d" + name] = out("grad_" + name, p.shape)

    # The reference: packed sequences, float64, autograd.
    xr = x.clone().nan_to_num(0.0).requires_grad_(True)
    h0 = hx.clone().requires_grad_(True)
    c0 = cx.clone().requires_grad_(True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xr, torch.tensor(lens), enforce_sorted=False)
    if cell == LSTM:
        out_p, (hn, cn) = mod(packed, (h0, c0))
    else:
        out_p, hn = mod(packed, h0)
    yr, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, total_length=T)
    loss = (yr * dy.nan_to_num(0.0)).sum() + (hn * dhy).sum()
    if cell == LSTM:
        loss = loss + (cn * dcy).sum()
    loss.backward()
    want = {"y": yr.detach(), "hy": hn.detach(), "dx": xr.grad, "dhx": h0.grad}
    if cell == LSTM:
        want["cy"] = cn.detach()
        want["dcx"] = c0.grad
    for name, p in mod.named_parameters():
        want["d" + name] = p.grad
    valid = torch.zeros(T, B, 1, dtype=torch.bool)
    for b in range(B):
        valid[: lens[b], b] = True
    tol = {F64: 1e-10, F32: 1e-4, BF16: 8e-2}[dtype]
    bad = []
    for k, w in want.items():
        gk = got[k]
        if k in ("y", "dx"):
            gk = torch.where(valid, gk, torch.zeros_like(gk))
            w = torch.where(valid, w, torch.zeros_like(w))
        err = (gk - w).abs().max().item() / max(1.0, w.abs().max().item())
        if not err <= tol:
            bad.append(f"{k}: {err:.3g}")
    return ", ".join(bad)


def main():
    build()
    cases = []
    for cell, D, (L, P), dtype in itertools.product([RELU, TANH, LSTM, GRU], [1, 2], [(1, 5), (2, 5), (2, 3)], [F64, F32]):
        if P != 5 and cell != LSTM:
            continue
        cases.append(dict(cell=cell, L=L, D=D, I=4, H=5, P=P, T=4, B=3, bias=1, dtype=dtype, layout=0, lens=[4, 2, 3]))
    # layouts, no bias, lengths 0 and T, bf16
    for layout in (0, 1, 2):
        lens = [4, 3, 1] if layout == 1 else [2, 4, 1]
        cases.append(dict(cell=LSTM, L=2, D=2, I=3, H=6, P=4, T=4, B=3, bias=0, dtype=F64, layout=layout, lens=lens))
        cases.append(dict(cell=GRU, L=1, D=2, I=3, H=6, P=6, T=4, B=3, bias=1, dtype=F64, layout=layout, lens=lens))
    cases.append(dict(cell=LSTM, L=1, D=2, I=3, H=6, P=6, T=3, B=4, bias=1, dtype=F64, layout=0, lens=[3, 1, 3, 2]))
    cases.append(dict(cell=GRU, L=2, D=2, I=3, H=6, P=6, T=5, B=2, bias=1, dtype=BF16, layout=0, lens=[5, 3]))
    # the persistent algorithms (full lengths)
    for algo in (1, 2, 3):
        cases.append(dict(cell=LSTM, L=1, D=1, I=3, H=6, P=6, T=4, B=2, bias=1, dtype=F32, layout=0, lens=[4, 4], algo=algo))
    r = subprocess.run([EXE, "--errors"], capture_output=True, text=True)
    print(r.stdout, end="")
    failed = int(r.returncode != 0)
    for i, c in enumerate(cases):
        msg = run_case(seed=i, **c)
        print(("FAIL " if msg else "ok   ") + str(c) + (": " + msg if msg else ""))
        failed += bool(msg)
    print(f"{len(cases) - failed}/{len(cases)} cases match PyTorch")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
