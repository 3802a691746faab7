#!/usr/bin/env python3
"""PyTorch (the CPU peer) on the shapes of bench_recurrent_cpu: nn.LSTM / nn.GRU, batch_first,
T = 100, I = H, inference forward (no_grad, eval) and training forward+backward.

Run with Debian's interpreter, which sees python3-torch:  /usr/bin/python3 benchmarks/peer_cpu.py
Prints one JSON object: {"torch": version, "threads": n, "results": [{name, B, H, ms, gflops}]}.
GFLOP/s counts GEMM work only, exactly as the C++ benchmark does:
forward 2*B*T*(I+H)*G, forward+backward three times that.
"""
import argparse
import json
import time

import torch

T = 100


def time_case(cell, train, B, H, min_time):
    torch.manual_seed(0)
    mod = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(H, H, batch_first=True)
    x = torch.rand(B, T, H) * 2 - 1
    dy = torch.rand(B, T, H) * 2 - 1
    if train:
        mod.train()
        x.requires_grad_(True)

        def once():
            y, _ = mod(x)
            y.backward(dy)
    else:
        mod.eval()

        def once():
            with torch.no_grad():
                mod(x)

    once()  # warm-up
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 3:
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    times.sort()
    seconds = times[len(times) // 2]
    gates = 4 if cell == "lstm" else 3
    flops = 2.0 * B * T * (H + H) * gates * H * (3.0 if train else 1.0)
    return seconds * 1e3, flops / seconds * 1e-9


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads(n); 0 keeps PyTorch's own default")
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--filter", default="", help="only names containing this text")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    results = []
    for cell in ("lstm", "gru"):
        for train in (False, True):
            for H in (256, 512):
                for B in (1, 32, 64):
                    name = f"{cell}_{'training' if train else 'inference'}/{B}/{H}"
                    if args.filter not in name:
                        continue
                    ms, gflops = time_case(cell, train, B, H, args.min_time)
                    results.append({"name": name, "B": B, "H": H, "ms": ms, "gflops": gflops})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "results": results}))


if __name__ == "__main__":
    main()
