#!/usr/bin/python3
"""The measured engine table that Engine::auto_ reads (kernels/engine_table.h), from a GPU
benchmark record:

    engine_table.py RECORD.json [RECORD.json ...] [--out benchmarks/engine_table.json]

Each RECORD.json is a record of `benchmarks/run.sh --device cuda` (python_tools/plot_bench.py merge
wrote it) or the bench_lstm.json that benchmarks/gpu_check.sh keeps (bench_suite's own JSON).
With several records, each shape is ranked from ONE of them, the last given that measured
it (engines are only compared within one run: on two H200 machines the same binary's fused
16-bit rows differed by up to 1.5x, docs/PERFORMANCE.md). Without --out the table goes to stdout. The committed table is compiled into the library: rebuild
after writing it.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_bench import gpu_name, on_gpu, shape_name  # noqa: E402  (one reading of a record)

# cuDNN's algorithms that refuse sequences of different lengths (kernels/cudnn/cudnn_rnn_plan.h,
# cudnn_algorithm_limit): a call with lengths runs cuDNN at its best algorithm among the others.
CUDNN_FULL_LENGTH_ONLY = ("persist_static", "persist_dynamic")


def engine_table_of(rec, source):
    """The table Engine::auto_ reads (kernels/engine_table.h) from a GPU record: for every
    single-layer, unidirectional layer shape recur measured, its engines fastest first (cuDNN
    counted at its fastest algorithm and the persistent engine at its fastest barrier, both
    named: the engines' auto settings run them). Where cuDNN's fastest algorithm takes no
    sequences of different lengths, the entry also ranks the engines for such calls
    (ranking_varying_lengths, cuDNN at its fastest algorithm that takes them, named in
    cudnn_algo_varying_lengths; cuDNN left out when none of those was measured)."""
    if not on_gpu(rec):
        raise SystemExit("engine_table.py: the record was not measured on a GPU (device "
                         f"{rec.get('device')!r}): the engine table ranks GPU engines")
    shapes = {}
    for r in rec["results"]:
        if r.get("side") != "recur" or r.get("section") != "layer":
            continue
        if r.get("L", 1) != 1 or r.get("D", 1) != 1 or not r.get("engine"):
            continue
        shape = shapes.setdefault(r["shape"], {"row": r, "engines": {}, "varying": {}})
        ms, engine, algo = r["seconds"]["median"], r["engine"], r.get("algo", "")
        kept = [shape["engines"]]
        if not (engine == "cudnn" and algo in CUDNN_FULL_LENGTH_ONLY):
            kept.append(shape["varying"])
        for best in kept:
            if engine not in best or ms < best[engine][0]:
                best[engine] = (ms, algo)
    entries = []
    for key in sorted(shapes):
        row, engines, varying = (shapes[key][k] for k in ("row", "engines", "varying"))
        ranking = sorted(engines, key=lambda e: engines[e][0])
        entry = {"gpu": rec.get("gpu_name") or gpu_name(rec.get("gpu")), "cell": row["cell"],
                 "mode": row["mode"], "dtype": row.get("dtype", "f32"), "B": row["B"],
                 "H": row["H"], "T": row["T"], "ranking": ranking,
                 "ms": {e: engines[e][0] * 1e3 for e in ranking}}
        if "cudnn" in engines and engines["cudnn"][1]:
            entry["cudnn_algo"] = engines["cudnn"][1]
            if engines["cudnn"][1] in CUDNN_FULL_LENGTH_ONLY:
                entry["ranking_varying_lengths"] = sorted(varying, key=lambda e: varying[e][0])
                if "cudnn" in varying:
                    entry["cudnn_algo_varying_lengths"] = varying["cudnn"][1]
                    entry["cudnn_ms_varying_lengths"] = varying["cudnn"][0] * 1e3
        if "persistent" in engines and engines["persistent"][1]:
            entry["persistent_barrier"] = engines["persistent"][1]
        entries.append(entry)
    return {"source": source, "entries": entries}


def bench_suite_as_record(doc):
    """bench_suite's own JSON (as benchmarks/gpu_check.sh writes it) in the shape of a merged
    record: recur's rows with their shapes, the GPU's name."""
    if doc.get("program") != "bench_suite":
        return doc
    rows = [dict(r, side="recur", shape=shape_name(r["name"])) for r in doc["results"]]
    return dict(doc, results=rows, gpu_name=gpu_name(doc.get("env", {}).get("gpu")))


def latest_per_shape(records):
    """One record holding, for every layer shape, the rows of the last of `records` that
    measured it (the first record's other fields)."""
    last = {}
    for i, rec in enumerate(records):
        for r in rec["results"]:
            if r.get("side") == "recur" and r.get("section") == "layer":
                last[r["shape"]] = i
    rows = [r for i, rec in enumerate(records) for r in rec["results"]
            if r.get("side") == "recur" and r.get("section") == "layer" and last[r["shape"]] == i]
    return dict(records[0], results=rows)


def engine_table(args):
    records = []
    for path in args.record:
        with open(path) as f:
            records.append(bench_suite_as_record(json.load(f)))
    names = {rec.get("gpu_name") or gpu_name(rec.get("gpu")) for rec in records}
    if len(names) > 1:
        raise SystemExit(f"engine_table.py: the records were measured on different GPUs: {names}")
    table = engine_table_of(latest_per_shape(records),
                            ", ".join(os.path.relpath(p) for p in args.record))
    text = json.dumps(table, indent=1) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"written: {args.out} ({len(table['entries'])} shapes)", file=sys.stderr)
    else:
        sys.stdout.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("record", nargs="+")
    ap.add_argument("--out", help="default: stdout (the committed one: benchmarks/engine_table.json)")
    engine_table(ap.parse_args(argv))


if __name__ == "__main__":
    main()
