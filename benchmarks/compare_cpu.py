#!/usr/bin/env python3
"""Merges a bench_recurrent_cpu JSON (Google Benchmark) with peer_cpu.py results into one record
and prints a Markdown table: recur vs PyTorch per shape, with the ratio against the faster of
PyTorch's configurations (its own default thread count, and one thread per core).

Usage: compare_cpu.py RECUR_JSON PEER_DEFAULT_JSON PEER_ALLCORES_JSON OUT_JSON
"""
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone


def recur_results(path):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = b["name"].split("/min_time")[0]
        out[name] = {"ms": b["real_time"], "gflops": b["GFLOP/s"]}
    return out


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    recur_json, peer_default_json, peer_all_json, out_json = sys.argv[1:5]
    recur = recur_results(recur_json)
    peers = [json.load(open(peer_default_json)), json.load(open(peer_all_json))]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    rows = []
    for r in peers[0]["results"]:
        name = r["name"]
        if name not in recur:
            continue
        p_all = next(x for x in peers[1]["results"] if x["name"] == name)
        best_peer = min(r["ms"], p_all["ms"])
        rows.append({"name": name, "recur_ms": recur[name]["ms"], "recur_gflops": recur[name]["gflops"],
                     "torch_default_ms": r["ms"], "torch_all_cores_ms": p_all["ms"],
                     "speedup_vs_best_torch": best_peer / recur[name]["ms"],
                     "speedup_vs_torch_all_cores": p_all["ms"] / recur[name]["ms"]})
    record = {"machine": platform.node(), "cpu": cpu_name(), "cores": len(__import__("os").sched_getaffinity(0)),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
              "torch": peers[0]["torch"], "torch_default_threads": peers[0]["threads"],
              "torch_all_cores_threads": peers[1]["threads"], "rows": rows}
    json.dump(record, open(out_json, "w"), indent=1)
    print(f"recur {commit} vs PyTorch {record['torch']} on {record['cpu']} ({record['cores']} cores), "
          f"{record['date']}")
    print(f"GFLOP/s counts GEMM work (forward 2*B*T*(I+H)*G; training 3x). PyTorch default = its own "
          f"thread count ({record['torch_default_threads']}); all cores = {record['torch_all_cores_threads']} threads.\n")
    print("| shape | recur ms | recur GFLOP/s | PyTorch default ms | PyTorch all-cores ms | recur vs best PyTorch |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {r['recur_ms']:.1f} | {r['recur_gflops']:.1f} | {r['torch_default_ms']:.1f} | "
              f"{r['torch_all_cores_ms']:.1f} | {r['speedup_vs_best_torch']:.2f}x |")
    print(f"\nwritten: {out_json}")


if __name__ == "__main__":
    main()
