#!/usr/bin/python3
"""The GPU issues' targets against GPU benchmark records (benchmarks/results/*.json written by
benchmarks/run.sh --device cuda or python_tools/plot_bench.py merge of gpu_check.sh's JSON):

    python3 python_tools/gpu_targets.py RECORD.json [RECORD.json ...]

Prints two Markdown tables, every number read from the records (a shape measured in several
records is taken from the last one given; engines are compared within one record):

  fused vs cuDNN's standard algorithm (the GPU engine issue: at most 1.0x), LSTM and GRU,
      I = H = 1024, T = 256, B in {8, 64, 256}, inference and training, f32 and bf16;
  persistent vs cuDNN's best algorithm (the persistent engine issue), at the issue's shapes, in
      microseconds per step (inference) or milliseconds per call (training), with its target.
"""

import argparse
import json
import sys

# (cell, mode, dtype, B) -> the persistent engine issue's target: us per step (inference) or ms
# per call (training).
PERSISTENT_TARGETS = {
    ("lstm", "inference", "f32", 1): 1.2, ("lstm", "inference", "f32", 8): 3.0,
    ("lstm", "inference", "f32", 64): 15.0,
    ("lstm", "inference", "bf16", 8): 2.0, ("lstm", "inference", "bf16", 64): 4.0,
    ("lstm", "inference", "f16", 8): 2.0, ("lstm", "inference", "f16", 64): 4.0,
    ("lstm", "training", "f32", 8): 2.5, ("lstm", "training", "f32", 64): 15.0,
    ("lstm", "training", "bf16", 64): 2.5,
    ("gru", "inference", "f32", 8): 3.0, ("gru", "training", "f32", 8): 2.5,
}


def layer_rows(records):
    """{(cell, mode, dtype, B, H, T): {engine label: row}} for single-layer unidirectional recur
    rows, each shape from the last record that measured it."""
    shapes = {}
    for rec in records:
        seen = {}
        for r in rec["results"]:
            if r.get("side", "recur") != "recur" or r.get("section") != "layer":
                continue
            if r.get("L", 1) != 1 or r.get("D", 1) != 1:
                continue
            key = (r["cell"], r["mode"], r.get("dtype", "f32"), r["B"], r["H"], r["T"])
            label = r["engine"] + (f"-{r['algo']}" if r.get("algo") else "")
            seen.setdefault(key, {})[label] = r
        shapes.update(seen)
    return shapes


def _ms(row):
    return row["seconds"]["median"] * 1e3


def fused_vs_cudnn_standard(shapes):
    lines = ["| cell | mode | dtype | B | fused ms | cuDNN standard ms | fused / cuDNN | target met |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for dtype in ("f32", "bf16"):
        for cell in ("lstm", "gru"):
            for mode in ("inference", "training"):
                for B in (8, 64, 256):
                    engines = shapes.get((cell, mode, dtype, B, 1024, 256), {})
                    fused, std = engines.get("fused"), engines.get("cudnn-standard")
                    if not fused or not std:
                        lines.append(f"| {cell} | {mode} | {dtype} | {B} | "
                                     f"{_fmt(fused and _ms(fused))} | {_fmt(std and _ms(std))} "
                                     "| - | not measured |")
                        continue
                    ratio = _ms(fused) / _ms(std)
                    lines.append(f"| {cell} | {mode} | {dtype} | {B} | {_fmt(_ms(fused))} | "
                                 f"{_fmt(_ms(std))} | {ratio:.2f}x | "
                                 f"{'yes' if ratio <= 1.0 else '**no**'} |")
    return "\n".join(lines)


def persistent_vs_cudnn_best(shapes):
    lines = ["| cell | mode | dtype | B | unit | persistent (best barrier) | cuDNN best (algorithm) "
             "| fastest recur engine | target | target met |",
             "|---|---|---|---:|---|---:|---:|---:|---:|---|"]
    for (cell, mode, dtype, B), target in PERSISTENT_TARGETS.items():
        engines = shapes.get((cell, mode, dtype, B, 1024, 256), {})
        unit = "µs/step" if mode == "inference" else "ms/call"

        def value(row):
            return row["us_per_step"] if mode == "inference" else _ms(row)

        def best(prefix):
            rows = [(value(r), label) for label, r in engines.items() if label.startswith(prefix)]
            return min(rows) if rows else None

        pers, cudnn = best("persistent"), best("cudnn")
        fastest = best("")
        met = "not measured" if not pers else ("yes" if pers[0] <= target else "**no**")
        lines.append(
            f"| {cell} | {mode} | {dtype} | {B} | {unit} | "
            + (f"{_fmt(pers[0])} ({_variant(pers[1], 'grid_sync')})" if pers else "-") + " | "
            + (f"{_fmt(cudnn[0])} ({_variant(cudnn[1], 'standard')})" if cudnn else "-") + " | "
            + (f"{_fmt(fastest[0])} ({fastest[1]})" if fastest else "-")
            + f" | {_fmt(target)} | {met} |")
    return "\n".join(lines)


def _variant(label, default):
    """The barrier or algorithm of an engine label ("persistent-counter" -> "counter")."""
    return label.split("-", 1)[1] if "-" in label else default


def _fmt(x):
    if x is None:
        return "-"
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("record", nargs="+")
    args = ap.parse_args(argv)
    records = []
    for path in args.record:
        with open(path) as f:
            records.append(json.load(f))
    shapes = layer_rows(records)
    sys.stdout.write("**Fused against cuDNN's standard algorithm** (I = H = 1024, T = 256; "
                     "the GPU engine issue: at most 1.0x)\n\n" + fused_vs_cudnn_standard(shapes)
                     + "\n\n**The persistent engine against its targets** (I = H = 1024, "
                     "T = 256; cuDNN at its fastest algorithm)\n\n"
                     + persistent_vs_cudnn_best(shapes) + "\n")


if __name__ == "__main__":
    main()
