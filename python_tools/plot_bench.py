#!/usr/bin/python3
"""Benchmark records of benchmarks/run.sh: merging, Markdown tables, pictures, docs section.

    plot_bench.py merge --recur R.json [--recur R2.json ...] --peer P.json [--peer P2.json ...]
                        [--charlm IMPL THREADS METRICS.jsonl ...] [--filter REGEX]
                        [--started EPOCH] [--load-start "l1 l5 l15"] --out OUT
    plot_bench.py table RECORD.json            # the Markdown tables on stdout
    plot_bench.py plot RECORD.json             # PNGs next to the record (RECORD-*.png)
    plot_bench.py docs RECORD.json [--doc docs/PERFORMANCE.md]
                                               # rewrites the record's section of the doc

merge: one record from bench_suite's JSONs (recur; a run measures in parts, see run.sh),
bench_peers.py's JSONs (per part and PyTorch thread configuration; rows of one configuration share
a label) and the CharLM training runs (metrics.jsonl of `recur train` and of
python_tools/train_reference.py; tokens/s between the train records of step 10 and the last
step, validation excluded since each step's train record is written before its validation), with
the machine, CPU, cores, OS, compiler, OpenBLAS, PyTorch, commit and date (and for a GPU run the
GPU, PyTorch's CUDA and cuDNN versions and its TF32 settings). Every row gets a "label" (which
recur engine, e.g. "recur fused", or which peer configuration), a "shape" (its name without the
engine: on a GPU bench_suite writes one layer row per engine, ".../L1/D1/fused", ".../L1/D1/cudnn",
and PyTorch one row per shape), and, where it has GFLOP/s, "pct_peak": the percent of the
machine's measured GEMM peak for the row's dtype (the fastest GEMM ceiling row of that dtype; rows
without a dtype are f32: on a GPU the f32 rows are measured against cuBLAS sgemm without TF32 or
torch.matmul f32, whichever was faster, never against bf16).

table / docs: every number in them is read from the record, nothing is typed by hand. Where a
record has several recur engines (a GPU record has one column per engine even when it has one),
the layer table gives each engine's time, each engine's speed over PyTorch's, and the best
engine's over PyTorch's. The docs section lies between the markers <!-- bench:KEY begin --> and
<!-- bench:KEY end -->, KEY = DEVICE-MODE for the CPU ("cpu-quick") and cuda-MODE-GPU for a GPU
("cuda-quick-nvidia-h100-80gb-hbm3": one section per GPU model, with its own heading, added at the
end of the doc the first time); text outside them is left as it is.

plot (matplotlib, Agg): RECORD-time-MODE-T<T>.png, microseconds per time step against batch size,
one panel per cell, one line per engine or peer and hidden size (1 layer, unidirectional);
RECORD-peak.png, the same cases as percent of the measured GEMM peak (f32).
"""
import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone

CELLS = ("rnn_tanh", "leaky", "gru", "lstm")
RECUR_LABEL = "recur {engine}"
# Which way is better, per section: the metric that the ratio compares.
METRIC = {"gemm": ("gflops", True), "layer": ("ms", False), "stream": ("us_per_step", False),
          "generate": ("chars_per_s", True), "charlm_train": ("tokens_per_s", True)}


# ---------------------------------------------------------------------------- merge

def _git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              check=True).stdout.rstrip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name():
    name = platform.system()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{name}, Linux {platform.release()}" if platform.system() == "Linux" else name


def _loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def shape_name(name):
    """A layer row's name without the recur engine bench_suite appends on a GPU
    ("layer/lstm/training/B8/H1024/T256/L1/D1/fused" -> "layer/lstm/training/B8/H1024/T256/L1/D1";
    a mixed precision stays: ".../D1/bf16/fused" -> ".../D1/bf16"); other names as they are.
    benchmarks/bench_peers.py imports it, so both sides pair rows the same way."""
    m = re.match(r"^(layer/[^/]+/[^/]+/B\d+/H\d+/T\d+/L\d+/D\d+(?:/(?:bf16|f16))?)(/.*)?$", name)
    return m.group(1) if m else name


def gemm_size(row):
    """A GEMM row's M x K x N (a square row names only N)."""
    N = row["N"]
    return f"{row.get('M', N)}×{row.get('K', N)}×{N}"


def peer_label(peer):
    if peer.get("device") == "cuda":  # one configuration: no thread settings to tell apart
        return "PyTorch"
    n = peer["threads"]
    s = f"PyTorch {n} thread{'s' if n != 1 else ''}"
    return s + " (default)" if peer.get("threads_requested", 0) == 0 else s


def recur_label(row):
    """"recur ENGINE" (with the cuDNN algorithm where the row names one)."""
    label = RECUR_LABEL.format(engine=row.get("engine", "")).strip()
    return f"{label} ({row['algo']})" if row.get("algo") else label


def gpu_name(description):
    """"NVIDIA H100 80GB HBM3" of bench_suite's "NVIDIA H100 80GB HBM3 (sm_90, ...), driver ..."."""
    return (description or "").split(" (")[0].strip()


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def charlm_rate(path):
    """tokens/s between the train records of step 10 and the last step, and those steps."""
    rec = {}
    for line in open(path):
        j = json.loads(line)
        if j.get("kind") == "train":
            rec[j["step"]] = j
    last = max(rec)
    first = 10 if 10 in rec and last > 10 else min(rec)
    a, b = rec[first], rec[last]
    tokens = lambda r: r["tokens_per_s"] * r["time_s"]
    return (tokens(b) - tokens(a)) / (b["time_s"] - a["time_s"]), [first, last]


def merge(args):
    parts = [json.load(open(p)) for p in args.recur]
    recur = dict(parts[0], results=[r for p in parts for r in p["results"]],
                 skipped=[s for p in parts for s in p.get("skipped", [])],
                 failed=[f for p in parts for f in p.get("failed", [])])
    peers = [json.load(open(p)) for p in args.peer]
    device = recur.get("device", "cpu")
    rows = []
    for r in recur["results"]:
        r = dict(r, side="recur", shape=shape_name(r["name"]))
        r["label"] = recur_label(r) if r["section"] != "gemm" else r["impl"]
        rows.append(r)
    for p in peers:
        for r in p["results"]:
            r = dict(r, side="peer", shape=shape_name(r["name"]))
            r["label"] = peer_label(p) if r["section"] != "gemm" else \
                f"{r['impl'].replace('PyTorch ', '')}, {peer_label(p)}"
            rows.append(r)
    torch_default = peers[0]["threads_default"] if peers else None
    # `recur train` chooses its engine itself: reference on the CPU, a GPU engine on a GPU.
    charlm_engine = "auto" if device == "cuda" else "reference"
    for impl, threads, path in args.charlm or []:
        rate, steps = charlm_rate(path)
        threads = int(threads)
        row = {"section": "charlm_train", "name": args.charlm_name, "shape": args.charlm_name,
               "tokens_per_s": rate, "steps_measured": steps}
        if impl == "recur":
            row.update(side="recur", impl="recur train",
                       label=RECUR_LABEL.format(engine=charlm_engine))
        else:
            n = threads or torch_default
            row.update(side="peer", impl="python_tools/train_reference.py", threads=n,
                       label=peer_label({"threads": n, "threads_requested": threads,
                                         "device": device}))
        rows.append(row)
    skipped = [dict(s, label=RECUR_LABEL.format(engine=charlm_engine))
               for s in recur.get("skipped", [])]
    skipped += [dict(s, label=peer_label(p)) for p in peers for s in p.get("skipped", [])]
    # The GEMM ceiling per dtype (rows without one are f32): the fastest row of that dtype.
    peaks = {}
    for r in rows:
        if r["section"] == "gemm" and "gflops" in r:
            dt = r.get("dtype", "f32")
            if dt not in peaks or r["gflops"] > peaks[dt]["gflops"]:
                peaks[dt] = r
    for r in rows:
        peak_row = peaks.get(r.get("dtype", "f32"))
        if peak_row and "gflops" in r:
            r["pct_peak"] = 100.0 * r["gflops"] / peak_row["gflops"]
    # The headline peak (the one layer rows, all f32, are measured against).
    peak = peaks.get("f32") or (max(peaks.values(), key=lambda r: r["gflops"]) if peaks else None)
    env = recur.get("env", {})
    commit = _git("rev-parse", "--short", "HEAD")
    # Files that differ from the commit, new ones included (what the measured build had on top of
    # it); earlier records in benchmarks/results/ are not part of the build.
    dirty = sorted(path for path in (line[3:] for line in
                                     _git("status", "--porcelain", "-uall").splitlines() if line)
                   if not path.startswith("benchmarks/results/"))
    record = {
        "schema": 1,
        "machine": platform.node(),
        "device": recur.get("device", "cpu"),
        "mode": recur.get("mode"),
        "filter": args.filter if args.filter is not None else recur.get("filter", ""),
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "os": _os_name(),
        "compiler": env.get("compiler"),
        "openblas": env.get("openblas"),
        "openblas_threads": env.get("openblas_threads"),
        "recur_threads": env.get("recur_threads"),
        "torch": peers[0]["torch"] if peers else None,
        "torch_default_threads": torch_default,
        "torch_blas": peers[0].get("blas") if peers else None,
        "python": platform.python_version(),
        "commit": commit,
        "commit_full": _git("rev-parse", "HEAD"),
        "dirty": bool(dirty),
        "dirty_files": dirty,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_seconds": (datetime.now(timezone.utc).timestamp() - args.started)
        if args.started else None,
        "load_average": {"start": [float(x) for x in args.load_start.split()]
                         if args.load_start else None, "end": _loadavg()},
        "budget": recur.get("budget"),
        "flops_formula": recur.get("flops_formula"),
        "gemm_peak_gflops": peak["gflops"] if peak else None,
        "gemm_peak_source": peak["label"] if peak else None,
        "charlm_train_settings": args.charlm_settings,
        "results": rows,
        "skipped": skipped,
        "failed": recur["failed"],
    }
    if device == "cuda":
        peer = peers[0] if peers else {}
        record.update({
            "gpu": env.get("gpu") or peer.get("gpu"),
            "gpu_name": peer.get("gpu") or gpu_name(env.get("gpu")),
            "gpu_properties": peer.get("gpu_properties"),
            "torch_cuda": peer.get("torch_cuda"),
            "cudnn": peer.get("cudnn"),
            "torch_tf32": peer.get("tf32"),
            "l2_flush_bytes": peer.get("l2_flush_bytes"),
            "gemm_peaks": {dt: {"gflops": r["gflops"], "source": r["label"]}
                           for dt, r in peaks.items()},
            # The largest H the persistent engine fits on this card (bench_suite asks it).
            "persistent_limits": next((p["persistent_limits"] for p in parts
                                       if p.get("persistent_limits")), None),
        })
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(f"written: {args.out}", file=sys.stderr)


# ---------------------------------------------------------------------------- tables

def _fmt(x, digits=3):
    """A number with `digits` significant digits, thousands separated; '-' for None."""
    if x is None:
        return "-"
    if x == 0:
        return "0"
    mag = int(math.floor(math.log10(abs(x))))
    decimals = max(0, digits - 1 - mag)
    return f"{x:,.{decimals}f}"


def _by_name(rows):
    """shape -> {label: row}, and the labels in order (recur first). Rows pair by their shape (the
    name without a GPU engine); records written before there was one pair by name."""
    table, labels = {}, []
    for r in rows:
        table.setdefault(r.get("shape") or shape_name(r["name"]), {})[r["label"]] = r
        if r["label"] not in labels:
            labels.append(r["label"])
    labels.sort(key=lambda label: 0 if label.startswith("recur") else 1)
    return table, labels


def _best(section, rows):
    """The fastest of rows by the section's metric; None for none."""
    key, higher = METRIC[section]
    rows = [r for r in rows if r is not None and r.get(key) is not None]
    if not rows:
        return None
    return (max if higher else min)(rows, key=lambda r: r[key])


def _ratio(section, recur_row, peer_rows):
    """recur's speed over the faster peer's (>1: recur is faster), and that peer's label."""
    key, higher = METRIC[section]
    best = _best(section, peer_rows)
    if recur_row is None or best is None:
        return None, None
    ratio = recur_row[key] / best[key] if higher else best[key] / recur_row[key]
    return ratio, best["label"]


def _recur_labels(labels):
    return [label for label in labels if label.startswith("recur")]


def _engine(label):
    return label[len("recur "):] if label.startswith("recur ") else label


def _ratio_cell(ratio):
    return _fmt(ratio) + "x" if ratio else "-"


def on_gpu(rec):
    return rec.get("device") == "cuda"


def markdown(rec, image_dir=None, image_exists=None):
    out = []
    w = out.append
    rows = rec["results"]
    gpu = on_gpu(rec)
    dirty = ""
    if rec.get("dirty"):
        tops = sorted({f.split("/")[0] + ("/" if "/" in f else "")
                       for f in rec.get("dirty_files", [])})
        dirty = f" (with uncommitted changes in {', '.join(tops)})" if tops else \
            " (with uncommitted changes)"
    if gpu:
        w(f"recur `{rec['commit']}`{dirty} beside PyTorch {rec['torch']} (CUDA "
          f"{rec.get('torch_cuda')}, cuDNN {rec.get('cudnn')}) on **{rec.get('gpu') or '?'}**; "
          f"host `{rec['machine']}`: {rec['cpu']}, {rec['cores']} cores, {rec['os']}; "
          f"{rec['compiler']}. {rec['date']}, "
          f"`--{rec['mode']}`{', filter ' + repr(rec['filter']) if rec.get('filter') else ''}.")
    else:
        w(f"recur `{rec['commit']}`{dirty} beside "
          f"PyTorch {rec['torch']} on `{rec['machine']}`: {rec['cpu']}, {rec['cores']} cores, "
          f"{rec['os']}; {rec['compiler']}; {rec['openblas']}. {rec['date']}, "
          f"`--{rec['mode']}`{', filter ' + repr(rec['filter']) if rec.get('filter') else ''}.")
    w("")
    la = rec.get("load_average") or {}
    budget = rec.get("budget") or {}
    if gpu:
        flush = rec.get("l2_flush_bytes")
        peaks = rec.get("gemm_peaks") or {}
        peak_text = "; ".join(f"{dt}: {_fmt(p['gflops'])} GFLOP/s, {p['source']}"
                              for dt, p in peaks.items())
        w(f"GPU 0. Median of at least {budget.get('min_reps')} timed runs and "
          f"{budget.get('min_time_s')} s (at most {budget.get('max_reps')} runs) per case after a "
          f"warm-up; every run timed with CUDA events after an L2 flush (a write of "
          f"{_fmt(flush / 2 ** 20 if flush else None)} MiB, twice the L2 size). float32 with TF32 "
          f"off on both sides (recur's cuBLAS calls; PyTorch's cuBLAS and cuDNN). PyTorch's "
          f"nn.RNN/GRU/LSTM run cuDNN. Load average (1/5/15 min) at the start {la.get('start')}, "
          f"at the end {la.get('end')}. GFLOP/s counts {rec['flops_formula']}. "
          + (f"% peak: of the fastest measured GEMM of the row's dtype ({peak_text}); the layers "
             f"are f32. " if peaks else "% peak: no GEMM ceiling in this run. ")
          + "engine/PyTorch: that recur engine's speed over PyTorch's (> 1: recur faster); "
          "best/PyTorch: the fastest recur engine's.")
    else:
        w(f"Median of at least {budget.get('min_reps')} timed runs and {budget.get('min_time_s')}"
          f" s per case after a warm-up. Load average (1/5/15 min) at the start "
          f"{la.get('start')}, at the end {la.get('end')}: this machine is shared and noisy. "
          f"GFLOP/s counts {rec['flops_formula']}. "
          + (f"% peak: of the fastest measured GEMM ({_fmt(rec['gemm_peak_gflops'])} GFLOP/s, "
             f"{rec['gemm_peak_source']}). " if rec.get("gemm_peak_gflops") else
             "% peak: no GEMM ceiling in this run. ")
          + f"recur/PyTorch: recur's speed over the faster PyTorch configuration (> 1: recur "
          f"faster).")
    w("")

    gemm = [r for r in rows if r["section"] == "gemm"]
    if gemm:
        if any("dtype" in r for r in gemm):
            w("**GEMM ceiling** (% of the fastest of the same dtype)")
            w("")
            w("| implementation | dtype | M×K×N | ms | GFLOP/s | % of dtype's fastest |")
            w("|---|---|---:|---:|---:|---:|")
            for r in gemm:
                w(f"| {r['label']} | {r.get('dtype', 'f32')} | {gemm_size(r)} | {_fmt(r['ms'])} | "
                  f"{_fmt(r['gflops'])} | {_fmt(r.get('pct_peak'), 2)} |")
        else:
            w("**GEMM ceiling** (float32; % of the fastest)")
            w("")
            w("| implementation | M×K×N | ms | GFLOP/s | % of the fastest |")
            w("|---|---:|---:|---:|---:|")
            for r in gemm:
                w(f"| {r['label']} | {gemm_size(r)} | {_fmt(r['ms'])} | {_fmt(r['gflops'])} | "
                  f"{_fmt(r.get('pct_peak'), 2)} |")
        w("")

    layer = [r for r in rows if r["section"] == "layer"]
    if layer:
        table, labels = _by_name(layer)
        engines = _recur_labels(labels)
        peers = [label for label in labels if label not in engines]
        # The CPU records' layout (one recur engine, "recur ms") unless the record is a GPU
        # record or has several engines: then one column per engine, each engine's ratio, and
        # the best engine's numbers.
        several = gpu or len(engines) > 1
        # A dtype column where the record has 16-bit rows (recur's bf16/f16 GEMM operands).
        dtypes = any(r.get("dtype", "f32") != "f32" for r in layer)
        w("**Recurrent layer** (I = H; inference: forward; training: forward + backward; "
          "ms per call)")
        w("")
        if not several:
            w("| cell | mode | B | H | T | L×D | " + ("dtype | " if dtypes else "")
              + "recur ms | µs/step | GFLOP/s | % peak | "
              + " | ".join(f"{p} ms" for p in peers) + " | recur/PyTorch |")
            w("|---|---|---:|---:|---:|---|" + ("---|" if dtypes else "") + "---:|---:|---:|---:|"
              + "---:|" * len(peers) + "---:|")
        else:
            per_engine_ratio = len(engines) > 1
            head = ["cell", "mode", "B", "H", "T", "L×D"] + (["dtype"] if dtypes else [])
            head += [f"{e} ms" for e in engines]
            head += [f"{p} ms" for p in peers]
            if per_engine_ratio:
                head += [f"{_engine(e)}/PyTorch" for e in engines] + ["best"]
            head += ["µs/step", "GFLOP/s", "% peak",
                     "best/PyTorch" if per_engine_ratio else f"{_engine(engines[0])}/PyTorch"
                     if engines else "recur/PyTorch"]
            w("| " + " | ".join(head) + " |")
            w("|---|---|---:|---:|---:|---|" + ("---|" if dtypes else "")
              + "---:|" * (len(engines) + len(peers))
              + ("---:|" * len(engines) + "---|" if per_engine_ratio else "") + "---:|" * 4)
        loop_note = False
        for name, by in table.items():
            r = next((by[e] for e in engines if e in by), None) or next(iter(by.values()))
            peer_rows = [by[p] for p in peers if p in by]
            cells = []
            for p in peers:
                pr = by.get(p)
                mark = ""
                if pr and "loop" in pr.get("impl", ""):
                    mark, loop_note = "†", True
                cells.append(_fmt(pr["ms"]) + mark if pr else "-")
            shape = (f"| {r['cell']} | {r['mode']} | {r['B']} | {r['H']} | {r['T']} | "
                     f"{r['L']}×{r['D']} | " + (f"{r.get('dtype', 'f32')} | " if dtypes else ""))
            if not several:
                rl = engines[0] if engines else None
                rr = by.get(rl)
                ratio, _ = _ratio("layer", rr, peer_rows)
                w(shape + f"{_fmt(rr['ms']) if rr else '-'} | "
                  f"{_fmt(rr['us_per_step']) if rr else '-'} | "
                  f"{_fmt(rr['gflops']) if rr else '-'} | "
                  f"{_fmt(rr.get('pct_peak'), 2) if rr else '-'} | "
                  + " | ".join(cells) + f" | {_ratio_cell(ratio)} |")
                continue
            best = _best("layer", [by.get(e) for e in engines])
            line = [_fmt(by[e]["ms"]) if e in by else "-" for e in engines] + cells
            if len(engines) > 1:
                line += [_ratio_cell(_ratio("layer", by.get(e), peer_rows)[0]) for e in engines]
                line.append(_engine(best["label"]) if best else "-")
            line += [_fmt(best.get("us_per_step")) if best else "-",
                     _fmt(best.get("gflops")) if best else "-",
                     _fmt(best.get("pct_peak"), 2) if best else "-",
                     _ratio_cell(_ratio("layer", best, peer_rows)[0])]
            w(shape + " | ".join(line) + " |")
        w("")
        if loop_note:
            w("† leaky has no PyTorch module: a straightforward PyTorch implementation (the input "
              "projection as one matmul, then a Python loop over time), not a tuned kernel.")
            w("")

    def simple(section, title, metric, unit, shape):
        sel = [r for r in rows if r["section"] == section]
        if not sel:
            return
        table, labels = _by_name(sel)
        engines = _recur_labels(labels)
        peers = [label for label in labels if label not in engines]
        w(title)
        w("")
        w("| case | " + " | ".join(f"{label} {unit}" for label in engines + peers)
          + " | recur/PyTorch |")
        w("|---|" + "---:|" * (len(engines) + len(peers)) + "---:|")
        for name, by in table.items():
            best = _best(section, [by.get(e) for e in engines])
            ratio, _ = _ratio(section, best, [by[p] for p in peers if p in by])
            r = next((by[e] for e in engines if e in by), None) or next(iter(by.values()))
            w(f"| {shape(r)} | "
              + " | ".join(_fmt(by[label][metric]) if label in by else "-"
                           for label in engines + peers)
              + f" | {_ratio_cell(ratio)} |")
        w("")

    simple("stream", "**Streaming latency** (B = 1, one step per call, state carried, "
           "inference)", "us_per_step", "µs/step",
           lambda r: f"{r['cell']} H={r['H']} ({r['steps']} steps)")
    simple("generate", "**Generation** (CharLM at B = 1 from a 16-symbol prime, temperature "
           "0.8 over all symbols)", "chars_per_s", "chars/s",
           lambda r: f"{r['cell']} E={r['E']} H={r['H']} L={r['L']} V={r['V']}, "
                     f"{r['length']} chars")
    settings = rec.get("charlm_train_settings") or ""
    simple("charlm_train", f"**CharLM training** (`recur train` beside "
           f"python_tools/train_reference.py, same data order; {settings})", "tokens_per_s",
           "tokens/s", lambda r: f"steps {r['steps_measured'][0]}-{r['steps_measured'][1]}")

    limits = rec.get("persistent_limits") or []
    if limits:
        w("**Persistent engine: largest H** that fits this card (W_hh slices in shared memory, "
          "every block resident; batch 1), per math precision; grid_sync: one block per SM "
          "(the counter barrier is the same), cluster: one thread-block cluster:")
        w("")
        precisions = [p for p in ("f32", "bf16", "f16") if any(r["precision"] == p
                                                              for r in limits)]
        w("| cell | direction | barrier | " + " | ".join(precisions) + " |")
        w("|---|---|---|" + "---:|" * len(precisions))
        keys = []
        for r in limits:
            key = (r["cell"], r["direction"], r.get("barrier", "grid_sync"))
            if key not in keys:
                keys.append(key)
        for cell, direction, barrier in keys:
            by = {r["precision"]: r["max_hidden"] for r in limits
                  if (r["cell"], r["direction"], r.get("barrier", "grid_sync"))
                  == (cell, direction, barrier)}
            w(f"| {cell} | {direction} | {barrier} | "
              + " | ".join(str(by[p]) if p in by else "-" for p in precisions) + " |")
        w("")

    failed = rec.get("failed") or []
    if failed:
        w(f"**FAILED ({len(failed)})**: "
          + "; ".join(f"`{f['name']}`: {f['reason']}" for f in failed[:10])
          + ("; ..." if len(failed) > 10 else "") + " (the record lists them all).")
        w("")
    skipped = rec.get("skipped") or []
    if skipped:
        w(f"Not run ({len(skipped)}: refused by the engine, over the memory budget or past the "
          "time limit): "
          + "; ".join(f"{s['label']}: `{s['name']}`" for s in skipped[:20])
          + ("; ..." if len(skipped) > 20 else "") + " (the record lists them all).")
        w("")

    if image_dir is not None:
        for png in pictures(rec, image_dir, draw=False):
            if image_exists is None or image_exists(png):
                w(f"![{os.path.basename(png)}]({png})")
                w("")
    return "\n".join(out).rstrip() + "\n"


def table(args):
    rec = json.load(open(args.record))
    sys.stdout.write(markdown(rec))


# ---------------------------------------------------------------------------- pictures

def pictures(rec, prefix, draw=True):
    """The PNG paths for a record (prefix + '-...png'); draws them when `draw`."""
    rows = [r for r in rec["results"] if r["section"] == "layer" and r["L"] == 1 and r["D"] == 1]
    if not rows:
        return []
    Ts = sorted({r["T"] for r in rows})
    modes = [m for m in ("inference", "training") if any(r["mode"] == m for r in rows)]
    paths = [f"{prefix}-time-{m}-T{T}.png" for m in modes for T in Ts] + [f"{prefix}-peak.png"]
    if not draw:
        return paths
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    labels = sorted({r["label"] for r in rows}, key=lambda s: (not s.startswith("recur"), s))
    colours = {label: f"C{i}" for i, label in enumerate(labels)}
    Hs = sorted({r["H"] for r in rows})
    styles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D"]
    cells = [c for c in CELLS if any(r["cell"] == c for r in rows)]
    if on_gpu(rec):
        title = (f"{rec.get('gpu_name') or gpu_name(rec.get('gpu'))} ({rec['machine']}), recur "
                 f"{rec['commit']}, PyTorch {rec['torch']} (cuDNN {rec.get('cudnn')}), f32 without "
                 f"TF32, {rec['date'][:10]}")
    else:
        title = (f"{rec['machine']} ({rec['cpu']}, {rec['cores']} cores), recur {rec['commit']}, "
                 f"PyTorch {rec['torch']}, {rec['date'][:10]}")

    def lines(ax, sel, y):
        for label in labels:
            for k, H in enumerate(Hs):
                pts = sorted((r["B"], y(r)) for r in sel if r["label"] == label and r["H"] == H)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], styles[k % 4],
                            marker=markers[k % 4], color=colours[label], label=f"{label}, H={H}")

    Bs = sorted({r["B"] for r in rows})

    def B_axis(ax):
        ax.set_xscale("log", base=2)
        ax.set_xticks(Bs)
        ax.set_xticklabels([str(b) for b in Bs])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())

    def finish(fig, axes, path, suptitle):
        handles, names = [], []
        for ax in axes.flat:
            for h, n in zip(*ax.get_legend_handles_labels()):
                if n not in names:
                    handles.append(h)
                    names.append(n)
        if not names:
            plt.close(fig)
            return
        fig.legend(handles, names, loc="lower center", ncol=min(4, len(names)), fontsize=8)
        fig.suptitle(suptitle + "\n" + title, fontsize=9)
        fig.tight_layout(rect=(0, 0.06 + 0.03 * math.ceil(len(names) / 4), 1, 1))
        fig.savefig(path, dpi=110)
        plt.close(fig)

    for m in modes:
        for T in Ts:
            fig, axes = plt.subplots(1, len(cells), figsize=(4 * len(cells), 4.2), squeeze=False)
            for ax, cell in zip(axes.flat, cells):
                sel = [r for r in rows if r["cell"] == cell and r["mode"] == m and r["T"] == T]
                lines(ax, sel, lambda r: r["us_per_step"] if "us_per_step" in r
                      else r["ms"] * 1e3 / r["T"])
                B_axis(ax)
                ax.set_yscale("log")
                ax.set_title(cell + (" (PyTorch: Python loop)" if cell == "leaky" else ""),
                             fontsize=9)
                ax.set_xlabel("batch size B")
                ax.set_ylabel("µs per time step")
                ax.grid(True, which="both", alpha=0.3)
            finish(fig, axes, f"{prefix}-time-{m}-T{T}.png",
                   f"{m}: time per step, T={T}, 1 layer, unidirectional, I=H (lower is better)")

    T0 = Ts[0]
    fig, axes = plt.subplots(len(modes), len(cells), figsize=(4 * len(cells), 3.8 * len(modes)),
                             squeeze=False)
    for i, m in enumerate(modes):
        for ax, cell in zip(axes[i], cells):
            sel = [r for r in rows if r["cell"] == cell and r["mode"] == m and r["T"] == T0
                   and "pct_peak" in r]
            lines(ax, sel, lambda r: r["pct_peak"])
            B_axis(ax)
            ax.set_ylim(0, 100)
            ax.set_title(f"{cell}, {m}", fontsize=9)
            ax.set_xlabel("batch size B")
            ax.set_ylabel("% of measured GEMM peak")
            ax.grid(True, alpha=0.3)
    if on_gpu(rec):
        what = (f"GEMM GFLOP/s as % of the measured f32 GEMM peak, T={T0}, 1 layer, "
                f"unidirectional\n(peak {_fmt(rec['gemm_peak_gflops'])} GFLOP/s: "
                f"{rec['gemm_peak_source']})")
    else:
        what = (f"GEMM GFLOP/s as % of the measured peak ({_fmt(rec['gemm_peak_gflops'])} "
                f"GFLOP/s, {rec['gemm_peak_source']}), T={T0}, 1 layer, unidirectional")
    finish(fig, axes, f"{prefix}-peak.png", what)
    return paths


def plot(args):
    rec = json.load(open(args.record))
    prefix = args.record[:-5] if args.record.endswith(".json") else args.record
    for p in pictures(rec, prefix):
        print(f"written: {p}", file=sys.stderr)


# ---------------------------------------------------------------------------- docs

def doc_key(rec, part=""):
    """The docs section's marker key: DEVICE-MODE on the CPU, cuda-MODE-GPU on a GPU; -PART for
    a record that is one part of a GPU's results (several sections side by side)."""
    key = f"{rec['device']}-{rec['mode']}"
    if on_gpu(rec):
        key += "-" + (slug(rec.get("gpu_name") or gpu_name(rec.get("gpu"))) or "gpu")
    if part:
        key += "-" + slug(part)
    return key


# Removed from the doc once a GPU record writes its section: the text that stands in for them.
GPU_PLACEHOLDER = "cuda-none"


def docs(args):
    rec = json.load(open(args.record))
    key = doc_key(rec, args.part)
    begin, end = f"<!-- bench:{key} begin -->", f"<!-- bench:{key} end -->"
    doc_dir = os.path.dirname(os.path.abspath(args.doc))
    prefix = os.path.relpath(os.path.abspath(args.record[:-5]), doc_dir)
    heading = ""
    if on_gpu(rec):  # one section per GPU model, added at the end: it carries its heading
        heading = (f"### GPU: {rec.get('gpu_name') or gpu_name(rec.get('gpu'))}, "
                   f"`--{rec['mode']}`" + (f", {args.part}" if args.part else "") + "\n\n")
    body = (f"{begin}\n{heading}<!-- generated by python_tools/plot_bench.py docs "
            f"{os.path.relpath(os.path.abspath(args.record), os.getcwd())}; do not edit -->\n\n"
            f"Record: [`{os.path.basename(args.record)}`]({prefix}.json)\n\n"
            + (f"{rec['note']}\n\n" if rec.get("note") else "")
            + markdown(rec, image_dir=prefix,
                       image_exists=lambda p: os.path.exists(os.path.join(doc_dir, p)))
            + end)
    text = open(args.doc).read() if os.path.exists(args.doc) else ""
    if begin in text and end in text:
        text = text[:text.index(begin)] + body + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    if on_gpu(rec):
        b, e = f"<!-- bench:{GPU_PLACEHOLDER} begin -->", f"<!-- bench:{GPU_PLACEHOLDER} end -->"
        if b in text and e in text:
            text = (text[:text.index(b)].rstrip("\n") + "\n\n"
                    + text[text.index(e) + len(e):].lstrip("\n"))
    with open(args.doc, "w") as f:
        f.write(text)
    print(f"updated: {args.doc} ({key})", file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merge", help="one record from the parts of a run")
    m.add_argument("--recur", action="append", required=True,
                   help="bench_suite's JSON (repeat for a run measured in parts)")
    m.add_argument("--peer", action="append", default=[],
                   help="bench_peers.py's JSON (repeat: per thread setting and part)")
    m.add_argument("--filter", help="the run's --filter, as the user gave it")
    m.add_argument("--charlm", nargs=3, action="append", metavar=("IMPL", "THREADS", "METRICS"),
                   help="IMPL recur|pytorch, THREADS (0: PyTorch's default), metrics.jsonl")
    m.add_argument("--charlm-name", default="charlm_train/lstm/E128/H512/L2/V256/B64/T128")
    m.add_argument("--charlm-settings", default="")
    m.add_argument("--started", type=float, help="the run's start, seconds since the epoch")
    m.add_argument("--load-start", help="/proc/loadavg's first three fields at the start")
    m.add_argument("--out", required=True)
    m.set_defaults(fn=merge)
    for name, fn in (("table", table), ("plot", plot)):
        p = sub.add_parser(name)
        p.add_argument("record")
        p.set_defaults(fn=fn)
    d = sub.add_parser("docs")
    d.add_argument("record")
    d.add_argument("--doc", default="docs/PERFORMANCE.md")
    d.add_argument("--part", default="",
                   help="a name for this record's own section (a GPU's results in several parts)")
    d.set_defaults(fn=docs)
    args = ap.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
