#!/usr/bin/python3
"""The peer side of benchmarks/run.sh: times PyTorch on exactly the cases bench_suite measured.

    /usr/bin/python3 benchmarks/bench_peers.py --cases RECUR_JSON [--threads N] [--out FILE]
    python3 benchmarks/bench_peers.py --device cuda --cases RECUR_JSON [--out FILE]

RECUR_JSON is bench_suite's output; every row of it is timed again here, with the same timing
budget (warm-up, then at least min_reps runs and min_time seconds, at most max_reps; median):

  gemm      torch.matmul of two N x N float32 matrices (the PyTorch side of the GEMM ceiling), or
            M x K times K x N where the row names M and K;
            on a GPU in the row's dtype (f32 with TF32 off, or bf16).
  layer     nn.RNN(tanh) / nn.GRU / nn.LSTM (batch_first, num_layers L, bidirectional when
            D = 2), inference (eval, no_grad) and training (forward + backward of y with a fixed
            dy; x requires grad, as recur computes dx too). The leaky unit has no PyTorch module:
            it is timed as a straightforward PyTorch implementation, marked "loop": per layer and
            direction the input projection of all steps as one matmul (as nn.Linear would), then a
            Python loop over time with h = (1-a) h + a tanh(xp_t + h W_hh^T + b_hh), a = 0.5.
  stream    the module on x [1,1,H] with the state carried, `steps` calls, no_grad.
  generate  the same CharLM (nn.Embedding -> nn.LSTM -> nn.Linear) fed the 16-symbol prime, then
            `length` times: softmax(logits / 0.8), torch.multinomial, one step with the state kept
            (on a GPU each sampled symbol is also copied to the host, as recur hands each one to
            its caller).

--device cuda (GPU 0): modules and tensors on the GPU, float32 with TF32 off for cuBLAS and cuDNN
(PyTorch's nn.RNN/GRU/LSTM run cuDNN, its default); each run is timed with CUDA events after a
write of twice the L2 size (the L2 flush bench_suite does too). bench_suite writes one layer row
per recur engine ("layer/lstm/training/B8/H1024/T256/L1/D1/fused", ".../cudnn", ...); PyTorch
is timed once per shape, under the name without the engine ("layer/lstm/training/B8/H1024/T256/
L1/D1"). The record names the GPU, torch.version.cuda, the cuDNN version and the TF32 settings.

On the CPU, before the first case, glibc malloc is warmed (see warm_malloc) so that no case's
time depends on which cases ran before it in this process.

GFLOP/s counts GEMM work exactly as bench_suite does (its "flops_formula"); it is copied from the
recur row, so both sides divide the same work by their own time.

--threads 0 keeps PyTorch's own default thread count; N > 0 calls torch.set_num_threads(N).
Prints (or writes) one JSON object: {"program", "device", "torch", "threads", "threads_default",
"results": [...]} (plus "gpu", "torch_cuda", "cudnn", "tf32", "l2_flush_bytes" on a GPU) with
rows shaped as bench_suite's, plus "impl" and "threads".
On the CPU run it with Debian's interpreter, which sees python3-torch; on a GPU machine with the
python3 that has a CUDA build of PyTorch.
"""
import argparse
import json
import os
import re
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python_tools"))
from torch_tf32 import tf32_off  # noqa: E402  (python_tools/torch_tf32.py)
from plot_bench import shape_name  # noqa: E402  (one definition of a row's shape)


# Where the cases run: torch.device("cpu") or torch.device("cuda", 0) (main sets it).
DEV = torch.device("cpu")
ON_GPU = False


def wall_seconds(once):
    t0 = time.perf_counter()
    once()
    return time.perf_counter() - t0


class GpuTimer:
    """Seconds of one call on the GPU, as bench_suite measures recur (core/cuda_runtime.h
    cuda_time_ms): a write of twice the L2 size first (evicting what the last run left in L2),
    then CUDA events around the call on the current stream; the host waits for the end event.
    The flush runs before the start event, so it is not counted; host work inside the call
    (Python loops launching kernels one by one) is, as the GPU waits for it."""

    def __init__(self):
        l2 = getattr(torch.cuda.get_device_properties(DEV), "L2_cache_size", 0) or 0
        self.flush_bytes = 2 * max(int(l2), 1 << 20)
        self.scratch = torch.empty(self.flush_bytes, dtype=torch.uint8, device=DEV)
        self.start = torch.cuda.Event(enable_timing=True)
        self.end = torch.cuda.Event(enable_timing=True)

    def __call__(self, once):
        self.scratch.zero_()
        self.start.record()
        once()
        self.end.record()
        self.end.synchronize()
        return self.start.elapsed_time(self.end) * 1e-3


gpu_timer = None  # a GpuTimer once main has chosen the GPU


def timed(once, budget):
    """Seconds per call: warm-up (at least 0.1 s), then the median of the timed runs."""
    clock = gpu_timer if ON_GPU else wall_seconds
    warm = 0.0
    while warm < 0.1:
        warm += clock(once)
    runs = []
    while len(runs) < budget["max_reps"] and (len(runs) < budget["min_reps"]
                                              or sum(runs) < budget["min_time_s"]):
        runs.append(clock(once))
    runs.sort()

    def q(p):
        pos = p * (len(runs) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(runs) - 1)
        return runs[lo] + (pos - lo) * (runs[hi] - runs[lo])

    return {"median": q(0.5), "min": runs[0], "p25": q(0.25), "p75": q(0.75), "reps": len(runs)}


class Leaky(torch.nn.Module):
    """The leaky unit as a plain PyTorch loop (no fused module exists): recur's equations,
    h = (1-a) h' + a tanh(W_ih x + b_ih + W_hh h' + b_hh), a fixed per unit (0.5)."""

    def __init__(self, I, H, L, D):
        super().__init__()
        self.H, self.L, self.D = H, L, D
        k = 1.0 / H ** 0.5
        self.w_ih = torch.nn.ParameterList()
        self.w_hh = torch.nn.ParameterList()
        self.b_ih = torch.nn.ParameterList()
        self.b_hh = torch.nn.ParameterList()
        for layer in range(L):
            for _ in range(D):
                inp = I if layer == 0 else D * H
                self.w_ih.append(torch.nn.Parameter(torch.empty(H, inp).uniform_(-k, k)))
                self.w_hh.append(torch.nn.Parameter(torch.empty(H, H).uniform_(-k, k)))
                self.b_ih.append(torch.nn.Parameter(torch.empty(H).uniform_(-k, k)))
                self.b_hh.append(torch.nn.Parameter(torch.empty(H).uniform_(-k, k)))
        self.register_buffer("a", torch.full((H,), 0.5))

    def forward(self, x):  # x [B,T,I] -> y [B,T,D*H]
        B, T, _ = x.shape
        for layer in range(self.L):
            outs = []
            for d in range(self.D):
                k = layer * self.D + d
                # [B,T,H], all steps at once; unbind: one view per step whose backward is a
                # single stack (indexing xp[:, t] would add a full-size gradient per step)
                xp = F.linear(x, self.w_ih[k], self.b_ih[k]).unbind(1)
                h = x.new_zeros(B, self.H)
                hs = [None] * T
                for t in (range(T - 1, -1, -1) if d == 1 else range(T)):
                    u = torch.tanh(xp[t] + F.linear(h, self.w_hh[k], self.b_hh[k]))
                    h = (1 - self.a) * h + self.a * u
                    hs[t] = h
                outs.append(torch.stack(hs, dim=1))
            x = outs[0] if self.D == 1 else torch.cat(outs, dim=2)
        return x


def make_module(cell, H, L, D):
    """(module on DEV, implementation label)."""
    mod, impl = _make_module(cell, H, L, D)
    if ON_GPU:
        mod = mod.to(DEV)
        if cell != "leaky":
            impl += " (cuDNN)"
    return mod, impl


def _make_module(cell, H, L, D):
    if cell == "leaky":
        return Leaky(H, H, L, D), "PyTorch loop (leaky has no module)"
    kw = dict(num_layers=L, bidirectional=(D == 2), batch_first=True)
    if cell == "lstm":
        return torch.nn.LSTM(H, H, **kw), "PyTorch nn.LSTM"
    if cell == "gru":
        return torch.nn.GRU(H, H, **kw), "PyTorch nn.GRU"
    if cell in ("rnn_tanh", "rnn_relu"):
        return (torch.nn.RNN(H, H, nonlinearity=cell[4:], **kw),
                f"PyTorch nn.RNN({cell[4:]})")
    raise ValueError(f"bench_peers: no PyTorch counterpart for cell {cell!r}")


GEMM_DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def run_gemm(row, budget):
    """torch.matmul at the row's shape: M x K times K x N where the row names M and K (recur's
    per-step GEMM row), else N x N times N x N."""
    N = row["N"]
    if ON_GPU:
        return run_gemm_gpu(row, budget)
    M, K = row.get("M", N), row.get("K", N)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(M, K, generator=g) - 0.5
    b = torch.rand(K, N, generator=g) - 0.5
    c = torch.empty(M, N)
    s = timed(lambda: torch.matmul(a, b, out=c), budget)
    flops = 2.0 * M * K * N
    return {"impl": "PyTorch torch.matmul", "ms": s["median"] * 1e3, "seconds": s,
            "gflop": flops * 1e-9, "gflops": flops / s["median"] * 1e-9}


def run_gemm_gpu(row, budget):
    """torch.matmul on the GPU in the recur row's dtype, on the same data as recur: the row's
    "data" ("zeros" or "uniform"); a row without it is bench_suite's cuBLAS row, which multiplies
    zeros. (A GPU multiplies zeros faster than random data: it draws less power.)"""
    N, dtype = row["N"], row.get("dtype", "f32")
    data = row.get("data", "zeros")
    if data == "zeros":
        a = torch.zeros(N, N, device=DEV, dtype=GEMM_DTYPES[dtype])
        b = torch.zeros_like(a)
    else:
        g = torch.Generator(device=DEV).manual_seed(0)
        a = (torch.rand(N, N, generator=g, device=DEV) * 2 - 1).to(GEMM_DTYPES[dtype])
        b = (torch.rand(N, N, generator=g, device=DEV) * 2 - 1).to(GEMM_DTYPES[dtype])
    c = torch.empty_like(a)
    s = timed(lambda: torch.matmul(a, b, out=c), budget)
    flops = 2.0 * N ** 3
    what = "f32, TF32 off" if dtype == "f32" else f"{dtype}, f32 accumulation"
    return {"impl": f"PyTorch torch.matmul ({what})", "dtype": dtype, "data": data,
            "ms": s["median"] * 1e3, "seconds": s, "gflop": flops * 1e-9,
            "gflops": flops / s["median"] * 1e-9}


def run_layer(row, budget):
    cell, train = row["cell"], row["mode"] == "training"
    B, H, T, L, D = (row[k] for k in ("B", "H", "T", "L", "D"))
    torch.manual_seed(0)
    mod, impl = make_module(cell, H, L, D)
    # recur's bf16/f16 rows round only the GEMM operands; PyTorch has no such RNN mode (autocast
    # leaves nn.LSTM's cuDNN call to run in the parameters' dtype), so its peer runs the whole
    # module in that dtype: cuDNN's own 16-bit RNN, weights and states included.
    dtype = GEMM_DTYPES[row.get("dtype", "f32")]
    if dtype != torch.float32:
        mod = mod.to(dtype)
        impl += f", {row['dtype']} weights and states"
    x = (torch.rand(B, T, H) * 2 - 1).to(DEV, dtype)
    dy = (torch.rand(B, T, D * H) * 2 - 1).to(DEV, dtype)
    if train:
        mod.train()
        x.requires_grad_(True)

        def once():
            if ON_GPU:  # fresh gradients, as recur writes its own: no accumulation kernels
                x.grad = None
                mod.zero_grad(set_to_none=True)
            out = mod(x)
            y = out[0] if isinstance(out, tuple) else out
            y.backward(dy)
    else:
        mod.eval()

        def once():
            with torch.no_grad():
                mod(x)

    s = timed(once, budget)
    return {"impl": impl, "ms": s["median"] * 1e3, "seconds": s,
            "us_per_step": s["median"] * 1e6 / T,
            "gflop": row["gflop"], "gflops": row["gflop"] / s["median"]}


def run_stream(row, budget):
    H, steps = row["H"], row["steps"]
    torch.manual_seed(0)
    mod, impl = make_module(row["cell"], H, 1, 1)
    mod.eval()
    x = (torch.rand(1, 1, H) * 2 - 1).to(DEV)

    def once():
        with torch.no_grad():
            state = None
            for _ in range(steps):
                _, state = mod(x, state)

    s = timed(once, budget)
    return {"impl": impl + ", one step per call", "seconds": s,
            "us_per_step": s["median"] * 1e6 / steps}


def run_generate(row, budget):
    E, H, L, V, length = (row[k] for k in ("E", "H", "L", "V", "length"))
    torch.manual_seed(0)
    embed = torch.nn.Embedding(V, E)
    rnn = torch.nn.LSTM(E, H, L, batch_first=True)
    head = torch.nn.Linear(H, V)
    for m in (embed, rnn, head):
        m.to(DEV)
        m.eval()
    prime = torch.arange(97, 97 + row["prime"]).view(1, -1).to(DEV)
    produced = [0]

    def once():
        g = torch.Generator(device=DEV).manual_seed(1)
        with torch.no_grad():
            out, state = rnn(embed(prime))
            logits = head(out[:, -1])
            produced[0] = 0
            for _ in range(length):
                probs = torch.softmax(logits[0] / 0.8, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=g)
                if ON_GPU:
                    nxt.item()  # the symbol reaches the host, as recur's callback gets it
                produced[0] += 1
                out, state = rnn(embed(nxt.view(1, 1)), state)
                logits = head(out[:, -1])

    s = timed(once, budget)
    impl = "PyTorch loop (Embedding, nn.LSTM, Linear, multinomial)"
    if ON_GPU:
        impl = impl[:-1] + "; cuDNN; each symbol copied to the host)"
    return {"impl": impl, "seconds": s,
            "produced": produced[0], "chars_per_s": produced[0] / s["median"]}


def warm_malloc():
    """Raises glibc malloc's dynamic mmap threshold to its ceiling (32 MiB on 64-bit) by freeing
    one 31 MiB block. PyTorch's CPU tensors come from malloc; in a fresh process every tensor over
    128 KiB is a new mmap whose pages fault in and are zeroed on first touch, until a large block
    has been freed. Which case ran first would then decide the later cases' speed (LSTM training,
    B=1, H=256, T=64 took 32-40 ms cold and 12-13 ms warm here), so every case gets the warm
    state, PyTorch's faster one. (recur caches its large blocks itself: core/allocator.h.)"""
    t = torch.empty(31 * 2 ** 20 // 4)
    t.fill_(0)
    del t


def mem_available_bytes():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return float("inf")


def blas_libraries():
    """The BLAS libraries this process has loaded (Debian's PyTorch calls the system BLAS)."""
    torch.matmul(torch.ones(64, 64), torch.ones(64, 64))
    found = set()
    try:
        for line in open("/proc/self/maps"):
            path = line.split()[-1]
            if re.search(r"blas|mkl|lapack", path.rsplit("/", 1)[-1]):
                found.add(path)
    except OSError:
        pass
    return sorted(found)


def gpu_info():
    """What the record says of the GPU and PyTorch's CUDA libraries."""
    p = torch.cuda.get_device_properties(DEV)
    return {"gpu": torch.cuda.get_device_name(DEV),
            "gpu_properties": {"sm": f"{p.major}.{p.minor}", "multiprocessors":
                               p.multi_processor_count, "memory_bytes": p.total_memory,
                               "l2_bytes": getattr(p, "L2_cache_size", None)},
            "torch_cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "cudnn_enabled": torch.backends.cudnn.enabled}


RUNNERS = {"gemm": run_gemm, "layer": run_layer, "stream": run_stream, "generate": run_generate}
SHAPE_KEYS = ("section", "name", "cell", "mode", "B", "H", "I", "T", "L", "D", "M", "K", "N",
              "dtype", "steps", "E", "V", "prime", "length")


def main():
    global DEV, ON_GPU, gpu_timer
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", required=True, help="bench_suite's JSON output")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                    help="where PyTorch runs: the CPU, or GPU 0")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads(n); 0 keeps PyTorch's own default")
    ap.add_argument("--filter", default="", help="only cases whose name matches this regex")
    ap.add_argument("--out", help="write the JSON here (default: stdout)")
    args = ap.parse_args()
    extra = {}
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print(f"bench_peers: --device cuda: PyTorch {torch.__version__} (CUDA "
                  f"{torch.version.cuda}) sees no GPU", file=sys.stderr)
            sys.exit(2)
        DEV, ON_GPU = torch.device("cuda", 0), True
        torch.cuda.set_device(DEV)
        extra["tf32"] = tf32_off(torch)
        extra.update(gpu_info())
        gpu_timer = GpuTimer()
        extra["l2_flush_bytes"] = gpu_timer.flush_bytes
        extra["timing"] = ("CUDA events around each run, after a write of l2_flush_bytes "
                           "(twice the L2 size)")
    default_threads = torch.get_num_threads()
    if not ON_GPU:
        warm_malloc()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    recur = json.load(open(args.cases))
    budget = recur["budget"]
    # One PyTorch measurement per shape: on a GPU bench_suite has one row per recur engine.
    todo, seen = [], set()
    for r in recur["results"]:
        if re.search(args.filter or ".", r["name"]) and shape_name(r["name"]) not in seen:
            seen.add(shape_name(r["name"]))
            todo.append(r)
    results, skipped = [], []
    if ON_GPU:
        free, _ = torch.cuda.mem_get_info(DEV)
        mem_budget, mem_what = 0.6 * free, "free GPU memory"
    else:
        mem_budget, mem_what = 0.6 * mem_available_bytes(), "MemAvailable"
    for i, r in enumerate(todo, 1):
        name = shape_name(r["name"])
        # PyTorch's autograd keeps more than recur does: half as much again as recur's estimate.
        if 1.5 * r.get("mem_estimate_bytes", 0) > mem_budget:
            skipped.append({"name": name, "reason": "needs about "
                            f"{1.5 * r['mem_estimate_bytes'] / 2 ** 30:.1f} GiB, over 60% of "
                            + mem_what})
            print(f"skipped {name}: {skipped[-1]['reason']}", file=sys.stderr)
            continue
        out = {k: r[k] for k in SHAPE_KEYS if k in r}
        out["name"] = name
        out.update(RUNNERS[r["section"]](r, budget))
        out["threads"] = torch.get_num_threads()
        results.append(out)
        rate = f"  {out['gflops']:7.1f} GFLOP/s" if "gflops" in out else ""
        print(f"[{i}/{len(todo)}] {name:<44} {out['seconds']['median'] * 1e3:10.3f} ms{rate}",
              file=sys.stderr)
    doc = {"program": "bench_peers", "device": args.device, "torch": torch.__version__,
           "blas": blas_libraries(), "threads": torch.get_num_threads(),
           "threads_default": default_threads, "threads_requested": args.threads,
           "malloc_warmed": not ON_GPU, "budget": budget, **extra,
           "results": results, "skipped": skipped}
    text = json.dumps(doc, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
